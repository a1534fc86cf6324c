# Everything bootstraps a local .venv from nothing but python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Demo sizes are a parameter, not a separate code path: `make demo DEMO_ARGS=--tiny` is the
# smoke run that tests/test_demo.py (part of `make test`, hence CI) checks: run once from the
# installed wheel (tests/conftest.py: tiny_demo), then again in-process, which must reuse it.
DEMO_ARGS ?=

# The browser assets of `segmnv3 serve` (onnxruntime-web, pinned in its package-lock.json):
# `npm ci` where npm exists; without npm, serve says how to get them.
WEB    := segmnv3/web

.PHONY: install web test lint format demo clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP) web

web: $(WEB)/vendor/.installed-stamp

$(WEB)/vendor/.installed-stamp: $(WEB)/package.json $(WEB)/package-lock.json $(WEB)/vendor.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(WEB) && npm ci --no-audit --no-fund && touch vendor/.installed-stamp; \
	else echo "npm not found: skipping the browser assets of segmnv3 serve (install npm, then make web)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint web
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/segmnv3 demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache $(WEB)/node_modules $(WEB)/vendor
