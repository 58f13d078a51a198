# Two entry points, both working on a fresh machine (Python 3.11, make, gcc):
#   make demo   install, then reconcile the example portfolio on the bundled UTXO snapshot (offline)
#   make test   install with test extras, then lint, type-check and run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# ElectrumX (the real Electrum server the tests run) lives in its own venv: its dependencies
# (aiohttp, aiorpcx, plyvel) stay out of the library's.
EXVENV ?= .venv-electrumx
ELECTRUMX := $(EXVENV)/bin/electrumx_server
# anvil (Foundry's local Ethereum node, the real EVM node the token-supply tests run), from npm:
# the registry package @foundry-rs/anvil-linux-amd64 carries the binary; kept in .anvil/.
ANVIL_VERSION ?= 1.7.1
ANVIL := .anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

.PHONY: demo test lint typecheck pytest unit bench clean chromium

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Chromium renders the HTML report in a test; Debian's package, installed when missing (root).
CHROMIUM := $(shell command -v chromium 2>/dev/null)

chromium:
ifeq ($(CHROMIUM),)
	(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)) \
		|| echo "warning: could not install chromium; the HTML rendering test needs it"
endif

$(ELECTRUMX):
	$(PY) -m venv $(EXVENV)
	$(EXVENV)/bin/python -m pip install -q 'e-x==2.0.0' 'plyvel==1.5.1'

$(ANVIL):
	command -v npm >/dev/null 2>&1 || (apt-get install -y -qq npm >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq npm))
	npm install --prefix .anvil --no-audit --no-fund @foundry-rs/anvil@$(ANVIL_VERSION)
	$(ANVIL) --version

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/utxo-truth reconcile examples/portfolio.toml

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test $(ELECTRUMX) $(ANVIL) chromium
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# tests/unit only: no server, no browser, no network (about two minutes on two cores)
unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests/unit

bench: $(VENV)/.installed-bench $(ELECTRUMX)
	$(BIN)/python benchmarks/bench_derive.py
	$(BIN)/python benchmarks/bench_snapshot.py
	$(BIN)/python benchmarks/bench_electrum.py
	$(BIN)/python benchmarks/bench_esplora.py
	$(BIN)/python benchmarks/bench_esplora.py --delay 0.02

clean:
	rm -rf $(VENV) $(EXVENV) .anvil build *.egg-info src/*.egg-info .bench-data
