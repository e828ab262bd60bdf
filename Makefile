# Two commands do everything (see README):
#   make report   build every trailblazer report on the bundled data
#   make test     run the whole test suite (unit, integration, notebooks under nbval)
# Both create .venv and install the package into it first if needed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: report test lint bench clean install browser screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m linkage report --all

# Chromium (apt) and axe-core (npm, into the git-ignored .browser/) for the browser tests.
browser:
	sh tools/ensure_browser.sh

test: $(STAMP) browser
	$(PY) -m pytest

# Full-page PNGs of every built report (run `make report` first): reports/screenshots/<slug>.png
screenshots: $(STAMP) browser
	$(PY) tools/browser.py reports

lint: $(STAMP)
	$(PY) -m ruff check linkage tests benchmarks

# Rebuild notebooks/*.ipynb from their jupytext sources notebooks/*.py and execute them.
.PHONY: notebooks
notebooks: $(STAMP)
	$(PY) tools/notebooks.py

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf reports/*/ .pytest_cache .browser
