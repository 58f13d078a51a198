"""Signet block signatures (BIP-325) of the blocks a look-up leans on, checked in the sources.

On signet, proof of work is not what makes a block valid: its signature is. A coin proven into a
signet header is proven only if that block's *signet solution* satisfies the network's challenge
(the default signet's, or the one the user gives for a custom signet). So for every height a coin
is proven into, and for the tip the answer is true at, the block's coinbase and the coinbase's
merkle branch are fetched from the server and checked with :func:`utxo_truth._signet.
check_signet_solution` against the verified header; the server is not believed about either (the
coinbase must hash into the header's merkle root through the branch).

:func:`signet_checked` is the one step both network sources call; the fetch of coinbase + branch
is one function per protocol (:func:`electrum_coinbases`, :func:`esplora_coinbases`).

* a block whose signature fails is a :class:`~utxo_truth._exceptions.VerificationError` naming
  every failing height and ``bad-signet-blksig`` (the server serves blocks the network rejects);
* a block whose coinbase the server would not send leaves its coins ``unverified`` with the
  reason (and a tip not checked is said in ``problems``): never "spv" on trust.

Example:
    >>> from utxo_truth._network import Network
    >>> signet_checked(Network.MAIN, None, {}, 0, lambda h: None, lambda headers: {}, [])
    {}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .._exceptions import SourceSpecError, VerificationError
from .._network import Network
from .._signet import DEFAULT_SIGNET_CHALLENGE, check_signet_solution
from ..verify import header_hash
from ._base import Coin
from ._jsonrpc import Reply, error_text
from ._spv import hex32, is_int

__all__ = [
    "CoinbaseFetch",
    "electrum_coinbases",
    "esplora_coinbases",
    "parse_challenge",
    "signet_checked",
]

CoinbaseFetch = Callable[[Mapping[int, bytes]], Mapping[int, "tuple[bytes, list[str]] | str"]]
"""Verified headers by height -> per height the coinbase (raw) and its merkle branch, or why the
server sent none."""


def parse_challenge(network: Network, challenge: bytes | str | None) -> bytes | None:
    """The signet challenge a source checks with: the user's (hex or bytes) or the default.

    None on a network other than signet (a challenge given there is refused).

    Example:
        >>> parse_challenge(Network.SIGNET, "51")
        b'Q'
    """
    if challenge is None:
        return DEFAULT_SIGNET_CHALLENGE if network is Network.SIGNET else None
    if network is not Network.SIGNET:
        raise SourceSpecError(
            f"signet_challenge applies to network signet only (this source is {network.value})"
        )
    if isinstance(challenge, str):
        try:
            challenge = bytes.fromhex(challenge)
        except ValueError:
            raise SourceSpecError(
                "signet_challenge must be the challenge script in hex (e.g. 5121...52ae)"
            ) from None
    if not challenge:
        raise SourceSpecError("signet_challenge is empty: give the challenge script in hex")
    return bytes(challenge)


def signet_checked(
    network: Network,
    challenge: bytes | None,
    coins: Mapping[bytes, Sequence[Coin]],
    tip_height: int,
    header_at: Callable[[int], bytes | None],
    fetch: CoinbaseFetch,
    problems: list[str],
) -> dict[bytes, tuple[Coin, ...]]:
    """``coins`` with every proven coin's block signature checked (BIP-325), and the tip's.

    Off signet (``challenge`` None) the coins come back as they are. ``header_at(h)`` is the
    verified header at ``h`` (None if there is none: that block is not checked, its coins are not
    proven). Coins whose block could not be checked become ``unverified`` with the reason (the
    source reports each such coin); a tip not checked is added to ``problems``.

    Raises:
        VerificationError: a block signature fails (``bad-signet-blksig``), naming each height.
    """
    out = {s: tuple(cs) for s, cs in coins.items()}
    if challenge is None or network is not Network.SIGNET:
        return out
    heights = sorted(
        {c.height for cs in out.values() for c in cs if c.verification == "spv" and c.height}
        | {tip_height}
    )
    heights = [h for h in heights if h > 0]  # the genesis block carries no signature
    unchecked: dict[int, str] = {}
    wanted = []
    headers: dict[int, bytes] = {}
    for h in heights:
        header = header_at(h)
        if header is None:
            unchecked[h] = "its header is not verified"
        else:
            headers[h] = header
            wanted.append(h)
    fetched = fetch(headers) if headers else {}
    failures: list[str] = []
    for h in wanted:
        got = fetched.get(h, "the server sent nothing")
        if isinstance(got, str):
            unchecked[h] = got
            continue
        coinbase, branch = got
        try:
            # BIP-325: the block's signet solution must satisfy the challenge
            check_signet_solution(headers[h], coinbase, branch, h, challenge)
        except VerificationError as exc:
            failures.append(str(exc))
    if failures:
        heights_text = ", ".join(
            str(h) for h in wanted if any(f"height {h} " in f for f in failures)
        )
        raise VerificationError(
            f"signet block signature check (BIP-325, bad-signet-blksig) fails at height(s) "
            f"{heights_text}: {failures[0]}; the server serves blocks this signet's challenge "
            "rejects (another signet, or a forged chain)"
        )
    if tip_height in unchecked:
        problems.append(
            f"the tip's signet block signature (BIP-325) was not checked: {unchecked[tip_height]}"
        )
    if not unchecked:
        return out
    for s, cs in out.items():
        out[s] = tuple(
            replace(
                c,
                verification="unverified",
                assurance=None,
                problem=f"signet block signature (BIP-325) not checked: {unchecked[c.height]}",
            )
            if c.verification == "spv" and c.height in unchecked
            else c
            for c in cs
        )
    return out


# --- the fetch of coinbase + branch, one per protocol ---------------------------------------


def electrum_coinbases(
    call: Callable[[list[tuple[str, list[Any]]]], list[Reply]],
) -> CoinbaseFetch:
    """Electrum: ``transaction.id_from_pos(h, 0, true)`` (txid and branch), then the coinbase."""

    def fetch(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
        out: dict[int, tuple[bytes, list[str]] | str] = {}
        heights = sorted(headers)
        replies = call([("blockchain.transaction.id_from_pos", [h, 0, True]) for h in heights])
        ids: dict[int, tuple[str, list[str]]] = {}
        for h, r in zip(heights, replies, strict=True):
            res = r.result
            if r.error is not None:
                out[h] = f"no coinbase id from the server ({error_text(r.error)})"
            elif not (isinstance(res, dict) and isinstance(res.get("merkle"), list)):
                out[h] = "the server sent a malformed coinbase id and branch"
            else:
                try:
                    ids[h] = (
                        hex32(res.get("tx_hash"), "coinbase txid"),
                        [hex32(x, "merkle hash") for x in res["merkle"]],
                    )
                except Exception as exc:
                    out[h] = str(exc)
        order = sorted(ids)
        txs = call([("blockchain.transaction.get", [ids[h][0]]) for h in order]) if order else []
        for h, r in zip(order, txs, strict=True):
            raw = _raw(r.result, r.error)
            out[h] = raw if isinstance(raw, str) else (raw, ids[h][1])
        return out

    return fetch


def esplora_coinbases(
    get: Callable[[str], Any],
    many: Callable[[list[Callable[[], Any]]], list[Any]],
) -> CoinbaseFetch:
    """Esplora: ``/block/:hash/txid/0``, then ``/tx/:txid/hex`` and ``/tx/:txid/merkle-proof``.

    The block hash is the verified header's own, not one the server names.

    ``get(path)`` returns the reply (text or JSON) or raises; ``many`` runs jobs in parallel.
    """

    def guarded(path: str) -> Callable[[], Any]:
        def run() -> Any:
            try:
                return get(path)
            except Exception as exc:  # one block not checked is said, not fatal
                return exc

        return run

    def fetch(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
        out: dict[int, tuple[bytes, list[str]] | str] = {}
        heights = sorted(headers)
        ids = many([guarded(f"/block/{header_hash(headers[h])}/txid/0") for h in heights])
        txids: dict[int, str] = {}
        for h, t in zip(heights, ids, strict=True):
            try:
                if isinstance(t, Exception):
                    raise t
                txids[h] = hex32(str(t).strip(), "coinbase txid")
            except Exception as exc:
                out[h] = f"no coinbase id from the server ({exc})"
        order = sorted(txids)
        jobs: list[Callable[[], Any]] = []
        for h in order:
            jobs.append(guarded(f"/tx/{txids[h]}/hex"))
            jobs.append(guarded(f"/tx/{txids[h]}/merkle-proof"))
        got = many(jobs) if jobs else []
        for k, h in enumerate(order):
            text, proof = got[2 * k], got[2 * k + 1]
            raw = _raw(text, text if isinstance(text, Exception) else None)
            if isinstance(raw, str):
                out[h] = raw
                continue
            if isinstance(proof, Exception) or not (
                isinstance(proof, dict)
                and isinstance(proof.get("merkle"), list)
                and proof.get("pos") == 0
                and (not is_int(proof.get("block_height")) or proof["block_height"] == h)
            ):
                out[h] = "the server sent no usable merkle branch for the coinbase"
                continue
            try:
                out[h] = (raw, [hex32(x, "merkle hash") for x in proof["merkle"]])
            except Exception as exc:
                out[h] = str(exc)
        return out

    return fetch


def _raw(result: Any, error: Any) -> bytes | str:
    """A raw transaction's bytes from a hex reply, or why there are none."""
    if error is not None:
        text = error_text(error) if not isinstance(error, Exception) else str(error)
        return f"the server would not send the coinbase ({text})"
    try:
        return bytes.fromhex(str(result).strip())
    except ValueError:
        return "the server sent a coinbase that is not hex"
