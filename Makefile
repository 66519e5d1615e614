# The course's commands. `make book` builds the website; `make test` runs every test.
# Both create .venv and install the pinned environment on first use, and skip that
# when requirements.txt and pyproject.toml have not changed.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard chapters/*.ipynb))
# Both worker processes of pytest-xdist; set JOBS=1 to run serially.
JOBS ?= 2
PORT ?= 8000

export KERAS_BACKEND := torch
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup data book serve test test-unit test-notebooks test-book test-browser refresh lab pins clean

help:
	@echo "make book     build the website into _build/html (from stored notebook outputs)"
	@echo "make serve    serve _build/html on http://127.0.0.1:$(PORT)"
	@echo "make test     unit + property tests, nbval over every notebook, -W book build, browser test"
	@echo "make refresh  re-execute every notebook in place (updates stored outputs)"
	@echo "make lab      JupyterLab with the course's environment"
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

book: setup data
	@rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@echo "Website built: open $(CURDIR)/_build/html/index.html (or run 'make serve')"

serve: book
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

test-unit: setup
	$(PY) -m pytest -q -n $(JOBS) tests --ignore=tests/browser

test-notebooks: setup data
	$(PY) -m pytest -q -n $(JOBS) --dist loadscope --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/sanitize.cfg $(NOTEBOOKS)

test-book: book

test-browser: book
	$(PY) -m pytest -q tests/browser

test: test-unit test-notebooks test-book test-browser
	@echo "make test: all suites passed"

refresh: setup data
	@for nb in $(NOTEBOOKS); do \
	  echo "executing $$nb"; \
	  start=$$(date +%s.%N); \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	  echo "  $$nb: $$(python3 -c "print(round($$(date +%s.%N) - $$start, 1))") s"; \
	done

lab: setup data
	$(VENV)/bin/jupyter lab chapters/

pins:
	$(PY) -m pip freeze --all --exclude-editable | grep -v "^pip==" | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.txt.new
	@echo "wrote requirements.txt.new: review, then move it over requirements.txt"

clean:
	rm -rf _build .pytest_cache
