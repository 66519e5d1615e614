"""Sphinx extension: Chinese search that knows the course's own terms.

With ``html_search_language: zh`` Sphinx 7.4 segments Chinese text with the jieba
package (``jieba.cut_for_search``) and still indexes Latin words with the English
stemmer, so "dropout" and "variance shift" are found as before. jieba's general
dictionary does not know the course's technical terms: it would cut 暂退法 into 暂退 and
法 and never index the whole word. This extension writes every Chinese term of the
glossary (``glossary.md``, the one place they are defined) into a jieba user dictionary
and hands its path to the indexer through ``html_search_options["dict"]``, so a term
the glossary defines is one search word, and its parts are still found.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

# A run of CJK unified ideographs: the Chinese words of the glossary.
HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# jieba's user-dictionary frequency: high enough that the whole term wins over the
# split its general dictionary would choose.
TERM_FREQUENCY = 100_000


def glossary_terms(glossary: Path) -> list[str]:
    """The distinct runs of two or more Chinese characters in the glossary, sorted."""
    return sorted(set(HAN_RUN.findall(glossary.read_text(encoding="utf-8"))))


def _write_user_dict(app: Sphinx, config: Config) -> None:
    if config.html_search_language != "zh":
        return
    terms = glossary_terms(Path(app.srcdir) / "glossary.md")
    path = Path(app.doctreedir) / "zh_search_terms.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(f"{term} {TERM_FREQUENCY} n\n" for term in terms), encoding="utf-8"
    )
    options = dict(config.html_search_options or {})
    options["dict"] = str(path)
    config.html_search_options = options


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _write_user_dict)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
