"""The import kept light (issue 19): heavy modules are loaded when first used, not at start.

Each check runs a fresh interpreter and reads its ``sys.modules``: what a command never uses
must not be loaded by it (a module list, not a timing: benchmarks/bench_startup.py times it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
ADDRESS = "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"  # two coins in tests/data's snapshot

# never needed by a snapshot scan of addresses: network clients, renderers, other verbs' modules,
# the optional extras, and embit's libsecp256k1 (loaded at the first key derived)
NOT_FOR_A_SNAPSHOT_SCAN = [
    "requests",
    "ssl",
    "rich",
    "pandas",
    "pyarrow",
    "duckdb",
    "embit.util.secp256k1",
    "utxo_truth.evm",
    "utxo_truth.report",
    "utxo_truth.labels",
    "utxo_truth.wallets",
    "utxo_truth.claims",
    "utxo_truth.liabilities",
    "utxo_truth.reconcile",
    "utxo_truth._report_models",
    "utxo_truth.sources.electrum",
    "utxo_truth.sources.esplora",
    "utxo_truth.sources.bitcoind",
    "utxo_truth.sources.parquet",
]
# `import utxo_truth.cli` and `import utxo_truth` load none of those, nor pydantic and the models
NOT_AT_IMPORT = [
    *NOT_FOR_A_SNAPSHOT_SCAN,
    "pydantic",
    "embit",
    "utxo_truth._models",
    "utxo_truth._api",
    "utxo_truth.discovery",
    "utxo_truth.targets",
    "utxo_truth.sources",
]
REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)), file=sys.stderr)"


def loaded_after(code: str, *args: str) -> tuple[set[str], str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1])), proc.stdout


def test_import_of_the_cli_loads_nothing_heavy() -> None:
    mods, _ = loaded_after("import utxo_truth.cli")
    assert "utxo_truth.cli" in mods
    assert sorted(set(NOT_AT_IMPORT) & mods) == []


def test_import_of_the_package_loads_nothing_heavy() -> None:
    mods, _ = loaded_after("import utxo_truth")
    assert sorted(set(NOT_AT_IMPORT) & mods) == []


def test_public_names_still_load_when_first_read() -> None:
    code = (
        "import utxo_truth\n"
        "from utxo_truth import Holdings, scan, reconcile\n"
        "import utxo_truth.reconcile  # the module: the package's `reconcile` stays the verb\n"
        "assert utxo_truth.reconcile is reconcile and callable(scan), utxo_truth.reconcile\n"
        "assert Holdings.__module__ == 'utxo_truth._models'\n"
        "from utxo_truth.cli import format_btc  # re-exported, loaded when first read\n"
        "assert format_btc(150_000_000) == '1.50000000', format_btc(150_000_000)\n"
    )
    mods, _ = loaded_after(code)
    assert {"utxo_truth._models", "utxo_truth._api", "utxo_truth.report"} <= mods
    # the submodule imported before the name is read: the name is still the verb
    first = "import types, utxo_truth.reconcile as r, utxo_truth\n"
    loaded_after(first + "assert not isinstance(r, types.ModuleType) and r is utxo_truth.reconcile")


def test_a_snapshot_scan_loads_only_what_it_uses() -> None:
    code = "import sys\nfrom utxo_truth.cli import main\nassert main(sys.argv[1:]) == 0"
    argv = ["scan", ADDRESS, "--network", "regtest", "--snapshot", str(DATA / "utxo-snapshot.dat")]
    mods, out = loaded_after(code, *argv, "--json")
    assert '"total_sats": 8857143' in out  # the coins were found and written
    assert sorted(set(NOT_FOR_A_SNAPSHOT_SCAN) & mods) == []
    mods, out = loaded_after(code, *argv)  # the table: the renderer and rich, nothing else
    assert "8857143" in out
    table = {"utxo_truth.report", "rich"}
    assert table <= mods
    assert sorted(set(NOT_FOR_A_SNAPSHOT_SCAN) - table & mods) == []
