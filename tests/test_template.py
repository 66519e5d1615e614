"""`chapters/_template.ipynb` is a working miniature chapter, not only a frame.

It is not in `_toc.yml` (not on the website), so the chapter-wide tests, which
read `chapters/NN_*.ipynb`, do not see it: this file applies their static
checks to it, executes it with nbval-lax (its assertions, including its
`stats.assert_claim` and its exercise checker), and checks that CONTRIBUTING
sends chapter authors to it.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_notebook_conventions as conventions

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "chapters" / "_template.ipynb"

STATIC_CHECKS = [
    conventions.test_first_code_cell_is_the_setup_cell,
    conventions.test_no_nbval_comment_markers,
    conventions.test_figures_have_name_caption_and_alt,
    conventions.test_solution_code_stays_inside_its_fold,
    conventions.test_links_glossary_terms_that_exist,
    conventions.test_title_cell_has_course_meta,
    conventions.test_learning_objectives_are_listed_once_each,
    conventions.test_code_cells_stay_thin,
    conventions.test_every_glued_name_in_the_text_is_stored,
]


@pytest.mark.parametrize("check", STATIC_CHECKS, ids=lambda f: f.__name__[5:])
def test_template_keeps_the_chapter_conventions(check):
    check(TEMPLATE)


def test_template_has_every_part_of_a_chapter():
    cells = json.loads(TEMPLATE.read_text(encoding="utf-8"))["cells"]
    text = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
    )
    for part in (
        "**Learning objectives.**",
        "本章要点",
        "from dropout_lib.studies import template as study",
        "stats.assert_claim(",
        "stats.claim(",
        "```{exercise}",
        "```{solution-start}",
        "check_inverted_scale(",
        "## Summary",
        "{bibliography}",
    ):
        assert part in text, f"the template lacks {part!r}"


def test_template_executes_quickly():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            str(TEMPLATE),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # a few seconds on a quiet machine (kernel start included); generous here
    assert wall < 120, f"the template took {wall:.0f} s"


def test_contributing_points_to_the_template_and_its_test():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for name in (
        "chapters/_template.ipynb",
        "tests/test_template.py",
        "dropout_lib/studies/template.py",
        "dropout_lib/exercises/template.py",
    ):
        assert name in text, f"CONTRIBUTING.md does not mention {name}"
