"""Tests for the local Sphinx extensions in _ext/: course_meta and site_assets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import course_meta  # noqa: E402
import site_assets  # noqa: E402
from course_meta import KEY_PACKAGES, normalize_name, parse_pins, pinned_versions  # noqa: E402

# --- parsing requirements -------------------------------------------------------------


def test_parse_pins_reads_exact_pins_and_ignores_the_rest():
    text = "\n".join(
        [
            "# a comment",
            "",
            "torch==2.13.0",
            "NumPy == 2.4.6  # trailing comment",
            "scikit_learn==1.9.1",
            "keras[extra]==3.15.1 ; python_version >= '3.9'",
            "matplotlib>=3",  # a range is not a pin
            "-r other.txt",
            "--index-url https://example.invalid/simple",
            "jupyter.book==1.0.4.post1",
        ]
    )
    pins = parse_pins(text)
    assert pins == {
        "torch": "2.13.0",
        "numpy": "2.4.6",
        "scikit-learn": "1.9.1",
        "keras": "3.15.1",
        "jupyter-book": "1.0.4.post1",
    }


def test_parse_pins_rejects_non_text():
    with pytest.raises(TypeError, match="text"):
        parse_pins(b"torch==1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("scikit_learn", "scikit-learn"),
        ("Jupyter.Book", "jupyter-book"),
        ("a-_.b", "a-b"),
    ],
)
def test_normalize_name(raw, canonical):
    assert normalize_name(raw) == canonical


def test_normalize_name_rejects_non_str():
    with pytest.raises(TypeError, match="name"):
        normalize_name(3)  # type: ignore[arg-type]


names = st.from_regex(r"[a-z][a-z0-9]{0,8}([-_.][a-z0-9]{1,5}){0,2}", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\.post[0-9])?", fullmatch=True)


@given(st.dictionaries(names, versions, min_size=1, max_size=8))
def test_parse_pins_round_trips(pins):
    """Writing name==version lines and parsing them gives back every normalised pin."""
    text = "\n".join(f"{name}=={version}" for name, version in pins.items())
    parsed = parse_pins(text)
    expected: dict[str, str] = {}
    for name, version in pins.items():  # later duplicates (after normalising) win
        expected[normalize_name(name)] = version
    assert parsed == expected


def test_pinned_versions_of_the_real_requirements():
    versions = pinned_versions(ROOT / "requirements.txt")
    assert list(versions) == list(KEY_PACKAGES)
    assert all(v and v[0].isdigit() for v in versions.values())


def test_pinned_versions_names_the_missing_packages(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("torch==2.13.0\nnumpy>=2\n")
    with pytest.raises(ValueError, match="numpy"):
        pinned_versions(req, ["torch", "numpy"])
    with pytest.raises(ValueError, match="names"):
        pinned_versions(req, [])
    with pytest.raises(FileNotFoundError):
        pinned_versions(tmp_path / "absent.txt")


def test_pinned_versions_does_not_modify_the_file(tmp_path):
    req = tmp_path / "requirements.txt"
    content = "Torch==2.13.0\n"
    req.write_text(content)
    assert pinned_versions(req, ["torch"]) == {"torch": "2.13.0"}
    assert req.read_text() == content


# --- site_assets ----------------------------------------------------------------------


def test_clean_scripts_removes_duplicates_and_thebe():
    from sphinx.builders.html._assets import _JavaScript

    thebe_cfg = _JavaScript(None, body='const THEBE_JS_URL = "https://unpkg.com/thebe"')
    scripts = [
        _JavaScript("doctools.js"),
        thebe_cfg,
        _JavaScript("sphinx-thebe.js", priority=500, **{"async": "async"}),
        _JavaScript(None, body="let a = 1;"),
        _JavaScript(
            None, body="let a = 1;", priority=800
        ),  # same script, other priority
        thebe_cfg,
        _JavaScript("doctools.js"),
    ]
    original = list(scripts)
    kept = site_assets.clean_scripts(scripts, drop_thebe=True)
    assert [site_assets._filename(s) for s in kept] == ["doctools.js", ""]
    assert kept[1].attributes["body"] == "let a = 1;"
    assert scripts == original  # the input list is not modified
    kept = site_assets.clean_scripts(scripts, drop_thebe=False)
    assert len(kept) == 4  # duplicates gone, thebe's two scripts kept once each


# --- the directive in a real (tiny) Sphinx build ------------------------------------


def _build(tmp_path: Path, body: str, requirements: str) -> tuple[int, str, str]:
    from io import StringIO

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / '_ext')!r})\n"
        "extensions = ['course_meta']\n"
    )
    (src / "index.rst").write_text("Title\n=====\n\n" + body)
    (src / "requirements.txt").write_text(requirements)
    warnings = StringIO()
    app = Sphinx(
        str(src),
        str(src),
        str(tmp_path / "out"),
        str(tmp_path / "doctrees"),
        "html",
        status=None,
        warning=warnings,
        freshenv=True,
    )
    app.build()
    html = (tmp_path / "out" / "index.html").read_text()
    return app.statuscode, html, warnings.getvalue()


REQS = "".join(f"{name}==1.{i}.0\n" for i, name in enumerate(KEY_PACKAGES))


def test_directive_renders_times_and_versions(tmp_path):
    body = ".. course-meta::\n   :read: 25 min\n   :run: about 1 min on a 2-core CPU\n"
    status, html, warnings = _build(tmp_path, body, REQS)
    assert status == 0 and "WARNING" not in warnings and "ERROR" not in warnings, (
        warnings
    )
    assert 'class="course-meta' in html
    assert "Reading time: </strong>25 min" in html
    assert "Running time: </strong>about 1 min on a 2-core CPU" in html
    for i, name in enumerate(KEY_PACKAGES):
        assert f"{name} 1.{i}.0" in html


def test_directive_reports_an_unpinned_package(tmp_path):
    body = ".. course-meta::\n   :read: 5 min\n"
    reqs = REQS.replace("numpy==1.1.0", "numpy>=1")
    _, html, warnings = _build(tmp_path, body, reqs)
    assert "does not pin ['numpy']" in warnings
    assert "Verified with" not in html


def test_directive_needs_an_option(tmp_path):
    _, html, warnings = _build(tmp_path, ".. course-meta::\n", REQS)
    assert "needs at least one of the options" in warnings
    assert "Verified with" not in html


def test_setup_declares_parallel_safety():
    class App:
        def __init__(self):
            self.directives, self.connected = {}, []

        def add_directive(self, name, cls):
            self.directives[name] = cls

        def connect(self, event, fn, priority=500):
            self.connected.append((event, priority))

    app = App()
    meta = course_meta.setup(app)
    assert app.directives == {"course-meta": course_meta.CourseMeta}
    assert meta["parallel_read_safe"] and meta["parallel_write_safe"]
    meta = site_assets.setup(app)
    assert ("html-page-context", 900) in app.connected
    assert meta["parallel_read_safe"]


# --- the glossary page ----------------------------------------------------------------

GLOSSARY = (ROOT / "glossary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("term", "chinese"),
    [
        ("Dropout", ["丢弃法", "暂退法", "随机失活"]),
        ("Inverted dropout", ["反向 dropout", "倒置丢弃"]),
        ("Batch normalisation", ["批量归一化"]),
        ("Overfitting", ["过拟合"]),
        ("Weight decay", ["权重衰减"]),
        ("Mask", ["掩码"]),
        ("Keep probability", ["保留概率"]),
        ("Drop probability", ["丢弃概率"]),
    ],
)
def test_glossary_gives_chinese_names(term, chinese):
    """Each key term is a glossary entry whose definition lists its Chinese names."""
    block = GLOSSARY.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    entries: list[tuple[list[str], str]] = []  # (terms, definition)
    for line in block.splitlines():
        if not line.strip() or line.startswith(":"):
            continue
        if not line[0].isspace():  # a term line; consecutive ones share a definition
            if not entries or entries[-1][1]:
                entries.append(([], ""))
            entries[-1][0].append(line.strip())
        else:
            entries[-1] = (entries[-1][0], entries[-1][1] + line.strip() + " ")
    entry = next((d for terms, d in entries if term in terms), None)
    assert entry is not None, f"no glossary entry {term!r}"
    assert entry, f"{term}: empty definition"
    for name in chinese:
        assert name in entry, f"{term}: {name} missing"


# --- author-year bibliography style, MathJax components, the PDF's link rewriting ----

import bib_style  # noqa: E402
import make_pdf  # noqa: E402
from pybtex.database import Entry, Person  # noqa: E402


def _entry(authors: list[str], year: str = "2012", title: str = "T") -> Entry:
    return Entry(
        "article",
        fields={"year": year, "title": title},
        persons={"author": [Person(a) for a in authors]},
    )


@pytest.mark.parametrize(
    "authors, label",
    [
        (["Hinton, Geoffrey"], "Hinton 2012"),
        (["Xiao, Han", "Vollgraf, Roland"], "Xiao & Vollgraf 2012"),
        (["Hinton, G.", "Srivastava, N.", "Krizhevsky, A."], "Hinton et al. 2012"),
        (["Chollet, Fran{\\c{c}}ois", "others"], "Chollet et al. 2012"),
        (["{Keras contributors}"], "Keras contributors 2012"),
        (["Husz{\\'a}r, Ferenc"], "Huszár 2012"),
    ],
)
def test_author_year_label(authors, label):
    assert bib_style.author_year_label(_entry(authors)) == label


def test_author_year_labels_get_letters_only_when_they_repeat():
    entries = [
        _entry(["{PyTorch contributors}"], "2018", "a"),
        _entry(["{PyTorch contributors}"], "2018", "b"),
        _entry(["{PyTorch contributors}"], "2019", "c"),
    ]
    labels = list(bib_style.AuthorYearLabelStyle().format_labels(entries))
    assert labels == [
        "PyTorch contributors 2018a",
        "PyTorch contributors 2018b",
        "PyTorch contributors 2019",
    ]


def test_mathjax_loads_components_instead_of_the_combined_file():
    class Config:
        mathjax_path = "mathjax/tex-chtml.js"
        mathjax3_config = {"options": {"processHtmlClass": "math"}}

    config = Config()
    site_assets._use_mathjax_components(None, config)
    assert config.mathjax_path == "mathjax/startup.js"
    assert config.mathjax3_config["loader"]["load"] == site_assets.MATHJAX_COMPONENTS
    assert config.mathjax3_config["options"] == {"processHtmlClass": "math"}


def test_pdf_rebases_links_of_a_chapter_page_to_the_site_root():
    html = (
        '<img src="../_images/a.png"><a href="02_x.html#s">x</a>'
        '<a href="../glossary.html#term-Mask">m</a><a href="#here">h</a>'
        '<a href="https://example.org/">e</a>'
    )
    out = make_pdf.rebase(html, "chapters/01_x")
    assert 'src="_images/a.png"' in out
    assert 'href="chapters/02_x.html#s"' in out
    assert 'href="glossary.html#term-Mask"' in out
    assert 'href="#here"' in out and 'href="https://example.org/"' in out
    assert make_pdf.rebase(html, "intro") == html


def test_pdf_follows_the_toc():
    pages = make_pdf.toc_pages(ROOT / "_toc.yml")
    assert pages[0] == "intro" and "bibliography" in pages
    assert all(not p.endswith((".md", ".ipynb")) for p in pages)


def test_author_year_letters_are_the_same_on_every_page(monkeypatch):
    """A page citing only the second of two same-label entries still calls it 'b'."""
    first = _entry(["{PyTorch contributors}"], "2026", "a first title")
    second = _entry(["{PyTorch contributors}"], "2026", "b second title")
    first.key, second.key = "first", "second"
    monkeypatch.setattr(
        bib_style, "GLOBAL_SUFFIX", bib_style.assign_suffixes([second, first])
    )
    style = bib_style.AuthorYearLabelStyle()
    assert list(style.format_labels([second])) == ["PyTorch contributors 2026b"]
    assert list(style.format_labels([first, second])) == [
        "PyTorch contributors 2026a",
        "PyTorch contributors 2026b",
    ]
