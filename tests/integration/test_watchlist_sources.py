"""A watch list over a network source: asked in batches, the snapshot's (and Core's) answer.

The Esplora test server serves Bitcoin Core's recorded regtest chain; every coin it reports is
proven (merkle branch into proof-of-work-checked headers), so the list's coins are ``spv`` here
and ``node`` from the snapshot, and the same coins with the same lines.
"""

from __future__ import annotations

from typing import Any

from conftest import DATA, SNAPSHOT, coin_key

from utxo_truth import EsploraSource, read_watch_list, scan
from utxo_truth.discovery import discover_watch_list


def test_a_watch_list_over_esplora_in_batches_is_the_snapshot_answer(esplora: Any) -> None:
    w = read_watch_list(DATA / "watchlist-regtest.txt", "regtest")
    src = EsploraSource(esplora.url, network="regtest", parallel=4, backoff=0.05)
    seen: list[tuple[int, int]] = []
    by_server = discover_watch_list(w, src, batch=2, progress=lambda d, t: seen.append((d, t)))
    assert [d for d, _ in seen] == [0, 2, 2, 4, 4, 6] and {t for _, t in seen} == {6}  # 3 asks
    by_snapshot = scan(watch_list=w, network="regtest", source=f"snapshot:{SNAPSHOT}")
    assert by_server.block == by_snapshot.block
    assert [coin_key(u) for u in by_server.utxos] == [coin_key(u) for u in by_snapshot.utxos]
    assert [u.origin for u in by_server.utxos] == [u.origin for u in by_snapshot.utxos]
    assert {u.verification for u in by_server.utxos} == {"spv"}
    t = by_server.targets[0]
    assert (t.kind, t.scripts_watched, t.scripts_holding) == ("list", 6, 4)
    assert by_server.complete
