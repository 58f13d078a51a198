"""Where a C compiler is present, the compiled scanner must be built, whole and current.

``setup.py`` marks the extension optional, so a C file that fails to compile installs silently
and leaves the pure-Python fallback (or, in an editable checkout, a stale build from an older
C file) in its place: every test of the compiled path would then skip or test old code. This
catches that: the extension imports, exposes every function the package calls, and is not older
than its source.
"""

from __future__ import annotations

import importlib
import shutil
import sysconfig
from pathlib import Path

import pytest

import utxo_truth

PACKAGE = Path(utxo_truth.__file__).parent
SOURCE = PACKAGE / "_snapscan.c"
CALLED = (
    "scan",
    "sort",
    "group",
    "sums",
    "json",
    "watch_list",
    "columns",
    "WatchSet",
)  # what sources/_snapfast.py calls


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


@pytest.mark.skipif(_compiler() is None, reason="no C compiler: the Python reader is the design")
def test_the_compiled_scanner_is_built_and_complete() -> None:
    mod = importlib.import_module("utxo_truth._snapscan")
    missing = [name for name in CALLED if not hasattr(mod, name)]
    assert not missing, f"_snapscan lacks {missing}: the C file did not compile; rebuild it"
    built = Path(mod.__file__ or "")
    if SOURCE.exists() and built.parent == PACKAGE:  # an editable checkout builds in place
        assert built.stat().st_mtime >= SOURCE.stat().st_mtime, (
            "_snapscan's build is older than _snapscan.c: `pip install -e .` did not rebuild it "
            "(a compile error is silent: the extension is optional)"
        )
