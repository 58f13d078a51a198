"""A watch list's bad line is never quoted, and key material in any shape is refused.

A list is a file of thousands of lines that the user may have pasted together from anywhere: a
seed backup written a word a line, a CSV of keys with labels, a WIF cut over two lines. Each is
refused or rejected by its line number alone; no message holds six characters of the line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SNAPSHOT

from utxo_truth import read_watch_list, scan
from utxo_truth._exceptions import (
    InputError,
    NetworkMismatchError,
    PrivateKeyError,
    SourceSpecError,
    UtxoTruthError,
)
from utxo_truth.sources import _snapfast

KEY_HEX = "e9873d79c6d87dc0fb6a5778633389f4453213303da61f20bd67fc233aa33262"
WIF = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn"
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"

LINES = [
    ("abandon", PrivateKeyError),  # a seed written one word a line
    ("abstract", PrivateKeyError),
    (SEED.replace(" ", ","), PrivateKeyError),  # a seed in one comma-joined token
    (SEED.replace(" ", ";"), PrivateKeyError),
    (KEY_HEX + ",cold", PrivateKeyError),  # a CSV row of a raw key and its label
    (KEY_HEX + " cold", PrivateKeyError),
    (KEY_HEX + "\t# cold", PrivateKeyError),
    (WIF[:25], UtxoTruthError),  # a WIF cut over two lines: each half is still secret
    (WIF[25:], UtxoTruthError),
    ("S6c56bnXQiBjk9mqSYE7ykVQ7NzrRy", UtxoTruthError),  # a Casascius mini private key
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", NetworkMismatchError),
]


def _pure(monkeypatch: pytest.MonkeyPatch, reader: str) -> None:
    if reader == "pure":
        monkeypatch.setenv(_snapfast.ENV_PURE, "1")
    elif not _snapfast.available():
        pytest.skip("the compiled scanner is not built")


@pytest.mark.parametrize(("line", "error"), LINES)
@pytest.mark.parametrize("reader", ["compiled", "pure"])
def test_a_bad_line_is_never_quoted(
    line: str, error: type[Exception], reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pure(monkeypatch, reader)
    path = tmp_path / "list.txt"
    path.write_text(f"bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f\n{line}\n")
    with pytest.raises(error) as caught:
        read_watch_list(path, "regtest")
    message = str(caught.value)
    assert message.startswith("watch list list.txt line 2: ")
    said = message.replace(" ", "")
    secret = "".join(line.split())
    # no run of 5 of its characters (a seed word's first 4 name it; "cold" is the label)
    shown = [secret[i : i + 5] for i in range(len(secret) - 4) if secret[i : i + 5] in said]
    assert not shown, f"{shown} of the line is in {message!r}"
    if error is NetworkMismatchError:
        assert "an address of main" in message


def test_a_watch_list_scan_honours_proxy(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f\n")
    spec = f"snapshot:{SNAPSHOT}"
    with pytest.raises(SourceSpecError):  # checked as any scan's proxy is, never dropped
        scan(watch_list=path, network="regtest", source=spec, proxy="not a proxy")
    with pytest.raises(InputError, match="spec strings"):
        from utxo_truth import SnapshotSource

        scan(
            watch_list=path,
            network="regtest",
            source=SnapshotSource(SNAPSHOT, "regtest"),
            proxy="socks5h://127.0.0.1:9050",
        )
    with pytest.raises(InputError, match="script_type"):
        scan(watch_list=path, network="regtest", source=spec, script_type="wpkh")
