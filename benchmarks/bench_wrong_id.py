"""Wrong IDs on real triggers: how many decoded words could slip past the CRC near a trigger.

The false-accept bound (``trigger_codec/README.md``, ``trigger_codec.bound``) covers candidates
*without* a trigger: there the check energies are noise and a word reaches ``z >= MIN_Z`` with a
computed, tiny probability. Near a real trigger they are not noise: a word that shares some of
the trigger's tones (a neighbour of the sent word, or a decode a few hops off the trigger's
phase, whose data frames hold the trigger's tones) can reach ``MIN_Z``, and then only the CRC-16
stands between it and a wrong ID. This bench measures that exposure on the channel bench's own
segments (``bench_channel.Segment``: same seeds, rooms, chains and noise):

* every word the decoder tries (each stage's list) whose CRC fails is re-encoded and its ``z``
  computed on the candidate's check energies: had its CRC matched by chance, would it have been
  accepted?
* patterns the CRC always catches are not counted: a word whose 48 message bits differ from the
  nearest sent ID only within 16 consecutive bits (CRC-16 detects every burst of <= 16 bits).
  Candidates the rival-preamble rule refuses are not decoded at all, so their words never
  appear (the trace's ``PhaseDecoded`` events count them: ``rival phases``).

Each remaining word is a ~2^-16 chance of a wrong ID (an error pattern the CRC does not always
catch passes it with probability ~2^-16), so the estimated wrong IDs per trigger = remaining
words x 2^-16 / triggers sent. The bench also counts the wrong IDs actually reported.

The words come from the decoder's trace (``Decoder(sr, trace=...)``, :mod:`trigger_codec.trace`:
each ``DecodeAttempt`` lists the words of the list decoder with their ``z`` on the attempt's
check energies); decoding itself is unchanged.

Usage::

    .venv/bin/python benchmarks/bench_wrong_id.py                  # hf AAC 192k, robust MP3 128k
    .venv/bin/python benchmarks/bench_wrong_id.py --n 200 --snr -3 0 3

Prints a table and writes ``bench-out/wrong_id.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_channel import SR_TX, Segment, jimaku_profiles

from channel_sim.room import SPEED_OF_SOUND_M_S
from trigger_codec import Decoder
from trigger_codec import framing as fr
from trigger_codec.trace import DecodeAttempt, PhaseDecoded, TraceEvent

#: CRC-16 detects every error burst up to this many bits
_CRC_BURST = 16
_SNRS = (-3.0, 0.0, 3.0, 6.0, 10.0)  # the bench's SNR list: segments draw noise for each in turn


def _bits(message: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(message, dtype=np.uint8))


class _Probe:
    """A trace callback: counts the words a decoder tries and classifies the CRC failures."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sent: list[np.ndarray] = []  # message bits of the segment's sent IDs

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, PhaseDecoded) and event.outcome == "rival":
            self.counts["rival phases (not decoded)"] += 1
        if not isinstance(event, DecodeAttempt):
            return
        for word in event.words:
            if word.ident is not None:
                continue  # the accepted word (or one the z check refused)
            self.counts["words failing the CRC"] += 1
            if word.z < fr.MIN_Z:
                continue
            self.counts["of them z >= MIN_Z"] += 1
            diff = [np.flatnonzero(word.bits != s) for s in self.sent]
            nearest = min(diff, key=len)
            if nearest.size and nearest[-1] - nearest[0] < _CRC_BURST:
                self.counts["  always caught by the CRC (burst <= 16 bits)"] += 1
                continue
            self.counts["  remaining (2^-16 chance each)"] += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    probe = _Probe()
    profiles, why = jimaku_profiles()
    if why:
        raise SystemExit(why)
    out: dict[str, Any] = {}
    for pname, chain in args.cells:
        profile = next(p for p in profiles if p.name == pname)
        for snr in args.snr:
            probe.counts.clear()
            sent = wrong = found = 0
            for seg in range(int(np.ceil(args.n / 20))):
                k = min(20, args.n - 20 * seg)
                sg = Segment.make(profile, chain, seg, k, args.trigger_dbfs, args.seed)
                probe.sent = [_bits(fr.pack(c, s)) for c, s in sg.ids]
                for s in _SNRS:  # every SNR in the bench's order keeps its random draws
                    res = sg.at_snr(s, args.max_ppm)
                    if s == snr:
                        break
                dec = Decoder(res.sample_rate_hz, trace=probe)
                block = int(0.01 * res.sample_rate_hz)
                dets = []
                for i in range(0, res.audio.size, block):
                    dets += dec.feed(res.audio[i : i + block])
                dets += dec.flush()
                delay = sg.distance_m / SPEED_OF_SOUND_M_S
                t0 = [(st / SR_TX + delay) * res.time_scale for st in sg.starts]
                for d in dets:
                    hit = any(
                        (d.channel, d.seq) == ident and abs(d.start_s - t) < 0.3
                        for ident, t in zip(sg.ids, t0, strict=True)
                    )
                    found += hit
                    wrong += not hit
                sent += k
            remaining = probe.counts["  remaining (2^-16 chance each)"]
            cell = {
                "sent": sent,
                "found": found,
                "wrong_ids_reported": wrong,
                "words": dict(probe.counts),
                "estimated_wrong_ids_per_trigger": remaining / 2**16 / sent,
            }
            out[f"{pname}/{chain}/{snr:g}"] = cell
            print(
                f"{pname:7s} {chain:8s} {snr:+5.0f} dB  found {found:4d}/{sent:<4d} wrong "
                f"{wrong:2d}  CRC-failed words {probe.counts['words failing the CRC']:7d}  "
                f"z>=MIN_Z {probe.counts['of them z >= MIN_Z']:6d}  burst<=16 "
                f"{probe.counts['  always caught by the CRC (burst <= 16 bits)']:4d}  rival phases "
                f"{probe.counts['rival phases (not decoded)']:5d}  remaining "
                f"{remaining:5d}  est. wrong/trigger {cell['estimated_wrong_ids_per_trigger']:.1e}",
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="triggers per cell")
    ap.add_argument("--snr", type=float, nargs="+", default=[-3.0, 0.0, 3.0])
    ap.add_argument(
        "--cells",
        nargs="+",
        default=["hf/aac192", "robust/mp3-128"],
        help="profile/chain pairs",
    )
    ap.add_argument("--trigger-dbfs", type=float, default=-26.0)
    ap.add_argument("--max-ppm", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="bench-out/wrong_id.json")
    args = ap.parse_args(argv)
    args.cells = [tuple(c.split("/")) for c in args.cells]
    bad = [s for s in args.snr if s not in _SNRS]
    if bad:
        ap.error(f"--snr must be among the channel bench's {_SNRS}, got {bad}")
    out = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "cells": out}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
