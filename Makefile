# Shizhi (市治): `make demo` runs the platform on its embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= city

.PHONY: install demo serve test check lint format typecheck assets clean

$(STAMP): pyproject.toml src/shizhi/warning/detectors/_anomaly_core.c src/shizhi/sensing/_ingest_core.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Shizhi needs Python >= 3.11, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

assets: $(STAMP)
	$(BIN)/python scripts/build_assets.py

demo: $(STAMP) assets
	$(BIN)/shizhi demo --scale $(SCALE) --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(BIN)/shizhi serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src scripts
	$(BIN)/ruff format --check src scripts

format: $(STAMP)
	$(BIN)/ruff check --fix src scripts
	$(BIN)/ruff format src scripts

typecheck: $(STAMP)
	$(BIN)/mypy src/shizhi

check: lint typecheck test

clean:
	rm -rf $(VENV) var node_modules src/shizhi/static/vendor .pytest_cache .mypy_cache .ruff_cache
