"""BIP-329 labels: round trip, the shape of what we write, label claims checked against a scan,
malformed label files, and the plug-in points (scan --wallet-file/--labels/--labels-out,
wallet_file in a portfolio)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT

from utxo_truth import (
    LabelFileError,
    PortfolioError,
    PrivateKeyError,
    SnapshotSource,
    load_portfolio,
    scan,
    scan_targets,
)
from utxo_truth.cli import main
from utxo_truth.labels import (
    LabelSet,
    check_label_claims,
    labels_for_holdings,
    load_labels,
    parse_labels,
    write_labels,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio.toml"
TXID = "f91d0a8a78462bc59398f2c5d7a84fcff491c26ba54c4833478b202796c8aafd"
# BIP-329's own test vector
BIP_VECTOR = f"""\
{{ "type": "tx", "ref": "{TXID}", "label": "Transaction", "origin": "wpkh([d34db33f/84'/0'/0'])" }}
{{ "type": "addr", "ref": "bc1q34aq5drpuwy3wgl9lhup9892qp6svr8ldzyy7c", "label": "Address" }}
{{ "type": "pubkey", "ref": "0283409659355b6d1cc3c32decd5d561abaac86c37a353b52895a5e6c196d6f448", "label": "Public Key" }}
{{ "type": "input", "ref": "{TXID}:0", "label": "Input" }}
{{ "type": "output", "ref": "{TXID}:1", "label": "Output", "spendable": false }}
{{ "type": "xpub", "ref": "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", "label": "Extended Public Key" }}
{{ "type": "tx", "ref": "f546156d9044844e02b181026a1a407abfca62e7ea1159f87bbeaa77b4286c74", "label": "Account #1 Transaction", "origin": "wpkh([d34db33f/84'/0'/1'])" }}
"""


@pytest.fixture(scope="module")
def example_holdings() -> Any:
    p = load_portfolio(EXAMPLE)
    return scan(scan_targets(p), network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))


def test_bip_vector_round_trips() -> None:
    ls = parse_labels(BIP_VECTOR)
    assert [r.type for r in ls.records] == ["tx", "addr", "pubkey", "input", "output", "xpub", "tx"]
    assert ls.get("output", f"{TXID}:1").spendable is False  # type: ignore[union-attr]
    again = parse_labels("".join(r.to_json() + "\n" for r in ls.records))
    assert again.records == ls.records
    assert [json.loads(r.to_json()) for r in ls.records] == [
        json.loads(line) for line in BIP_VECTOR.splitlines()
    ]


def test_ours_round_trips(example_holdings: Any, tmp_path: Path) -> None:
    records = labels_for_holdings(example_holdings, labels=parse_labels(BIP_VECTOR))
    p = tmp_path / "labels.jsonl"
    write_labels(records, p)
    assert load_labels(p).records == tuple(records)
    write_labels(load_labels(p).records, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == p.read_bytes()


_FIELDS = {  # BIP-329 keys, plus its "Additional Fields" per record type
    "tx": {"type", "ref", "label", "origin", "height", "time", "fee", "value", "rate"},
    "addr": {"type", "ref", "label", "origin", "keypath", "heights"},
    "pubkey": {"type", "ref", "label", "origin"},
    "input": {"type", "ref", "label", "origin", "keypath", "value", "fmv", "height", "time"},
    "output": {
        "type",
        "ref",
        "label",
        "origin",
        "spendable",
        "keypath",
        "value",
        "fmv",
        "height",
        "time",
    },
    "xpub": {"type", "ref", "label", "origin"},
}


def test_written_for_the_example_portfolio_has_the_bips_shape(
    example_holdings: Any, tmp_path: Path
) -> None:
    h = example_holdings
    p = tmp_path / "portfolio-labels.jsonl"
    write_labels(labels_for_holdings(h, labels=parse_labels(BIP_VECTOR)), p)
    raw = p.read_bytes()
    raw.decode("utf-8")  # BIP-329: UTF-8
    assert raw.endswith(b"\n") and b"\r" not in raw
    lines = raw.decode().split("\n")[:-1]
    coins = {f"{u.txid}:{u.vout}": u for u in h.utxos}
    outputs = 0
    types = set()
    for line in lines:
        rec = json.loads(line)  # one JSON object per line
        assert isinstance(rec, dict)
        types.add(rec["type"])
        assert set(rec) <= _FIELDS[rec["type"]], rec
        assert isinstance(rec["ref"], str) and rec["ref"]
        if "label" in rec:
            assert isinstance(rec["label"], str) and "\n" not in rec["label"]
        if "spendable" in rec:
            assert rec["type"] == "output" and isinstance(rec["spendable"], bool)
        if "origin" in rec:  # abbreviated descriptor: key origins, no keys, no checksum
            assert re.fullmatch(r"(?:[a-z]+\()+\[[0-9a-f]{8}(?:/\d+['h])*\]\)+", rec["origin"])
        if rec["type"] != "output" or rec["ref"] not in coins:
            continue
        outputs += 1
        u = coins[rec["ref"]]
        assert re.fullmatch(r"[0-9a-f]{64}:\d+", rec["ref"])
        assert type(rec["value"]) is int and rec["value"] == u.value
        confirmations = h.block.height - u.height + 1
        if confirmations >= 6:
            assert type(rec["height"]) is int and rec["height"] == u.height
        else:
            assert "height" not in rec  # BIP-329: omitted until fully confirmed
        if "keypath" in rec:
            assert re.fullmatch(r"/[01]/\d+", rec["keypath"])
            assert rec["keypath"] == f"/{u.origin.chain}/{u.origin.index}"
    assert outputs == len(coins) > 0  # one output record per coin found
    assert types == set(_FIELDS)  # every record type of the BIP is present and checked


def test_label_claims_checked_against_the_scan(example_holdings: Any) -> None:
    h = example_holdings
    u0, u1 = h.utxos[0], h.utxos[1]
    lines = [
        {
            "type": "output",
            "ref": f"{u0.txid}:{u0.vout}",
            "label": "ok",
            "value": u0.value,
            "height": u0.height,
        },
        {"type": "output", "ref": f"{u1.txid}:{u1.vout}", "value": u1.value + 1},
        {"type": "output", "ref": f"{u1.txid}:{u1.vout + 100}", "value": 1000, "label": "gone"},
        {"type": "output", "ref": f"{u0.txid}:{u0.vout}", "height": (u0.height or 0) + 1},
        {"type": "output", "ref": f"{u0.txid}:{u0.vout}", "label": "no claim"},
    ]
    ls = parse_labels("\n".join(json.dumps(x) for x in lines))
    claims = check_label_claims(ls, h)
    assert [c.status for c in claims] == ["holds", "value differs", "not unspent", "height differs"]
    assert all(c.block_height == h.block.height and c.block_hash == h.block.hash for c in claims)
    assert "spent, or never there" in claims[2].describe()
    assert claims[1].found_value == u1.value


MALFORMED = [
    "not json",
    "[1, 2]",
    '{"ref": "x"}',
    '{"type": "tx"}',
    '{"type": 3, "ref": "x"}',
    '{"type": "tx", "ref": ""}',
    '{"type": "tx", "ref": "abc"}',
    f'{{"type": "output", "ref": "{TXID}"}}',
    f'{{"type": "output", "ref": "{TXID}:x"}}',
    f'{{"type": "input", "ref": "{TXID}:99999999999"}}',
    '{"type": "pubkey", "ref": "02abcd"}',
    '{"type": "xpub", "ref": "notakey"}',
    '{"type": "addr", "ref": "bc1 space"}',
    f'{{"type": "tx", "ref": "{TXID}", "label": 5}}',
    f'{{"type": "tx", "ref": "{TXID}", "origin": "d34db33f/84h"}}',
    f'{{"type": "tx", "ref": "{TXID}", "spendable": false}}',
    f'{{"type": "output", "ref": "{TXID}:1", "spendable": "false"}}',
    f'{{"type": "output", "ref": "{TXID}:1", "value": 1.5}}',
    f'{{"type": "output", "ref": "{TXID}:1", "value": "100"}}',
    f'{{"type": "output", "ref": "{TXID}:1", "value": -1}}',
    f'{{"type": "output", "ref": "{TXID}:1", "value": true}}',
    f'{{"type": "output", "ref": "{TXID}:1", "value": 2100000000000001}}',
    f'{{"type": "output", "ref": "{TXID}:1", "height": -3}}',
    f'{{"type": "tx", "ref": "{TXID}", "fee": -1}}',
    '{"type": "addr", "ref": "bc1q34aq5drpuwy3wgl9lhup9892qp6svr8ldzyy7c", "heights": [1, "2"]}',
    f'{{"type": "output", "ref": "{TXID}:1", "fmv": {{"USD": "12"}}}}',
    f'{{"type": "tx", "ref": "{TXID}", "label": "a\\nb"}}',
    f'{{"type": "tx", "ref": "{TXID}", "time": 5}}',
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_label_lines(line: str) -> None:
    good = BIP_VECTOR.splitlines()[0]
    with pytest.raises(LabelFileError, match=r"labels: line 2: "):
        parse_labels(good + "\n" + line + "\n", path="labels")


def test_label_file_edge_cases(tmp_path: Path) -> None:
    ls = parse_labels('{"type": "future", "ref": "x"}\n\n' + BIP_VECTOR)
    assert ls.ignored == 1 and len(ls.records) == 7  # unknown types ignored, as the BIP says
    with pytest.raises(PrivateKeyError):
        parse_labels(
            '{"type": "xpub", "ref": "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiC'
            'hkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"}'
        )
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"type": "tx", "ref": "é"}'.encode("latin-1"))
    with pytest.raises(LabelFileError, match="UTF-8"):
        load_labels(bad)
    with pytest.raises(LabelFileError, match="cannot read"):
        load_labels(tmp_path / "missing.jsonl")
    assert LabelSet(()).for_coin(TXID, 0) is None


# ---- plug-in points ------------------------------------------------------------------------


def test_cli_scan_wallet_file_labels_in_and_out(
    oracle: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = oracle["wallets"]["alice"]
    core = a["scantxoutset"]
    (tmp_path / "alice.txt").write_text("\n".join(a["descriptors"]) + "\n")
    v = oracle["wallets"]["vault"]
    (tmp_path / "vault.json").write_text(
        json.dumps({"label": "vault", "descriptor": v["descriptors"][0].split("#")[0]})
    )
    u = core["unspents"][0]
    labels = tmp_path / "in.jsonl"
    labels.write_text(
        json.dumps(
            {
                "type": "output",
                "ref": f"{u['txid']}:{u['vout']}",
                "label": "salary",
                "value": u["value"],
            }
        )
        + "\n"
        + json.dumps({"type": "output", "ref": "11" * 32 + ":0", "label": "old", "value": 5})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    argv = [
        "scan",
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--wallet-file",
        str(tmp_path / "alice.txt"),
        "--wallet-file",
        str(tmp_path / "vault.json"),
        "--labels",
        str(labels),
        "--labels-out",
        str(out),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "salary" in text and "NO LONGER HOLDS" in text and "1 of 2 output records hold" in text
    want = core["total_sats"] + v["scantxoutset"]["total_sats"]
    assert str(want) in text
    written = load_labels(out)
    refs = {r.ref for r in written.records if r.type == "output" and r.value is not None}
    assert {f"{x['txid']}:{x['vout']}" for x in core["unspents"]} <= refs
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_sats"] == want
    assert data["labels"]["coins"][f"{u['txid']}:{u['vout']}"] == "salary"
    assert [c["status"] for c in data["labels"]["claims"]] == ["holds", "not unspent"]


def test_cli_bad_wallet_file_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "seed.json"
    words = "abandon " * 11 + "about"
    seed.write_text(json.dumps({"keystore": {"seed": words}, "wallet_type": "standard"}))
    rc = main(
        ["scan", "--network", "regtest", "--snapshot", str(SNAPSHOT), "--wallet-file", str(seed)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "PrivateKeyError" in err and "abandon" not in err
    assert err.count("\n") == 1


def test_portfolio_wallet_file(oracle: dict[str, Any], tmp_path: Path) -> None:
    v = oracle["wallets"]["vault"]
    body = v["descriptors"][0].split("#")[0].replace("/0/*", "/**")
    from utxo_truth.targets import address_of, parse_target

    first = address_of(parse_target(v["descriptors"][0], "regtest").scripts(0, 0, 1)[0], "regtest")
    (tmp_path / "vault.bsms").write_text(f"BSMS 1.0\n{body}\n/0/*,/1/*\n{first}\n")
    toml = tmp_path / "p.toml"
    toml.write_text(
        'network = "regtest"\n\n[[wallets]]\nname = "vault"\nwallet_file = "vault.bsms"\n'
    )
    p = load_portfolio(toml)
    assert len(p.wallets[0].targets) == 1 and "/<0;1>/*" in p.wallets[0].targets[0]
    h = scan(scan_targets(p), network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))
    assert h.total_sats == v["scantxoutset"]["total_sats"]
    toml.write_text('network = "main"\n\n[[wallets]]\nname = "v"\nwallet_file = "vault.bsms"\n')
    with pytest.raises(PortfolioError, match=r"wallets\[0\].*wallet_file"):
        load_portfolio(toml)
    toml.write_text('network = "regtest"\n\n[[wallets]]\nname = "v"\nwallet_file = 3\n')
    with pytest.raises(PortfolioError, match="wallet_file"):
        load_portfolio(toml)


def test_reconcile_labels_in_every_report_format(
    oracle: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    u = oracle["wallets"]["alice"]["scantxoutset"]["unspents"][0]
    ref = f"{u['txid']}:{u['vout']}"
    labels = tmp_path / "in.jsonl"
    labels.write_text(
        json.dumps({"type": "output", "ref": ref, "label": "salary <b>", "value": u["value"]})
        + "\n"
        + json.dumps({"type": "output", "ref": "22" * 32 + ":1", "label": "gone", "height": 9})
        + "\n"
    )
    out, csv_path, html_path = tmp_path / "out.jsonl", tmp_path / "r.csv", tmp_path / "r.html"
    base = ["reconcile", str(EXAMPLE), "--labels", str(labels)]
    assert (
        main([*base, "--labels-out", str(out), "--csv", str(csv_path), "--html", str(html_path)])
        == 0
    )
    text = capsys.readouterr().out
    assert "salary <b>" in text and "1 of 2 output records hold" in text
    assert "NO LONGER HOLDS" in text and "22" * 32 + ":1" in text
    import csv

    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert {"section": "label", "name": "salary <b>", "kind": ref}.items() <= next(
        r for r in rows if r["section"] == "label"
    ).items()
    claim_rows = [
        (r["name"], r["custodian"], r["block_height"])
        for r in rows
        if r["section"] == "label-claim"
    ]
    assert claim_rows == [("salary <b>", "holds", "295"), ("gone", "not unspent", "295")]
    assert rows[0]["section"] == "wallet"  # the report's own rows come first, unchanged
    page = html_path.read_text()
    assert "salary &lt;b&gt;" in page and page.index('id="labels"') < page.index("</body>")
    # own wallets' coins only (alice, bob, vault), each once, not the custodian's reserves
    own = {
        f"{c['txid']}:{c['vout']}"
        for w in ("alice", "bob", "vault")
        for c in oracle["wallets"][w]["scantxoutset"]["unspents"]
    }
    written = {r.ref for r in load_labels(out).records if r.value is not None}
    assert own <= written and not {
        f"{c['txid']}:{c['vout']}"
        for c in oracle["wallets"]["custodian"]["scantxoutset"]["unspents"]
    } & (written - own)
    assert main([*base, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels"]["coins"][ref] == "salary <b>"
    assert [c["status"] for c in data["labels"]["claims"]] == ["holds", "not unspent"]
    assert data["labels"]["block"]["height"] == data["block"]["height"]


def test_records_shaped_as_sparrow_writes_them() -> None:
    """The record shapes Sparrow's WalletLabelsTest asserts for its export (every extra field)."""
    t1, t2 = "ab" * 32, "cd" * 32
    lines = [
        {
            "type": "xpub",
            "ref": "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvq"
            "AQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V",
            "label": "Test Keystore",
        },
        {
            "type": "tx",
            "ref": t1,
            "label": "Funding transaction",
            "origin": "wpkh([73c5da0a/84h/0h/0h])",
            "height": 850000,
            "time": "2023-11-14T22:13:20Z",
            "value": 300000,
        },
        {
            "type": "tx",
            "ref": t2,
            "label": "Spending transaction",
            "height": 850001,
            "fee": 10000,
            "value": -100000,
        },
        {
            "type": "addr",
            "ref": "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
            "label": "Primary address",
            "keypath": "/0/0",
            "heights": [850000, 850001],
        },
        {
            "type": "output",
            "ref": f"{t1}:0",
            "label": "Received coins",
            "keypath": "/0/0",
            "value": 100000,
        },
        {
            "type": "output",
            "ref": f"{t1}:1",
            "label": "Frozen coins",
            "value": 200000,
            "spendable": False,
        },
        {
            "type": "input",
            "ref": f"{t2}:0",
            "label": "Spent input",
            "keypath": "/0/0",
            "value": 100000,
            "height": 850001,
        },
    ]
    ls = parse_labels("\n".join(json.dumps(x, separators=(",", ":")) for x in lines))
    assert [json.loads(r.to_json()) for r in ls.records] == lines
    assert (
        ls.for_target(
            "wpkh([73c5da0a/84h/0h/0h]xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7Wyks"
            "VFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V/<0;1>/*)"
        )
        == "Test Keystore"
    )
    assert ls.for_coin(t1, 0) == "Received coins"
    assert ls.for_coin(t1, 7, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu") == "Primary address"
    assert ls.for_coin(t2, 5) == "Spending transaction"
    assert ls.get("tx", t2).value == -100000  # type: ignore[union-attr]
