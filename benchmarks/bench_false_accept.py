"""The re-encoding check's false-accept bound, from ideal noise and through the decoder.

The bound in ``trigger_codec/README.md`` (``trigger_codec.bound``) assumes that without a trigger
a symbol's 32 check energies are i.i.d. exponential (Gaussian noise in the band). The decoder's
check energies are ``P / (R/4 + F + 4 w m)``: every bin has its own random denominator (the tail
term ``R`` comes from the bin's own previous frames), so they are a scale mixture, and real
programme is not Gaussian noise. This bench measures the check terms of fixed words on
trigger-free audio streamed through the real decoder front end (white and pink noise, speech-like
programme, music with cymbals, music through AAC 128k, which removes most of the hf band) and
compares, per source:

* the Chernoff bound per decode attempt at ``MIN_Z`` (the terms' moment generating function
  measured on that source instead of the ideal one), and the threshold that source would need
  for ``FALSE_ACCEPT_BUDGET``;
* the measured quantiles of the word statistic ``z`` (mean of 20 terms of the frames a
  candidate uses) against the ideal model's, at levels minutes of audio can show.

Usage::

    .venv/bin/python benchmarks/bench_false_accept.py [--seconds 240]

Prints a table and writes ``bench-out/false_accept.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diag_codec_failures import decode_traced, whole_grid

from channel_sim import make_noise, make_programme
from channel_sim.codec import codec_round_trip
from trigger_codec import framing
from trigger_codec.accept import balance, balanced
from trigger_codec.bound import noise_terms, per_attempt_bound
from trigger_codec.demod import energies
from trigger_codec.framing import check_terms, encode_payload
from trigger_codec.profiles import DATA_SYMBOLS, N_SYMBOLS

SR = 48000
#: quantiles of the word statistic z compared between the sources and the ideal model
Z_QUANTILES = (0.99, 0.999)


def source(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Trigger-free audio at 48 kHz."""
    if kind == "white":
        return (0.01 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    if kind == "pink":
        return (0.03 * make_noise("pink", int(seconds * SR), SR, rng)).astype(np.float32)
    if kind == "music-aac128":
        music = make_programme("music", seconds, SR, rng)
        return codec_round_trip(music, SR, "aac", 128).astype(np.float32)
    return make_programme(kind, seconds, SR, rng).astype(np.float32) * 0.1


def terms_of(x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per profile: (terms of every symbol, z of every candidate) for random fixed words."""
    _, rec = decode_traced(x, SR, SR // 10)
    grid, bands = whole_grid(rec, SR)
    out: dict[str, np.ndarray] = {}
    for b in bands:
        terms, zs = [], []
        # candidates every 2 hops (one symbol): rows overlap between candidates, each row is
        # a different symbol of a different word there; rows whose upper half of the band is
        # nearly empty are left out: the decoder does not decode there (accept.balance)
        rows = np.arange(2 * 8, grid.rows - 2 * N_SYMBOLS - 2, 2)
        decoded = balanced(balance(grid, b, rows))
        gated = int(np.count_nonzero(~decoded))
        for row in rows[decoded].tolist():
            _, ec = energies(grid, b, row, (0,))
            word = encode_payload(int(rng.integers(0, 4096)), int(rng.integers(0, 1 << 20)))
            t = check_terms(ec, word)
            terms.append(t)
            zs.append(float(t.mean()))
        out[b.profile.name] = np.concatenate(terms) if terms else np.zeros(0)
        out[b.profile.name + "/z"] = np.array(zs)
        out[b.profile.name + "/gated"] = np.array([gated / len(rows)])
    return out


def needed_z(terms: np.ndarray, budget: float) -> float:
    """Smallest threshold (to 0.01) whose bound per attempt is within ``budget``."""
    grid = np.arange(0.0, framing.CHECK_CLIP, 0.005)
    ok = np.flatnonzero(per_attempt_bound(grid, terms) <= budget)  # one MGF for the whole grid
    return round(float(grid[ok[0]]), 2) if ok.size else float(framing.CHECK_CLIP)


def summary(terms: np.ndarray) -> dict[str, float]:
    return {
        "bound_at_min_z": per_attempt_bound(framing.MIN_Z, terms),
        "needed_z": needed_z(terms, framing.FALSE_ACCEPT_BUDGET),
    }


def z_quantiles(z: np.ndarray) -> dict[str, float]:
    return {f"q{q:g}": float(np.quantile(z, q)) for q in Z_QUANTILES} | {"max": float(z.max())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=240.0, help="audio per source")
    ap.add_argument(
        "--sources",
        nargs="+",
        default=["white", "pink", "speechlike", "music", "music-aac128"],
    )
    ap.add_argument("--out", default="bench-out/false_accept.json")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(11)
    ideal = noise_terms()
    rows: list[dict[str, Any]] = [
        {
            "source": "ideal (i.i.d. exponential)",
            "profile": "-",
            "symbols": int(ideal.size),
            **summary(ideal),
            "z": z_quantiles(
                noise_terms(200_000 * DATA_SYMBOLS, seed=1).reshape(-1, DATA_SYMBOLS).mean(axis=1)
            ),
        }
    ]
    for kind in args.sources:
        x = source(kind, args.seconds, rng)
        got = terms_of(x, rng)
        for name in ("hf", "robust"):
            terms, z = got[name], got[name + "/z"]
            gated = float(got[name + "/gated"][0])
            if terms.size < 20_000:  # (almost) every row gated: too few to estimate anything
                rows.append({"source": kind, "profile": name, "symbols": 0, "gated": gated})
                continue
            rows.append(
                {
                    "source": kind,
                    "profile": name,
                    "symbols": int(terms.size),
                    "gated": gated,
                    "term_mean": float(terms.mean()),
                    "term_var": float(terms.var()),
                    **summary(terms),
                    "z": z_quantiles(z),
                }
            )
        print(f"{kind}: done", flush=True)
    mz, budget = framing.MIN_Z, framing.FALSE_ACCEPT_BUDGET
    print(
        f"\nfalse accepts per decode attempt (union bound over 2^32 words) at MIN_Z = {mz:g} "
        f"(check terms: trim {framing.CHECK_TRIM}, clip {framing.CHECK_CLIP:g}), and the "
        f"threshold each source needs for the budget {budget:g}"
    )
    head = f"{'source':28s} {'profile':7s} {'symbols':>8s} {'bound':>9s} {'needs z':>7s}"
    print(head + "  word z: " + " / ".join(f"q{q:g}" for q in Z_QUANTILES) + " / max")
    for r in rows:
        if not r["symbols"]:
            print(
                f"{r['source']:28s} {r['profile']:7s} {r['gated']:.0%} of rows have an empty "
                "upper half of the band: (almost) never decoded"
            )
            continue
        tails = " / ".join(f"{v:.2f}" for v in r["z"].values())
        print(
            f"{r['source']:28s} {r['profile']:7s} {r['symbols']:8d} "
            f"{r['bound_at_min_z']:9.1e} {r['needed_z']:7.2f}"
            + f"  {tails}"
            + (f"  ({r['gated']:.0%} of rows not decoded)" if r.get("gated") else "")
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cfg = {"min_z": mz, "budget": budget, "trim": framing.CHECK_TRIM, "clip": framing.CHECK_CLIP}
    Path(args.out).write_text(json.dumps({**cfg, "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
