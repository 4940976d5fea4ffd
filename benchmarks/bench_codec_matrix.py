"""Detection rate of each cell of the codec sweep (tests/test_codec_matrix.py) on unseen streams.

Each cell (profile x codec x room x SNR x clock offset, 144 cells) is run on ``--trials`` further
streams of 5 triggers (``sweep_cell(..., trial=1..T)``; the test itself uses trial 0), and the
floor the test asserts is derived from the count found: the Clopper-Pearson lower bound ``p_lo``
(one-sided 95 %) of the cell's rate, then the largest ``f`` with
``P(Binomial(5, p_lo) < f) <= 1e-3`` (a decoder as good as ``p_lo`` fails the cell's 5-trigger
test at most once in 1,000 streams).

Run: ``flock /tmp/jimaku-bench.lock .venv/bin/python benchmarks/bench_codec_matrix.py``
(~10 min at 6 trials); writes ``bench-out/codec_matrix_rates.json`` and prints the table and the
floors in the form tests/test_codec_matrix.py keeps them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_codec_matrix import SWEEP, sweep_cell

#: chance that a decoder at the cell's lower-bound rate fails the 5-trigger cell
FAIL_PROB = 1e-3
#: confidence of the lower bound of a cell's rate
CONFIDENCE = 0.95


def floor_for(found: int, n: int, per_test: int = 5) -> tuple[float, int]:
    """Lower bound of the rate and the floor for a ``per_test``-trigger cell."""
    p_lo = 0.0 if found == 0 else float(stats.beta.ppf(1 - CONFIDENCE, found, n - found + 1))
    floor = 0
    for f in range(per_test + 1):
        if stats.binom.cdf(f - 1, per_test, p_lo) <= FAIL_PROB:
            floor = f
    return p_lo, floor


def main() -> int:
    """Measure every cell, print and write the rates and floors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=6, help="extra 5-trigger streams per cell")
    ap.add_argument("--out", default="bench-out/codec_matrix_rates.json")
    args = ap.parse_args()
    rows = []
    t0 = time.monotonic()
    for cell in SWEEP:
        found = sent = 0
        for trial in range(1, args.trials + 1):
            f, s = sweep_cell(*cell, trial=trial)
            found, sent = found + f, sent + s
        p_lo, floor = floor_for(found, sent)
        rows.append(
            {"cell": list(cell), "found": found, "sent": sent, "p_lo": p_lo, "floor": floor}
        )
        print(f"{cell!s:55} {found:3d}/{sent:3d}  p_lo {p_lo:5.3f}  floor {floor}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {"trials": args.trials, "seconds": time.monotonic() - t0, "cells": rows}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
