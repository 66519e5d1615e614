# The course's commands. `make book` builds the website; `make test` runs every test.
# Both create .venv and install the pinned environment on first use, and skip that
# when requirements.txt and pyproject.toml have not changed.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard chapters/[0-9]*.ipynb))
# Both worker processes of pytest-xdist; set JOBS=1 to run serially.
JOBS ?= 2
PORT ?= 8000

# The pinned numerical code path (README, "Reproducing the numbers"): torch's AVX2
# kernels on x86-64 CPUs that have AVX2 (never forced on one that lacks it). It
# narrows the differences between machines but does not remove them (NumPy's BLAS and
# SIMD loops choose by CPU model), so test-notebooks measures which machine it is on:
# `python -m dropout_lib.fingerprint partition` compares each notebook's recorded
# kernel fingerprint with this machine's, and the stored digits are compared only
# where they match. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the machine
# sets them.
ifneq ($(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo yes),)
export ATEN_CPU_CAPABILITY ?= avx2
export ONEDNN_MAX_CPU_ISA ?= AVX2
export MKL_CBWR ?= AVX2
endif
# The robustness pass re-executes every chapter with nothing pinned: ATen's
# unvectorised kernels, oneDNN and MKL on the machine's own best path.
ROBUST_ENV := env -u ONEDNN_MAX_CPU_ISA -u MKL_CBWR ATEN_CPU_CAPABILITY=default DROPOUT_NO_PIN=1

export KERAS_BACKEND := torch
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup data book serve test lint types test-unit test-optimized test-notebooks \
	test-robust test-book test-browser refresh lab pdf pins clean

help:
	@echo "make book     build the website into _build/html (from stored notebook outputs)"
	@echo "make serve    serve _build/html on http://127.0.0.1:$(PORT)"
	@echo "make test     lint, types, unit + property tests (also under python -O), nbval over"
	@echo "              every notebook, the robustness pass, -W book build, browser test"
	@echo "make test-robust  re-execute every notebook on another numerical code path"
	@echo "make refresh  re-execute every notebook in place (updates stored outputs)"
	@echo "make lab      JupyterLab with the course's environment"
	@echo "make pdf      the whole course as one PDF, linked from the site (_build/pdf)"
	@echo "make data     fetch and verify Fashion-MNIST"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

data: $(STAMP)
	@$(PY) -m dropout_lib.data

book: setup
	@rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@echo "Website built: open $(CURDIR)/_build/html/index.html (or run 'make serve')"

serve: book
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lint: setup
	$(VENV)/bin/ruff check dropout_lib tests _ext chapters
	$(VENV)/bin/ruff format --check dropout_lib tests _ext chapters

types: setup
	$(VENV)/bin/mypy

test-unit: setup
	$(PY) -m pytest -q -n $(JOBS) tests --ignore=tests/browser

# The exercise checkers must decide the same with assertions stripped (python -O).
test-optimized: setup
	$(PY) -O -m pytest -q -n $(JOBS) -p no:cacheprovider tests/test_exercises_*.py

# Strict comparison of the stored outputs where this machine's kernel fingerprint
# matches the recording machine's; elsewhere the chapters' assertions decide.
NBVAL_OPTS := -q -n $(JOBS) --dist loadscope --nbval-current-env
test-notebooks: setup data
	@parts=$$($(PY) -m dropout_lib.fingerprint partition $(NOTEBOOKS)) || exit 1; \
	strict=$$(echo "$$parts" | sed -n 1p); lax=$$(echo "$$parts" | sed -n 2p); \
	if [ -n "$$strict" ]; then \
	  echo "nbval, stored digits compared: $$strict"; \
	  $(PY) -m pytest $(NBVAL_OPTS) --nbval --nbval-sanitize-with tests/sanitize.cfg $$strict || exit 1; \
	fi; \
	if [ -n "$$lax" ]; then \
	  echo "nbval, claims only (kernels differ from the recording machine): $$lax"; \
	  $(PY) -m pytest $(NBVAL_OPTS) --nbval-lax $$lax || exit 1; \
	fi

# The robustness pass re-executes, with nothing pinned, the notebooks whose digits
# test-notebooks compared strictly; the others were already re-executed there on
# kernels other than the recording machine's, with only their claims deciding.
# ROBUST_ALL=1 re-executes every notebook.
test-robust: setup data
	@if [ -n "$(ROBUST_ALL)" ]; then todo="$(NOTEBOOKS)"; else \
	  todo=$$($(PY) -m dropout_lib.fingerprint partition $(NOTEBOOKS) 2>/dev/null | sed -n 1p); fi; \
	if [ -z "$$todo" ]; then \
	  echo "robustness pass: every notebook already ran on other kernels in test-notebooks"; \
	else \
	  $(ROBUST_ENV) $(PY) -m pytest $(NBVAL_OPTS) --nbval-lax $$todo; \
	fi

test-book: book

test-browser: book
	$(PY) -m pytest -q tests/browser

test: lint types test-unit test-optimized test-notebooks test-robust test-book test-browser
	@echo "make test: all suites passed"

# Re-execute notebooks in place (all, or NOTEBOOKS=chapters/05_d2l.ipynb) and store
# this machine's kernel fingerprint in each, so test-notebooks knows where their
# digits reproduce.
refresh: setup data
	@for nb in $(NOTEBOOKS); do \
	  echo "executing $$nb"; \
	  start=$$(date +%s.%N); \
	  $(PY) -m dropout_lib.fingerprint record "$$nb" || exit 1; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	  echo "  $$nb: $$(python3 -c "print(round($$(date +%s.%N) - $$start, 1))") s"; \
	done

# jupyterlab-myst (pinned in requirements.txt) renders the chapters' MyST markup:
# math, admonitions, exercises, solutions, {term} and {doc} links; README says what
# still shows raw.
lab: setup data
	$(VENV)/bin/jupyter lab chapters/

# The whole course as one PDF: every page of the built site joined in _toc.yml order,
# printed by Chromium (code wrapped, solutions unfolded), then the site is rebuilt so
# that it serves the PDF and intro.md links it. The first page is also saved as PNG.
pdf: book
	$(PY) _ext/make_pdf.py _build/html _build/pdf/dropout-course.pdf
	@mkdir -p _build/screenshots
	@if command -v pdftoppm >/dev/null; then \
	  pdftoppm -png -r 80 -f 1 -l 1 -singlefile _build/pdf/dropout-course.pdf \
	    _build/screenshots/pdf-page-1 && echo "first page: _build/screenshots/pdf-page-1.png"; \
	else echo "(install poppler-utils for a PNG of the first page)"; fi
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@test -f _build/html/dropout-course.pdf && echo "PDF: _build/html/dropout-course.pdf"

pins:
	$(PY) -m pip freeze --all --exclude-editable | grep -v "^pip==" | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.txt.new
	@echo "wrote requirements.txt.new: review, then move it over requirements.txt"

clean:
	rm -rf _build .pytest_cache
