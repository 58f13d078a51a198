"""Start-up cost of the command line (issue 19 item 2: "the import kept light").

Each figure is one whole fresh process, the median of ``--runs`` runs; the variants are run in
turn inside every round (ours, the peer, a bare ``python -c pass``), so a loaded machine slows
them alike. Wall time and CPU time (user + system, of the child) are both shown; the CPU time
is the steadier of the two on a shared machine.

* ``python -c "import utxo_truth.cli"`` and ``python -c "import utxo_truth"``, and how many
  modules each leaves in ``sys.modules``;
* the whole no-coin CLI call: ``scan --snapshot F --network regtest --file ADDR --json`` of one
  address that holds nothing (a full pass over the 1,000,000-coin file, nothing matched), and
  the modules it loaded;
* the whole 100-script call (40,000 matched coins, bench_snapshot_matches.py's shape).

The peer is the code before this work: ``git worktree add /tmp/peer fc909b0`` with the compiled
scanner copied in (``cp src/utxo_truth/_snapscan*.so /tmp/peer/src/utxo_truth/``), given as
``--peer /tmp/peer/src`` (put first on ``PYTHONPATH``). Without ``--peer`` only ours and bare
Python are run. Bytecode caching is on (as after ``pip install``) unless ``--no-pyc``
(``PYTHONDONTWRITEBYTECODE=1``: every module compiled from source at each start).

Run: ``python benchmarks/bench_startup.py [--peer /tmp/peer/src] [--runs 9] [--no-pyc]``
(the snapshot and address file are bench_snapshot_matches.py's, made in .bench-data/ if absent).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from bench_snapshot_matches import address_file, holder_scripts, write_file

NOBODY = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"  # holds nothing in the bench file
COUNT = "import sys; {}; print(len(sys.modules))"
# the floor of any start that builds a pydantic model: its import and one model, validated
PYDANTIC = (
    "from pydantic import BaseModel, StrictInt\nclass M(BaseModel):\n    x: StrictInt\nM(x=1)"
)
CALL = (  # the console script's own entry point (it turns the cyclic GC off for a scan)
    "import atexit, sys; atexit.register(lambda: print(len(sys.modules), file=sys.stderr)); "
    "from utxo_truth.cli import run; run()"
)


def child(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one process, and its stderr (stdout is dropped)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(argv)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, err


def count(code: str, env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-c", COUNT.format(code)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--peer", help="the src directory of the code to compare with")
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--no-pyc", action="store_true", help="PYTHONDONTWRITEBYTECODE=1")
    p.add_argument("--skip-matches", action="store_true", help="no 40,000-coin call")
    a = p.parse_args()
    data = ROOT / ".bench-data"
    data.mkdir(exist_ok=True)
    snap = data / "matches-1m.dat"
    if not snap.exists():
        write_file(snap)
    a100 = data / "matches-100.txt"
    if not a100.exists():
        address_file(a100, holder_scripts()[:100])
    nobody = data / "startup-nobody.txt"
    nobody.write_text(NOBODY + "\n")

    base = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    if a.no_pyc:
        base["PYTHONDONTWRITEBYTECODE"] = "1"
    envs = {"ours": {**base, "PYTHONPATH": str(ROOT / "src")}}
    if a.peer:
        envs["peer"] = {**base, "PYTHONPATH": str(Path(a.peer).resolve())}
    scan = ["scan", "--snapshot", str(snap), "--network", "regtest", "--json", "--file"]
    cases: dict[str, list[str]] = {
        "import utxo_truth.cli": ["-c", "import utxo_truth.cli"],
        "import utxo_truth": ["-c", "import utxo_truth"],
        "no-coin scan (whole CLI)": ["-c", CALL, *scan, str(nobody)],
    }
    if not a.skip_matches:
        cases["100 scripts, 40,000 coins (whole CLI)"] = ["-c", CALL, *scan, str(a100)]

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (shared with other jobs), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; bytecode cache "
        f"{'off' if a.no_pyc else 'on'}; median of {a.runs} runs, variants alternating"
    )
    for name, env in envs.items():  # warm: bytecode written, page cache filled
        for argv in cases.values():
            child([sys.executable, *argv], env)
        print(
            f"{name}: import utxo_truth.cli leaves {count('import utxo_truth.cli', env)} modules, "
            f"import utxo_truth {count('import utxo_truth', env)}"
        )
    print(f"bare python -c pass: {count('pass', base)} modules")

    refs = {"bare python -c pass": "pass", "pydantic alone (import, 1 model)": PYDANTIC}
    ref_times: dict[str, list[tuple[float, float]]] = {name: [] for name in refs}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    loaded: dict[tuple[str, str], str] = {}
    for _ in range(a.runs):
        for ref, code in refs.items():
            ref_times[ref].append(child([sys.executable, "-c", code], base)[:2])
        for case, argv in cases.items():
            for name, env in envs.items():
                wall, cpu, err = child([sys.executable, *argv], env)
                times.setdefault((case, name), []).append((wall, cpu))
                loaded[case, name] = err.strip().splitlines()[-1] if err.strip() else ""

    def med(rows: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)

    bw, bc = med(ref_times["bare python -c pass"])
    for ref in refs:
        w, c = med(ref_times[ref])
        print(f"{ref:38} wall {w * 1e3:6.0f} ms  cpu {c * 1e3:6.0f} ms")
    for case in cases:
        for name in envs:
            w, c = med(times[case, name])
            mods = f"  {loaded[case, name]} modules" if loaded[case, name] else ""
            print(
                f"{case:32} {name:5}  wall {w * 1e3:6.0f} ms  cpu {c * 1e3:6.0f} ms  "
                f"(above bare python: wall {(w - bw) * 1e3:5.0f} ms, cpu {(c - bc) * 1e3:5.0f} ms)"
                f"{mods}"
            )
        if "peer" in envs:
            (ow, oc), (pw, pc) = med(times[case, "ours"]), med(times[case, "peer"])
            print(
                f"{'':32} peer/ours  wall {pw / ow:.2f}x  cpu {pc / oc:.2f}x; above bare python: "
                f"wall {(pw - bw) / max(ow - bw, 1e-9):.2f}x  cpu {(pc - bc) / max(oc - bc, 1e-9):.2f}x"
            )


if __name__ == "__main__":
    main()
