"""Sphinx extension: an author-year bibliography style for sphinxcontrib-bibtex.

pybtex's default style ("alpha") labels entries like ``[Kerascontributors18a]`` and
the "plain"/"unsrt" styles number them. This registers the pybtex style
``authoryear``: entries sorted by author, year and title, labelled
``Hinton et al. 2012``, ``Xiao & Vollgraf 2017`` or ``Keras contributors 2018a`` (a
letter only where two labels would coincide), with LaTeX accents decoded
(``Husz{\\'a}r`` -> ``Huszár``) and group braces removed.
Titles keep their ``{Braced}`` capitalisation, as in BibTeX.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import latexcodec  # noqa: F401 - registers the "ulatex" codec
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle


def plain(text: str) -> str:
    """LaTeX-free text of a BibTeX field: accents decoded, braces dropped."""
    try:
        text = codecs.decode(text, "ulatex")
    except ValueError:
        pass
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def _surname(person: Any) -> str:
    parts = list(person.prelast_names) + list(person.last_names)
    return plain(" ".join(parts))


def author_year_label(entry: Any) -> str:
    """``Surname Year``, ``A & B Year`` or ``A et al. Year`` (no letter suffix)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if len(names) > 1 and names[-1].lower() == "others":  # "Chollet and others"
        names = [names[0], "", ""]
    if not names:
        who = plain(entry.fields.get("title", entry.key))[:30]
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {plain(entry.fields.get('year', 'n.d.'))}"


#: The letter of every entry whose author-year label another entry of the whole
#: bibliography shares (``{key: "a"}``), set from the bib files at config time.
#: Each chapter prints its own bibliography of the keys it cites, but Sphinx's
#: citation labels are global: letters counted per page would give "X 2026a" to
#: different entries on different pages (a duplicate-label warning).
GLOBAL_SUFFIX: dict[str, str] = {}


class PlainSortingStyle(SortingStyle):
    """Author-year-title order on plain text: ``{Keras contributors}`` sorts under K."""

    def sorting_key(self, entry: Any) -> tuple[str, str, str]:
        author, year, title = super().sorting_key(entry)
        return plain(author).lower(), year, plain(title).lower()


def _letters(ordered: list[Any]) -> list[str]:
    """The suffix of each entry, in the given order: a letter where labels repeat."""
    labels = [author_year_label(e) for e in ordered]
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    letters = []
    for label in labels:
        if counts[label] > 1:
            seen[label] += 1
            letters.append("abcdefghijklmnopqrstuvwxyz"[seen[label] - 1])
        else:
            letters.append("")
    return letters


def assign_suffixes(entries: Iterable[Any]) -> dict[str, str]:
    """``{key: letter}`` for entries sharing a label, lettered in sorted order."""
    ordered = list(PlainSortingStyle().sort(list(entries)))
    return {e.key: x for e, x in zip(ordered, _letters(ordered), strict=True) if x}


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; ``2018a``, ``2018b`` where two entries of the whole
    bibliography share a label (the same letter on every page)."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        entries = list(sorted_entries)
        for entry, local in zip(entries, _letters(entries), strict=True):
            yield author_year_label(entry) + GLOBAL_SUFFIX.get(entry.key, local)


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt formatting, author-year-title order, author-year labels."""

    default_sorting_style = PlainSortingStyle
    default_label_style = AuthorYearLabelStyle


def _load_suffixes(app: Any, config: Any) -> None:
    from pathlib import Path

    from pybtex.database import parse_file

    entries: list[Any] = []
    for name in config.bibtex_bibfiles:
        entries += parse_file(str(Path(app.srcdir) / name)).entries.values()
    GLOBAL_SUFFIX.clear()
    GLOBAL_SUFFIX.update(assign_suffixes(entries))


def setup(app: Any) -> dict[str, Any]:
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.connect("config-inited", _load_suffixes)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
