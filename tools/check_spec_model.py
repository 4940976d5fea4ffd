"""Compare tools/spec_model.py (the spec written out) with trigger_codec.Decoder on channel_sim.

Usage::

    .venv/bin/python tools/check_spec_model.py [--captures 12] [--streams 16] [--odd 4]

Three sets, fixed seeds: single triggers through a room (AAC 192k on every third), pink or
babble noise at -3 and 0 dB in-band and a microphone at 44.1/48 kHz with a random clock
offset (``--captures`` x 2 profiles x 2 SNRs); 8 s streams with 9-12 triggers of both profiles
0.3-1 s apart, some from the stream's first sample (``--streams``); 3 s streams at 44150,
32050 (odd frame length) and 96000 Hz (``--odd`` per rate). Prints one line per input and the
count of inputs where both report the same detections (channel, seq, profile, start sample,
SNR); exit status 1 if any differs. Offline only (minutes; channel_sim needs ffmpeg and
pyroomacoustics): ``tests/test_codec_spec_vectors.py`` does the same on the vectors and fixtures.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import spec_model  # noqa: E402

from channel_sim import BroadcastCodec, Chain, Mic, Noise, Room, apply_chain  # noqa: E402
from trigger_codec import Decoder, encode  # noqa: E402

TX = 48000


def captures(n: int) -> Iterator[tuple[str, Any, int]]:
    """Single triggers through rooms at -3 / 0 dB."""
    for k in range(n):
        for prof in ("hf", "robust"):
            for snr in (-3.0, 0.0):
                rng = np.random.default_rng(1000 + k)
                w = encode(int(rng.integers(4096)), int(rng.integers(1 << 20)), TX, prof)
                x = np.zeros(int(1.4 * TX), np.float32)
                off = int(0.4 * TX) + int(rng.integers(480))
                x[off : off + w.size] = w
                codec = (BroadcastCodec("aac", 192),) if k % 3 == 0 else ()
                chain = Chain(
                    (
                        *codec,
                        Room(0.3 + 0.1 * (k % 5), 1.0 + 0.5 * (k % 4), seed=k % 16),
                        Noise("pink" if k % 2 else "babble", snr_db=snr),
                        Mic(44100 if k % 2 else 48000, clock_ppm=None),
                    )
                )
                y, sr = apply_chain(x, TX, chain, rng, reference=x.copy())
                yield f"capture {k} {prof} {snr:+g} dB", y, sr


def streams(n: int) -> Iterator[tuple[str, Any, int]]:
    """8 s streams with many triggers of both profiles."""
    for seed in range(n):
        rng = np.random.default_rng(500 + seed)
        x = np.zeros(8 * TX, np.float32)
        pos = 0 if seed % 2 == 0 else int(rng.integers(2000))
        while pos + 24000 < x.size:
            prof = ["hf", "robust"][int(rng.integers(2))]
            w = encode(int(rng.integers(4096)), int(rng.integers(1 << 20)), TX, prof)
            x[pos : pos + w.size] += w
            pos += int(rng.integers(int(0.3 * TX), TX))
        snr = [-3.0, 0.0, 3.0, 10.0][seed % 4]
        chain = Chain(
            (
                Room(0.3 + 0.1 * (seed % 5), 1.0 + 0.5 * (seed % 4), seed=seed % 16),
                Noise("pink", snr_db=snr),
                Mic([44100, 48000][seed % 2], clock_ppm=None),
            )
        )
        y, sr = apply_chain(x, TX, chain, rng, reference=x.copy())
        yield f"stream {seed} {snr:+g} dB", y, sr


def odd_rates(n: int) -> Iterator[tuple[str, Any, int]]:
    """3 s streams at rates with an odd frame length, and 96 kHz."""
    for fs in (44150, 32050, 96000):
        for k in range(n):
            rng = np.random.default_rng(70 + k)
            x = np.zeros(3 * TX, np.float32)
            for at, prof in ((0.2, "hf"), (1.0, "robust"), (1.7, "hf")):
                if fs < 39000 and prof == "hf":
                    continue
                w = encode(int(rng.integers(4096)), int(rng.integers(1 << 20)), TX, prof)
                p = int(at * TX) + int(rng.integers(480))
                x[p : p + w.size] += w
            chain = Chain(
                (
                    Room(0.5, 2.0, seed=k),
                    Noise("pink", snr_db=[0.0, 3.0][k % 2]),
                    Mic(fs, clock_ppm=None),
                )
            )
            y, sr = apply_chain(x, TX, chain, rng, reference=x.copy())
            yield f"rate {fs} {k}", y, sr


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--captures", type=int, default=12)
    ap.add_argument("--streams", type=int, default=16)
    ap.add_argument("--odd", type=int, default=4)
    args = ap.parse_args(argv)
    same = total = triggers = 0
    for gen, n in ((captures, args.captures), (streams, args.streams), (odd_rates, args.odd)):
        for name, audio, sr in gen(n):
            y = np.asarray(audio, np.float32)
            dec = Decoder(sr)
            got = dec.feed(y) + dec.flush()
            a = sorted((d.channel, d.seq, d.profile, round(d.start_s * sr), d.snr_db) for d in got)
            b = sorted(
                (d.channel, d.seq, d.profile, d.start, d.snr_db)
                for d in spec_model.Model(sr).run(y)
            )
            total += 1
            same += a == b
            triggers += len(a)
            print(f"{name:28s} {sr:6d} Hz {len(a):3d} found  {'same' if a == b else 'DIFFER'}")
            if a != b:
                print(f"    Decoder {a}\n    model   {b}")
    print(f"same detections on {same} of {total} inputs ({triggers} detections by the Decoder)")
    return 0 if same == total else 1


if __name__ == "__main__":
    sys.exit(main())
