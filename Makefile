# Everything bootstraps a local .venv from nothing but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Demo sizes are a parameter, not a separate code path: `make demo DEMO_ARGS=--tiny` is the
# smoke run that tests/test_demo.py (part of `make test`, hence CI) executes in-process.
DEMO_ARGS ?=

.PHONY: install test lint format demo clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/segmnv3 demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
