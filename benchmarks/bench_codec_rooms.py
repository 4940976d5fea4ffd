"""Quick, seeded robustness bench of trigger_codec through rooms, whole chains and band noise.

Usage: ``.venv/bin/python benchmarks/bench_codec_rooms.py [--n 12] [--seed 7] [--only room]``

Cells (each: ``--n`` triggers with random IDs, in streams of 4 triggers over a programme):

* ``room``: ``channel_sim.Room`` alone, RT60 0.2 s / 1 m, 0.4 s / 2 m, 0.7 s / 4 m (the room's
  position seed is the stream index, 0..15), both profiles, 48 kHz, speech-like programme.
* ``chain``: the presets of the failing matrix cells (``living-room`` hf, ``kitchen`` and
  ``radio-mp3`` robust) at in-band SNR 6 and 0 dB, music programme; and the matrix's
  ``aac192 + room 0.4 s/2 m + mic 44.1 kHz 100 ppm`` chain (hf) at both transmit rates.
* ``noise``: band-limited white noise at in-band SNR -3 and -6 dB, both profiles.

A trigger is *found* if its ID is decoded within 60 ms of its expected start; any other ID is
*wrong*. Expected IDs and positions come from how the streams were built, never from the decoder.
Prints a table and writes ``bench-out/codec_rooms.json``. Not a timing benchmark (no lock needed,
but it is CPU-heavy: ~1-2 min at ``--n 12``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

import trigger_codec
from channel_sim import (
    PRESETS,
    BroadcastCodec,
    Chain,
    Mic,
    Noise,
    Room,
    apply_chain_detailed,
    make_programme,
)
from channel_sim.room import SPEED_OF_SOUND_M_S

__all__ = ["main"]

TRIGGER_DBFS = -26.0  # trigger RMS over its airtime, as in tests/test_codec_matrix.py
PER_STREAM = 4


def _stream(
    profile: str, sr: int, n: int, rng: np.random.Generator, programme: str
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float]]]:
    waves, sent, pos = [], [], int(0.6 * sr)
    for _ in range(n):
        c, s = int(rng.integers(0, 4096)), int(rng.integers(0, 1 << 20))
        w = trigger_codec.encode(c, s, sr, profile).astype(np.float64)
        active = np.abs(w) > 1e-4 * np.max(np.abs(w))
        w *= 10 ** (TRIGGER_DBFS / 20) / np.sqrt(np.mean(w[active] ** 2))
        sent.append((c, s, pos / sr))
        waves.append((pos, w))
        pos += len(w) + int(rng.uniform(0.5, 0.9) * sr)
    total = pos + int(0.5 * sr)
    ref = np.zeros(total)
    for p, w in waves:
        ref[p : p + len(w)] += w
    prog = make_programme(programme, total / sr, sr, rng)
    mix = np.clip(prog + ref, -1, 1).astype(np.float32)
    return mix, ref.astype(np.float32), sent


def _run_cell(
    chain_of: object, profile: str, sr: int, n: int, programme: str, rng: np.random.Generator
) -> dict[str, int]:
    found = wrong = total = 0
    for k in range((n + PER_STREAM - 1) // PER_STREAM):
        chain = chain_of(k)  # type: ignore[operator]
        m = min(PER_STREAM, n - k * PER_STREAM)
        mix, ref, sent = _stream(profile, sr, m, rng, programme)
        res = apply_chain_detailed(mix, sr, chain, rng, reference=ref, reference_after_noise=False)
        delay = sum(s.distance_m / SPEED_OF_SOUND_M_S for s in chain.stages if isinstance(s, Room))
        dec = trigger_codec.Decoder(res.sample_rate_hz)
        dets = dec.feed(res.audio) + dec.flush()
        expected = {(c, s): (t + delay) * res.time_scale for c, s, t in sent}
        got = set()
        for d in dets:
            key = (d.channel, d.seq)
            if key in expected and abs(d.start_s - expected[key]) < 0.06 and key not in got:
                got.add(key)
            elif key not in expected:
                wrong += 1
        found += len(got)
        total += m
    return {"found": found, "wrong": wrong, "total": total}


def cells(which: set[str]) -> list[tuple[str, str, int, str, object]]:
    """Return (group, label, sample rate, programme, chain factory) per cell and profile."""
    out: list[tuple[str, str, int, str, object]] = []
    if "room" in which:
        for rt, dist in ((0.2, 1.0), (0.4, 2.0), (0.7, 4.0)):
            for prof in ("hf", "robust"):
                out.append(
                    (
                        "room",
                        f"room{rt:g}s{dist:g}m/{prof}",
                        48000,
                        "speechlike",
                        lambda k, rt=rt, dist=dist: Chain((Room(rt, dist, k % 16),)),
                    )
                )
    if "chain" in which:
        for preset, prof in (("living-room", "hf"), ("kitchen", "robust"), ("radio-mp3", "robust")):
            for snr in (6.0, 0.0):
                out.append(
                    (
                        "chain",
                        f"{preset}@{snr:g}dB/{prof}",
                        48000,
                        "music",
                        lambda k, p=preset, s=snr: PRESETS[p].with_snr(s),
                    )
                )
        for sr in (44100, 48000):
            out.append(
                (
                    "chain",
                    f"aac192+room0.4s2m+mic@{sr}/hf",
                    sr,
                    "speechlike",
                    lambda k: Chain(
                        (BroadcastCodec("aac", 192), Room(0.4, 2.0, 1 + k % 16), Mic(44100, 100.0))
                    ),
                )
            )
    if "noise" in which:
        for snr in (-3.0, -6.0):
            for prof in ("hf", "robust"):
                out.append(
                    (
                        "noise",
                        f"white{snr:g}dB/{prof}",
                        48000,
                        "speechlike",
                        lambda k, s=snr: Chain((Noise("white", s),)),
                    )
                )
    return out


def main() -> None:
    """Run the cells, print found/wrong/total per cell, write bench-out/codec_rooms.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="triggers per cell")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--only",
        action="append",
        choices=["room", "chain", "noise"],
        help="run only these groups (repeatable)",
    )
    ap.add_argument("--out", default="bench-out/codec_rooms.json")
    args = ap.parse_args()
    which = set(args.only or ["room", "chain", "noise"])
    rows: list[dict[str, object]] = []
    t0 = time.time()
    print(f"{'cell':40} {'found':>5} {'wrong':>5} {'total':>5}")
    for group, label, sr, programme, factory in cells(which):
        prof = label.rsplit("/", 1)[1]
        rng = np.random.default_rng([args.seed, len(rows)])
        r = _run_cell(factory, prof, sr, args.n, programme, rng)
        rows.append({"group": group, "cell": label, **r})
        print(f"{label:40} {r['found']:5d} {r['wrong']:5d} {r['total']:5d}", flush=True)
    found = sum(int(r["found"]) for r in rows)  # type: ignore[call-overload]
    total = sum(int(r["total"]) for r in rows)  # type: ignore[call-overload]
    wrong = sum(int(r["wrong"]) for r in rows)  # type: ignore[call-overload]
    print(f"{'all':40} {found:5d} {wrong:5d} {total:5d}   ({time.time() - t0:.0f} s)")
    out = pathlib.Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "cells": rows,
                "found": found,
                "wrong": wrong,
                "total": total,
                "airtime_s": trigger_codec.airtime_s("hf"),
                "args": vars(args),
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
