"""Record what trigger_codec's decoder reports, as the golden reference its restructuring keeps.

Sources: the programme of ``benchmarks/bench_codec_cost.py`` (60 s at 44.1 and 48 kHz, seed 1,
a trigger of each profile every 1.5 s, made exactly as that bench makes it), 30 s of it under
white noise at ~-10 dB in-band SNR (the near-miss paths), and every file of
``audio_fixtures/manifest.json`` (read with :func:`audio_io.read_audio`, channels averaged to
mono as ``jimaku decode`` does). Each is streamed through a fresh :class:`trigger_codec.Decoder`
in blocks of 1, 256, 4097 and 48000 samples, then ``flush()``; every detection is recorded as
``[profile, channel, seq, start sample, snr_db]`` (start sample: ``start_s`` times the rate,
an integer by construction; SNR already rounded to 0.1 dB by the decoder).

Usage::

    .venv/bin/python tools/make_golden.py            # rewrite tests/golden/codec_golden.json
    .venv/bin/python tools/make_golden.py --check    # compare instead (exit 1 on a difference)
    .venv/bin/python tools/make_golden.py --blocks 256 4097 48000 --check   # skip block size 1

``tests/test_codec_golden.py`` runs the comparison (block size 1 only with
``JIMAKU_GOLDEN_FULL=1``: it feeds ~7 million one-sample blocks).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_codec_cost import RATES, programme  # noqa: E402

from audio_io import read_audio  # noqa: E402
from trigger_codec import Decoder, Detection  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "codec_golden.json"
FIXTURES = ROOT / "audio_fixtures"
BLOCKS = (1, 256, 4097, 48000)
#: bench_codec_cost's defaults: --seconds 60 --seed 1
PROGRAMME_S = 60.0
PROGRAMME_SEED = 1
NOISY_SEED = 2
NOISY_S = 30.0
NOISY_RMS = 0.55


def sources() -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield ``(name, mono float32 samples, sample rate)`` of every golden source."""
    rng = np.random.default_rng(PROGRAMME_SEED)
    for sr in RATES:  # one generator for both rates, in this order, as the bench's cpu_table
        x, _ = programme(sr, PROGRAMME_S, rng)
        yield f"bench_programme_{sr}", x, sr
    # the same kind of programme under white noise at ~-10 dB in-band SNR: about a third of
    # its triggers are lost, so the near-miss paths (retry stages, half-phase frames, extra
    # phase) run and their outcome is recorded too
    rng = np.random.default_rng(NOISY_SEED)
    x, _ = programme(48000, NOISY_S, rng)
    x = (x + NOISY_RMS * rng.normal(0.0, 1.0, x.size)).astype(np.float32)
    yield "bench_programme_48000_noisy", x, 48000
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    for entry in manifest["files"]:
        data, sr = read_audio(FIXTURES / entry["file"])
        mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
        yield entry["file"], mono, sr


def record(dets: Sequence[Detection], sample_rate: int) -> list[list[Any]]:
    """Return the detections as ``[profile, channel, seq, start sample, snr_db]`` rows."""
    return [[d.profile, d.channel, d.seq, round(d.start_s * sample_rate), d.snr_db] for d in dets]


def decode(x: np.ndarray, sample_rate: int, block: int) -> list[list[Any]]:
    """Stream ``x`` through a fresh decoder in ``block``-sample blocks, then flush."""
    dec = Decoder(sample_rate)
    dets: list[Detection] = []
    for i in range(0, x.size, block):
        dets += dec.feed(x[i : i + block])
    dets += dec.flush()
    return record(dets, sample_rate)


def build(blocks: Sequence[int]) -> dict[str, Any]:
    """Decode every source at every block size of ``blocks``."""
    out: dict[str, Any] = {}
    for name, x, sr in sources():
        out[name] = {"sample_rate": sr, "by_block": {str(b): decode(x, sr, b) for b in blocks}}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check the golden reference file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, nargs="+", default=list(BLOCKS))
    ap.add_argument("--check", action="store_true", help="compare with the committed file")
    ap.add_argument("--out", type=Path, default=GOLDEN)
    args = ap.parse_args(argv)
    got = build(args.blocks)
    if args.check:
        want = json.loads(args.out.read_text())["sources"]
        bad = [
            f"{name} block {b}: {rows} != {want[name]['by_block'][b]}"
            for name, cell in got.items()
            for b, rows in cell["by_block"].items()
            if rows != want[name]["by_block"][b]
        ]
        print("\n".join(bad) or f"golden reproduced: {len(got)} sources x {args.blocks}")
        return 1 if bad else 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "about": (
            "What trigger_codec.Decoder reports, recorded by tools/make_golden.py: per source "
            "and block size, [profile, channel, seq, start sample, snr_db] per detection."
        ),
        "sources": got,
    }
    text = json.dumps(doc, indent=1)
    # one detection per line keeps the file short and its diffs readable
    args.out.write_text(_compact(text) + "\n")
    print(f"wrote {args.out}: {len(got)} sources x {args.blocks}")
    return 0


def _compact(text: str) -> str:
    """Put each innermost list of an indented JSON text on one line (no string holds a comma)."""
    return re.sub(
        r"\[\s*([^\[\]{}]*?)\s*\]",
        lambda m: (
            "[" + ", ".join(p.strip() for p in m.group(1).split(",")) + "]"
            if m.group(1).strip()
            else "[]"
        ),
        text,
    )


if __name__ == "__main__":
    raise SystemExit(main())
