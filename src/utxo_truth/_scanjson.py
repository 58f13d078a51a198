"""The ``scan --json`` document: written once per coin, streamed; and read back.

Schema 2 (``"json_schema": 2``) is :class:`~utxo_truth.Holdings` as ``model_dump(mode="json")``
gives it, plus ``spendable_sats``, with one change: a coin is written once, in the top-level
``utxos`` (or ``pending``), never again inside each target. Schema 1 repeated every coin under
``targets[i].utxos`` too (twice the bytes for the same facts). Each target now says how many
coins it holds (``utxo_count``, ``pending_count``); a coin watched by several targets keeps the
first one's ``origin`` and lists the others in ``also_origins`` (left out when there are none).
:func:`holdings_from_json` rebuilds the :class:`Holdings` from either schema, per-target lists
included.

The writer formats each coin itself (its fields are plain strings, integers and booleans) and
hands the stream megabyte strings, so it costs the same with ``PYTHONUNBUFFERED=1``.

Example:
    >>> import io
    >>> from utxo_truth._models import BlockRef, Holdings
    >>> h = Holdings(network="regtest", block=BlockRef(height=1, hash="00" * 32),
    ...              source="snapshot:x", gap=20, range=1000, targets=(), utxos=())
    >>> buf = io.StringIO()
    >>> write_scan_json(h, buf)
    >>> holdings_from_json(buf.getvalue()) == h
    True
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _q
from typing import Any, TextIO

from pydantic import ValidationError

from ._columns import UtxoView, json_lines
from ._exceptions import InputError
from ._models import Holdings, Origin, Utxo

__all__ = ["SCHEMA", "holdings_from_json", "write_scan_json"]

SCHEMA = 2
_CHUNK = 1 << 20  # characters handed to the stream per write()
_COIN = (
    '    {"txid": %s, "vout": %d, "value": %d, "script_pubkey": %s, "address": %s, '
    '"height": %s, "coinbase": %s, "immature": %s, "origin": %s, "verification": %s, '
    '"problem": %s, "spent_by": %s%s}'
)


def _opt(text: str | None) -> str:
    return "null" if text is None else _q(text)


def _origin(o: Origin | None) -> str:
    if o is None:
        return "null"
    return json.dumps(o.model_dump(mode="json"))


def _also(h: Holdings) -> dict[tuple[str, int], list[Origin]]:
    """Origins beyond the first of coins that several targets hold (usually none)."""
    if sum(len(t.utxos) + len(t.pending) for t in h.targets) == len(h.utxos) + len(h.pending):
        return {}  # every coin listed by exactly one target: its own origin says it
    first = {(u.txid, u.vout): u.origin for u in h.utxos + h.pending}
    also: dict[tuple[str, int], list[Origin]] = {}
    for t in h.targets:
        for u in t.utxos + t.pending:
            key = (u.txid, u.vout)
            if u.origin is not None and u.origin != first.get(key):
                also.setdefault(key, []).append(u.origin)
    return also


def _coins(out: TextIO, name: str, coins: tuple[Utxo, ...], also: dict[Any, list[Origin]]) -> None:
    out.write(f'  "{name}": [')
    text: dict[object, str] = {}  # per script and per origin: the same strings for all its coins
    parts: list[str] = []
    size = 0
    sep = "\n"
    for u in coins:
        s = text.get(u.script_pubkey)
        if s is None:
            s = text[u.script_pubkey] = _q(u.script_pubkey)
        a = "null" if u.address is None else text.get(u.address)
        if a is None:
            a = text[u.address] = _q(u.address or "")
        o = text.get(id(u.origin))
        if o is None:
            o = text[id(u.origin)] = _origin(u.origin)
        more = also.get((u.txid, u.vout))
        extra = ', "also_origins": [' + ", ".join(_origin(x) for x in more) + "]" if more else ""
        line = _COIN % (
            _q(u.txid), u.vout, u.value, s, a,
            "null" if u.height is None else u.height,
            "true" if u.coinbase else "false", "true" if u.immature else "false",
            o, _q(u.verification), _opt(u.problem), _opt(u.spent_by), extra,
        )  # fmt: skip
        parts.append(sep)
        parts.append(line)
        sep = ",\n"
        size += len(line)
        if size > _CHUNK:
            out.write("".join(parts))
            parts.clear()
            size = 0
    out.write("".join(parts))
    out.write("\n  ]" if coins else "]")


_ROWS = 4096  # coin lines formatted per call (about 1.3 MB), handed to the stream at once


def _column_coins(out: TextIO, name: str, view: UtxoView) -> None:
    """:func:`_coins` of ``Holdings.utxos`` held as columns: the same lines.

    Formatted per row from the columns (in C when compiled), each script's strings made once.
    """
    coins = view.coins
    mid = [b""] * len(coins.cols.scripts)
    tail = [b""] * len(coins.cols.scripts)
    for lab, oid in coins.first.items():
        address = coins.address[lab]
        a = "null" if address is None else _q(address)
        script = _q(coins.script_hex[lab])
        mid[lab] = f', "script_pubkey": {script}, "address": {a}, "height": '.encode()
        more = coins.also.get(lab)
        extra = ', "also_origins": [' + ", ".join(_origin(x) for x in more) + "]" if more else ""
        tail[lab] = (
            f', "origin": {_origin(coins.origins[oid])}, "verification": '
            f'{_q(coins.verification)}, "problem": null, "spent_by": null{extra}}}'
        ).encode()
    out.write(f'  "{name}": [')
    n = len(view)
    for start in range(0, n, _ROWS):
        out.write(
            json_lines(coins.cols, start, min(n, start + _ROWS), coins.tip, mid, tail, start == 0)
        )
    out.write("\n  ]" if n else "]")


def write_scan_json(h: Holdings, out: TextIO, extra: dict[str, Any] | None = None) -> None:
    """Write the schema-2 document of ``h`` (and ``extra`` keys, e.g. labels) to ``out``."""
    head = h.model_dump(mode="json", exclude={"utxos", "pending", "targets"})
    targets = []
    for t in h.targets:
        d = t.model_dump(mode="json", exclude={"utxos", "pending"})
        d["utxo_count"] = len(t.utxos)
        d["pending_count"] = len(t.pending)
        targets.append(d)
    doc = {"json_schema": SCHEMA, **head, "spendable_sats": h.spendable_sats, "targets": targets}
    doc.update(extra or {})
    text = json.dumps(doc, indent=2)
    out.write(text[:-2])  # the object left open ("\n}" cut) for the coin lists
    out.write(",\n")
    if isinstance(h.utxos, UtxoView) and h.utxos.is_every_row and not h.pending:
        _column_coins(out, "utxos", h.utxos)  # a snapshot's coins, straight from the columns
        also: dict[Any, list[Origin]] = {}
    else:
        also = _also(h)
        _coins(out, "utxos", h.utxos, also)
    out.write(",\n")
    _coins(out, "pending", h.pending, also)
    out.write("\n}\n")


def holdings_from_json(data: str | bytes | dict[str, Any]) -> Holdings:
    """The :class:`Holdings` of a ``scan --json`` document (schema 2, or 1 before it).

    Validated like any model read from outside (totals checked against the coins).

    Example:
        >>> holdings_from_json(open("scan.json").read()).total_sats  # doctest: +SKIP
        3857143
    """
    try:
        raw = json.loads(data) if isinstance(data, (str, bytes)) else data
    except (ValueError, UnicodeDecodeError):
        raise InputError("not a scan --json document: it is not JSON") from None
    if not isinstance(raw, dict):
        raise InputError("not a scan --json document: its top level is not an object")
    doc: dict[str, Any] = dict(raw)
    doc.pop("spendable_sats", None)
    doc.pop("labels", None)
    schema = doc.pop("json_schema", 1)
    try:
        if schema == 1:
            return Holdings.model_validate(doc)
        if schema != 2:
            raise InputError(f"scan --json schema {str(schema)[:10]!r} is not known: 1 or 2")
        return Holdings.model_validate(_per_target(doc))
    except ValidationError as exc:
        raise InputError(f"not a valid scan --json document: {exc.errors()[0]['msg']}") from None
    except (KeyError, TypeError, AttributeError, IndexError):
        raise InputError(
            "not a scan --json document: a field is missing or of the wrong kind"
        ) from None


def _per_target(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 back to the model's shape: each coin under every target that watched it."""
    lists: dict[str, list[list[dict[str, Any]]]] = {}
    for name in ("utxos", "pending"):
        per_target: list[list[dict[str, Any]]] = [[] for _ in doc["targets"]]
        for u in doc[name]:
            origins = [u["origin"], *u.pop("also_origins", [])]
            for o in origins:
                if o is None:
                    continue
                if not 0 <= o["target"] < len(per_target):
                    raise InputError(
                        f"scan --json: a coin names target {str(o['target'])[:10]}, of "
                        f"{len(per_target)}"
                    )
                per_target[o["target"]].append({**u, "origin": o})
        lists[name] = per_target
    targets = []
    for i, t in enumerate(doc["targets"]):
        t = dict(t)
        t.pop("utxo_count", None)
        t.pop("pending_count", None)
        targets.append({**t, "utxos": lists["utxos"][i], "pending": lists["pending"][i]})
    return {**doc, "targets": targets}
