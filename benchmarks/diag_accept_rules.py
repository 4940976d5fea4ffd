"""Which statistic of a decoded word separates real triggers from the fuzz bench's false accepts.

Two sets of words, both through the real decoder with a ``trace=`` hook:

* *fuzz*: every list-decoder word whose ``z`` passes ``MIN_Z`` (whatever its CRC) on
  ``bench_decoder_fuzz`` blocks; each is a 2^-16 chance of a false detection, so a rule's
  expected false detections per 10^6 blocks = words it still passes / 2^16 / (blocks / 10^6)
  (far less scatter than counting the few false detections themselves);
* *real*: the accepted word of every real trigger decoded in channel-bench segments
  (``bench_channel.Segment``, same seeds as the channel bench).

For each candidate rule (a threshold on one statistic of the word's 20 check terms, ranks or
search depth) it prints the expected false detections left and the real triggers lost.

Usage::

    .venv/bin/python benchmarks/diag_accept_rules.py [--blocks 60000] [--seed 5] [--segments 3]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_decoder_fuzz as bf
from bench_channel import Segment, jimaku_profiles

from trigger_codec import Decoder
from trigger_codec import framing as fr
from trigger_codec import trace as tr

CELLS = ("hf/aac192", "hf/mp3-128", "robust/mp3-128", "robust/aac128")
SNRS = (-6.0, -3.0, 0.0)


def _word(ec: npt.NDArray[np.float64], bits: npt.NDArray[np.int64], depth: int) -> dict[str, Any]:
    """Statistics of one word on its attempt's check energies ``ec`` (20, 32)."""
    message = bytes(np.packbits(bits.astype(np.uint8)).tolist())
    tones = fr.to_symbols(fr.code_bits(message))
    terms = fr.check_terms(ec, tones)
    rank = (ec > ec[np.arange(20), tones][:, None]).sum(axis=1)
    best = fr.check_terms(ec, ec.argmax(axis=1))  # each row's largest term
    return {
        "z": float(terms.mean()),
        "gap": float(best.mean() - terms.mean()),
        "top1": int((rank == 0).sum()),
        "top3": int((rank < 3).sum()),
        "terms_ge1": int((terms >= 1.0).sum()),
        "depth": depth,
    }


def _depth(e: tr.DecodeAttempt, position: int) -> int:
    """0 for the Viterbi word of stage 0 on the regular frames, else 1 (a deeper search)."""
    return int(e.stage > 0 or e.half or position > 0)


def fuzz_words(blocks: int, seed: int) -> list[dict[str, Any]]:
    """Return the words passing ``MIN_Z`` in a fuzz run without real triggers or huge blocks.

    The invalid blocks stay in (refused, they feed nothing): per 10^6 blocks the figures are
    those of ``bench_decoder_fuzz.py --without huge``.
    """
    out: list[dict[str, Any]] = []

    class Witness(bf._Witness):
        def __call__(self, event: tr.TraceEvent) -> None:
            super().__call__(event)
            if isinstance(event, tr.DecodeAttempt):
                for i, w in enumerate(event.words):
                    if w.z >= fr.MIN_Z:
                        out.append(_word(event.check_energies, w.bits, _depth(event, i)))

    bf._Witness = Witness  # type: ignore[misc]
    # the bench's mixture (`--without huge`) less the real triggers, whose own words would count
    kinds = tuple(k for k in bf.WEIGHTS if k not in ("flipped_trigger", "clean_trigger", "huge"))
    bf.fuzz(blocks, seed, kinds=kinds, explain=True)
    return out


def real_words(segments: int) -> list[dict[str, Any]]:
    """Return the accepted word of each real trigger decoded in the channel-bench segments."""
    out: list[dict[str, Any]] = []
    profiles, why = jimaku_profiles()
    if why:
        raise SystemExit(why)
    for cell in CELLS:
        pname, chain = cell.split("/")
        profile = next(p for p in profiles if p.name == pname)
        for seg in range(segments):
            sg = Segment.make(profile, chain, seg, 20, -26.0, 1)
            sent = set(sg.ids)

            def probe(event: tr.TraceEvent, sent: set[tuple[int, int]] = sent) -> None:
                if isinstance(event, tr.DecodeAttempt) and event.outcome == "accepted":
                    last = event.words[-1]
                    if last.ident in sent:
                        d = _depth(event, len(event.words) - 1)
                        out.append(_word(event.check_energies, last.bits, d))

            for snr in SNRS:
                res = sg.at_snr(snr, 200.0)
                dec = Decoder(res.sample_rate_hz, trace=probe)
                step = res.sample_rate_hz // 100
                for i in range(0, res.audio.size, step):
                    dec.feed(res.audio[i : i + step])
                dec.flush()
            print(f"  {cell} segment {seg}: {len(out)} real words", file=sys.stderr, flush=True)
    return out


RULES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "z >= MIN_Z (the decoder now)": lambda w: True,
    "+ strongest tone in >= 10 symbols": lambda w: w["top1"] >= 10,
    "+ among the 3 strongest in >= 11 symbols": lambda w: w["top3"] >= 11,
    "+ term >= 1 in >= 12 symbols": lambda w: w["terms_ge1"] >= 12,
    "+ z within 2.5 of the best tone sequence's": lambda w: w["gap"] <= 2.5,
    "+ stage 0, regular frames, Viterbi word only": lambda w: w["depth"] == 0,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--segments", type=int, default=3, help="20-trigger segments per cell")
    args = ap.parse_args()
    fz = fuzz_words(args.blocks, args.seed)
    real = real_words(args.segments)
    per = 1e6 / args.blocks / 2**16
    print(f"{len(fz)} fuzz words pass MIN_Z in {args.blocks:,} blocks; {len(real)} real triggers")
    print(f"{'rule':<48}{'false / 10^6 blocks':>20}{'real lost':>11}")
    for name, rule in RULES.items():
        left = sum(rule(w) for w in fz) * per
        lost = sum(not rule(w) for w in real)
        print(f"{name:<48}{left:>20.2f}{lost:>7} / {len(real)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
