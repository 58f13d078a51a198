"""Issue 16 item 8 and the last bullet: every option has help; options that do not apply are said."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from conftest import SNAPSHOT, load_oracle

from utxo_truth.cli import _parser, main

ORACLE = load_oracle()
ALICE = ORACLE["wallets"]["alice"]["descriptors"]


def _parsers(
    parser: argparse.ArgumentParser, name: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                found += _parsers(p, f"{name} {sub}")
    return found


def test_every_option_of_every_subcommand_has_help() -> None:
    parsers = _parsers(_parser(), "utxo-truth")
    names = {n for n, _ in parsers}
    assert {"utxo-truth scan", "utxo-truth reconcile", "utxo-truth verify-liabilities"} <= names
    missing = []
    for name, parser in parsers:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                shown = {a.dest for a in action._choices_actions if a.help}
                missing += [f"{name} {sub}" for sub in action.choices if sub not in shown]
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
    # and every subcommand's --help renders (help strings with a stray % would not)
    for _name, parser in parsers:
        assert parser.format_help()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_policy_with_one_source_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "scan", *ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT),
        "--policy", "quorum",
    )  # fmt: skip
    assert code == 0 and out
    assert err == (
        "utxo-truth: warning: --policy is not used: it applies to several --source compared; "
        "one was given\n"
    )


def test_gap_on_a_snapshot_among_history_sources_is_said(
    esplora: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "scan", *ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT),
        "--source", f"esplora+{esplora.url}", "--gap", "25", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert (
        f"utxo-truth: warning: --gap is not used for snapshot:{SNAPSHOT}: it knows unspent coins "
        "only and scans --range indexes per chain\n"
    ) in err


def test_range_on_history_sources_only_is_said(
    esplora: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "scan", *ALICE, "--network", "regtest", "--source", f"esplora+{esplora.url}",
        "--gap", "25", "--range", "50", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert (
        "utxo-truth: warning: --range is not used: it applies to sources that know unspent "
        "coins only (a snapshot); these know history and stop at --gap unused indexes\n"
    ) in err


def test_script_type_without_a_plain_xpub_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "scan", *ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT),
        "--script-type", "tr",
    )  # fmt: skip
    assert code == 0
    assert err == (
        "utxo-truth: warning: --script-type is not used: it applies to plain xpub/tpub targets "
        "only\n"
    )
