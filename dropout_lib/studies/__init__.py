"""Code that serves one chapter, one module per chapter, named by the chapter's slug.

Concept modules (`dropout_lib.masks`, `dropout_lib.training`, ...) hold what
several chapters use; a study module holds one chapter's experiment: its
configurations, its runs and the tables and figures it draws. A study imports
concept modules, never another study.
"""
