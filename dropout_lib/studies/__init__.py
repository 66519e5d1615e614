"""Code that serves one chapter, one module per chapter, named by the chapter's slug.

Concept modules (`dropout_lib.masks`, `dropout_lib.training`, ...) hold what
several chapters use; a study module holds one chapter's experiment: its
configurations, its runs and the tables and figures it draws. A study imports
concept modules, never another chapter's study.

One chapter's study may be split into parts named `slug` and `slug_<part>`:
chapter 5's `d2l` (d2l's code as the book prints it) and `d2l_pitfalls` (its
deliberately flawed variants, built on `d2l`'s network). The parts serve the
same chapter, so they may import each other; moving `D2LNet` into a concept
module would present a reproduction of one book's code as course-wide
machinery. `tests/test_studies_layering.py` enforces the rule.
"""
