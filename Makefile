# mlsd: `make run` runs the default experiment, `make test-all` every test, `make test` the quick ones.
# All set up .venv first. `make help` lists the targets; a bare `make` is `make setup`.
# CPU machines get the CPU build of torch (TORCH_SPEC); on a GPU machine install your CUDA build instead:
#   make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto   # test-all: one pytest worker per core (pytest-xdist); 0 runs them in this process

.DEFAULT_GOAL := setup
.PHONY: help setup run test test-all lint bench

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv: torch (TORCH_SPEC), then mlsd (editable) with its dev tools

run: $(STAMP) ## the default experiment: python run.py case=ad_click model=dcn, plus ARGS="..."
	$(PY) run.py case=ad_click model=dcn $(ARGS)

test: $(STAMP) ## the quick tests: pytest -m "not slow", plus PYTEST_ARGS="..."
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP) ## every test, the slow end-to-end ones too, on every core (what CI and .ci/run run)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(STAMP) ## scripts/bench_ctr.py: reading, encoding and training speed, plus ARGS="..."
	$(PY) scripts/bench_ctr.py $(ARGS)
