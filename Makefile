# Two entry points, both working on a fresh machine (Python 3.11, make, gcc):
#   make demo   install, then scan the example wallets on the bundled UTXO snapshot (offline)
#   make test   install with test extras, then lint, type-check and run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/utxo-truth scan --file examples/regtest/wallets.txt --network regtest \
		--snapshot examples/regtest/utxo-snapshot.dat

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_derive.py
	$(BIN)/python benchmarks/bench_snapshot.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .bench-data
