"""Fuzz the streaming decoder: random and adversarial blocks -> 0 crashes, 0 false detections.

Feeds ``--blocks`` blocks (default 10^6) to one :class:`trigger_codec.Decoder` per sample rate
(44100 and 48000 Hz, half the blocks each), through the public API only (``Decoder.feed``,
``flush``, ``encode``, ``PROFILES``, ``AudioFormatError``). Every block is drawn from one of these
kinds, with a random length (0 and 1 samples included; log-uniform up to 8192):

* valid samples in every accepted dtype (float32, float64, int16; also big-endian, strided and
  read-only arrays): Gaussian noise at -120 to +6 dBFS (peaks within the decoder's +-16),
  denormals, DC steps, alternating patterns (+a/-a and runs of 2-64),
  full-scale int16 square waves, silence, tones on every candidate bin of each profile (steady,
  or hopping every symbol like a trigger with random symbols), and frames of a real trigger
  (``encode``) as int16 with random bits flipped in up to 5 % of the samples;
* invalid blocks: NaN/+inf/-inf in a float block, huge finite values (1e30 in float32, 1e300
  in float64: beyond the +-16 a float sample may have), unsupported dtypes (int32, uint8, float16,
  complex64, bool, object), 2-D and 0-D arrays, lists and None.

A crash is any exception from a valid block, or from an invalid block anything but
``AudioFormatError`` (which must leave the decoder usable: the next block is fed as usual).
A false detection is any detection whose (channel, seq) is not one of the real triggers fed so
far (each carries its own ID). Memory: the process RSS (psutil) after 10 % of the blocks and at
the end; flat means it grew by less than ``--max-growth-mb``.

Usage::

    .venv/bin/python benchmarks/bench_decoder_fuzz.py [--blocks 1000000] [--seed 1] [--without KIND]
        [--only KIND] [--explain]

``--explain`` decodes with a ``trace=`` witness (slower, ~2x): each false detection is listed
with the share of each block kind in its 0.48 s and the attempt that accepted it (stage, half
phase, list rank, ``z``, symbols whose strongest check energy is the word's tone), and the
list decoder's totals are printed (stages, words tried, CRC matches, accepted words): in a
stream without triggers the CRC matches are ``words x 2^-16`` and the false detections are
those of them the ``z`` check let through.

Prints a table and writes ``bench-out/decoder_fuzz.json``. Exit status 1 when a crash, a false
detection or memory growth was found. ``tests/test_codec_fuzz.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trigger_codec import PROFILES, AudioFormatError, Decoder, Detection, airtime_s, encode
from trigger_codec import trace as tr
from trigger_codec.framing import MIN_Z, encode_payload

BIN_HZ = 50  # the decoder's bin spacing (trigger_codec/SPEC.md): tones sit on multiples of 50 Hz
RATES = (44100, 48000)
MAX_LEN = 8192

Block = Any  # an ndarray for the valid kinds; anything for the invalid ones


class _Source:
    """Draws blocks of every kind for one sample rate (pools made once, sliced per block)."""

    def __init__(self, rate: int, rng: np.random.Generator) -> None:
        self.rate = rate
        self.rng = rng
        n = 1 << 18
        t = np.arange(n) / rate
        self.gauss = rng.standard_normal(n)
        # every candidate bin of every profile fitting this rate, as steady tones
        self.bins = [
            b
            for p in PROFILES.values()
            if p.f_hi_hz < rate / 2
            for b in range(p.first_bin - 2, p.first_bin + p.n_slots + 2)
        ]
        self.t = t
        # hopping tones: one random candidate bin per symbol-length slot, a trigger-like signal
        # with random symbols (the CRC and the code must refuse it)
        sym = max(1, round(airtime_s("hf") * rate / 24))
        hops = rng.choice(self.bins, size=n // sym + 1)
        freq = np.repeat(hops, sym)[:n] * BIN_HZ
        self.hopping = 0.1 * np.sin(2 * np.pi * np.cumsum(freq) / rate)
        self.next_id = 1
        self.clean_ids: set[int] = set()

    def length(self) -> int:
        r = self.rng.random()
        if r < 0.05:
            return 0
        if r < 0.10:
            return 1
        return int(math.exp(self.rng.uniform(0.0, math.log(MAX_LEN))))

    def _slice(self, pool: np.ndarray, n: int) -> np.ndarray:
        start = int(self.rng.integers(0, pool.size - n)) if pool.size > n else 0
        return pool[start : start + n]

    def _as_dtype(self, x: np.ndarray) -> np.ndarray:
        """Return float samples ``x`` in a random accepted dtype and memory layout."""
        r = self.rng.integers(0, 7)
        if r == 0:
            return x.astype(np.float32)
        if r == 1:
            return x.astype(np.float64)
        if r == 2:
            return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
        if r == 3:
            return x.astype(">f4")  # big-endian float32: dtype char "f" all the same
        if r == 4:
            y = np.repeat(x.astype(np.float32), 2)[::2]  # a strided view
            return y
        if r == 5:
            y = x.astype(np.float64)
            y.flags.writeable = False
            return y
        return np.clip(np.round(x * 32767), -32768, 32767).astype(">i2")  # big-endian int16

    # ---- valid kinds -----------------------------------------------------------------------
    def noise(self, n: int) -> Block:
        gain = 10 ** (self.rng.uniform(-120, 6) / 20)
        return self._as_dtype(gain * self._slice(self.gauss, n))

    def denormal(self, n: int) -> Block:
        if self.rng.random() < 0.5:
            return (self._slice(self.gauss, n) * 1e-41).astype(np.float32)
        return self._slice(self.gauss, n) * 1e-310

    def huge(self, n: int) -> Block:
        n = max(n, 1)  # invalid only with a sample in it (an empty block is valid)
        if self.rng.random() < 0.5:
            return (np.sign(self._slice(self.gauss, n)) * 1e30).astype(np.float32)
        return self._slice(self.gauss, n) * 1e300

    def dc_step(self, n: int) -> Block:
        levels = self.rng.uniform(-1.5, 1.5, size=4)
        edges = np.sort(self.rng.integers(0, n + 1, size=3))
        x = np.empty(n)
        for lvl, (a, b) in zip(levels, zip([0, *edges], [*edges, n], strict=True), strict=True):
            x[a:b] = lvl
        return self._as_dtype(x)

    def alternating(self, n: int) -> Block:
        run = int(self.rng.choice([1, 2, 3, 4, 8, 16, 64]))
        a = float(self.rng.choice([1e-3, 0.1, 1.0, 2.0]))
        x = a * np.where((np.arange(n) // run) % 2 == 0, 1.0, -1.0)
        return self._as_dtype(x)

    def square_int16(self, n: int) -> Block:
        run = int(self.rng.integers(1, 200))
        return np.where((np.arange(n) // run) % 2 == 0, 32767, -32768).astype(np.int16)

    def silence(self, n: int) -> Block:
        return self._as_dtype(np.zeros(n))

    def tone(self, n: int) -> Block:
        b = int(self.rng.choice(self.bins))
        a = 10 ** (self.rng.uniform(-60, 0) / 20)
        ph = self.rng.uniform(0, 2 * np.pi)
        return self._as_dtype(a * np.sin(2 * np.pi * b * BIN_HZ * self._slice(self.t, n) + ph))

    def hopping_tones(self, n: int) -> Block:
        return self._as_dtype(self._slice(self.hopping, n))

    def clean_trigger(self, n: int) -> Block:
        """Return 1.5 s of silence, a clean trigger (its own ID), 0.5 s of silence; n is ignored.

        Whatever came before, the decoder must hear this one: a miss means an earlier block
        left it deaf.
        """
        profile = "hf" if self.rng.random() < 0.5 else "robust"
        tid = self.next_id
        self.next_id += 1
        self.clean_ids.add(tid)
        wave = encode(tid >> 20 & 0xFFF, tid & 0xFFFFF, self.rate, profile)
        pad = np.zeros(self.rate // 2, dtype=np.float32)
        return np.concatenate([pad, pad, pad, wave, pad])

    def flipped_trigger(self, n: int) -> Block:
        """Return a whole real trigger (its own ID) as int16, random bits flipped; n is ignored."""
        profile = "hf" if self.rng.random() < 0.5 else "robust"
        tid = self.next_id
        self.next_id += 1
        wave = encode(tid >> 20 & 0xFFF, tid & 0xFFFFF, self.rate, profile)
        pcm = np.round(wave * 32767).astype(np.int16)
        k = int(self.rng.integers(0, max(1, pcm.size // 20)))
        where = self.rng.integers(0, pcm.size, size=k)
        bits = self.rng.integers(0, 16, size=k).astype(np.uint16)
        view = pcm.view(np.uint16)
        np.bitwise_xor.at(view, where, np.left_shift(np.uint16(1), bits))
        return pcm

    # ---- invalid kinds ---------------------------------------------------------------------
    def non_finite(self, n: int) -> Block:
        x = self._slice(self.gauss, max(n, 1)).astype(np.float32 if n % 2 else np.float64)
        x[int(self.rng.integers(0, x.size))] = self.rng.choice([np.nan, np.inf, -np.inf])
        return x

    def bad_dtype(self, n: int) -> Block:
        dt = self.rng.choice(["i4", "u1", "f2", "c8", "?", "O"])
        return np.zeros(n, dtype=dt)

    def bad_shape(self, n: int) -> Block:
        r = self.rng.integers(0, 4)
        if r == 0:
            return np.zeros((max(n // 2, 1), 2), dtype=np.float32)
        if r == 1:
            return np.float32(0.5) * np.ones((), dtype=np.float32)
        if r == 2:
            return [0.0] * min(n, 16)
        return None


VALID: tuple[str, ...] = (
    "noise",
    "denormal",
    "dc_step",
    "alternating",
    "square_int16",
    "silence",
    "tone",
    "hopping_tones",
    "flipped_trigger",
    "clean_trigger",
)
#: "huge": finite samples far beyond full scale (1e30, 1e300), refused like NaN/inf
INVALID: tuple[str, ...] = ("non_finite", "huge", "bad_dtype", "bad_shape")
#: relative frequency of each kind (real triggers rarer: each is a whole 0.48 s of audio)
WEIGHTS = {k: 1.0 for k in VALID + INVALID} | {
    "flipped_trigger": 0.01,
    "clean_trigger": 0.002,
    "huge": 0.5,
}


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


class _Witness:
    """A ``trace=`` callback that keeps what explains a detection, and counts the list decoder.

    Keeps the accepted :class:`trigger_codec.trace.DecodeAttempt` of the last found word (its
    stage, half phase, list rank, ``z``) and tallies every stage decoded: words tried, CRC
    matches, accepted words (in a stream without triggers every CRC match is a random one), and
    the words whose ``z`` passes whatever their CRC: ``words_z_pass / 2^16`` estimates the false
    detections with far less scatter than their count (away from real triggers).
    """

    def __init__(self) -> None:
        self.last: tr.DecodeAttempt | None = None
        self.counts: Counter[str] = Counter()

    def __call__(self, event: tr.TraceEvent) -> None:
        if not isinstance(event, tr.DecodeAttempt):
            return
        c = self.counts
        c["stages"] += 1
        c["words"] += len(event.words)
        # had its CRC matched (a 2^-16 chance for a random word), would it have been accepted?
        c["words_z_pass"] += sum(w.z >= MIN_Z for w in event.words)
        c["crc_ok"] += event.outcome != "crc_fail"
        if event.outcome == "accepted":
            c["accepted"] += 1
            self.last = event

    def explain(self) -> dict[str, Any]:
        """Return the accepted attempt of the last detection as plain values."""
        a = self.last
        if a is None:
            return {}
        tones = encode_payload(*a.words[-1].ident) if a.words[-1].ident else None
        top = np.argmax(a.check_energies, axis=1)
        return {
            "profile": a.profile,
            "frame": a.frame,
            "phase": a.phase,
            "half": a.half,
            "stage": a.stage,
            "rank": len(a.words) - 1,
            "z": round(a.z, 2),
            "argmax_hits": int((top == tones).sum()) if tones is not None else None,
        }


def fuzz(
    blocks: int,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
    kinds: tuple[str, ...] | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    """Feed ``blocks`` blocks and return the tally (see the module docstring).

    Parameters
    ----------
    blocks : int
        Total blocks, split evenly over 44100 and 48000 Hz.
    seed : int
        Seed of the block generator.
    progress : callable, optional
        Called with the number of blocks fed so far, every 10 %.
    kinds : tuple of str, optional
        Only these block kinds (default: all of :data:`VALID` and :data:`INVALID`).
    explain : bool
        Decode with a ``trace=`` witness: each false detection then comes with the block
        kinds under its 0.48 s and the attempt that accepted it (``false_explained``), and
        ``list_decoder`` counts the stages, words, CRC matches and accepted words.

    Returns
    -------
    dict
        ``crashes`` (list of descriptions), ``false_detections`` (list), ``true_detections``,
        ``triggers_fed``, ``clean_fed``, ``clean_missed`` (IDs of clean triggers not heard),
        ``kinds`` (blocks per kind), ``rejected`` (AudioFormatErrors),
        ``audio_s``, ``rss_mb`` (after 10 % and at the end), ``wall_s``.
    """
    rng = np.random.default_rng(seed)
    sources = [_Source(r, rng) for r in RATES]
    witnesses = [_Witness() if explain else None for _ in RATES]
    decoders = [Decoder(r, trace=w) for r, w in zip(RATES, witnesses, strict=True)]
    # per rate: (start sample in the decoder's stream, kind) of the last blocks fed
    recent: list[deque[tuple[int, str]]] = [deque(maxlen=400) for _ in RATES]
    stream_pos = [0, 0]
    explained: list[dict[str, Any]] = []
    names = list(kinds or WEIGHTS)
    p = np.array([WEIGHTS[k] for k in names])
    p /= p.sum()
    picks = rng.choice(len(names), size=blocks, p=p)
    crashes: list[str] = []
    false: list[str] = []
    true_dets = 0
    rejected = 0
    samples = [0, 0]
    tally: Counter[str] = Counter()
    rss_start = rss_end = 0.0
    seen: set[int] = set()
    t0 = time.perf_counter()
    for i in range(blocks):
        if progress is not None and blocks >= 10 and i and i % (blocks // 10) == 0:
            progress(i)
        if i == max(1, blocks // 10):
            rss_start = _rss_mb()
        which = i & 1
        src, dec = sources[which], decoders[which]
        kind = names[picks[i]]
        tally[kind] += 1
        block = getattr(src, kind)(src.length())
        try:
            dets = []
            if rng.random() < 1e-4:  # a stream ends now and then
                dets = dec.flush()
                stream_pos[which] = 0
            dets += dec.feed(block)
        except AudioFormatError:
            rejected += 1
            if kind not in INVALID:
                crashes.append(f"{kind} {getattr(block, 'dtype', type(block))} rejected")
            continue
        except Exception as exc:  # the whole point: anything else is a crash
            crashes.append(f"{kind} {getattr(block, 'dtype', '?')}: {type(exc).__name__}: {exc}")
            continue
        if kind in INVALID:
            crashes.append(f"{kind} accepted: {getattr(block, 'dtype', type(block))}")
        samples[which] += int(getattr(block, "size", 0))
        recent[which].append((stream_pos[which], kind))
        stream_pos[which] += int(getattr(block, "size", 0))
        for d in dets:
            tid = (d.channel << 20) | d.seq
            if 1 <= tid < src.next_id:
                true_dets += 1
                seen.add(tid if which == 0 else -tid)
            else:
                false.append(f"{src.rate} Hz: ch {d.channel} seq {d.seq} at {d.start_s:.2f} s")
                if explain:
                    explained.append(_explain(d, src.rate, recent[which], witnesses[which]))
    for src, dec in zip(sources, decoders, strict=True):
        for d in dec.flush():
            tid = (d.channel << 20) | d.seq
            if 1 <= tid < src.next_id:
                true_dets += 1
                seen.add(tid if src is sources[0] else -tid)
            else:
                false.append(f"{src.rate} Hz: ch {d.channel} seq {d.seq} (flush)")
    rss_end = _rss_mb()
    missed = [
        f"{src.rate} Hz: id {tid}"
        for w, src in enumerate(sources)
        for tid in sorted(src.clean_ids)
        if (tid if w == 0 else -tid) not in seen
    ]
    counts: Counter[str] = Counter()
    for w in witnesses:
        if w is not None:
            counts.update(w.counts)
    return {
        "false_explained": explained,
        "list_decoder": dict(counts),
        "blocks": blocks,
        "seed": seed,
        "crashes": crashes,
        "false_detections": false,
        "true_detections": true_dets,
        "triggers_fed": sum(s.next_id - 1 for s in sources),
        "clean_fed": sum(len(s.clean_ids) for s in sources),
        "clean_missed": missed,
        "rejected": rejected,
        "kinds": dict(tally),
        "audio_s": round(sum(n / r for n, r in zip(samples, RATES, strict=True)), 1),
        "rss_mb": [round(rss_start, 1), round(rss_end, 1)],
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def _explain(
    d: Detection, rate: int, recent: deque[tuple[int, str]], witness: _Witness | None
) -> dict[str, Any]:
    """Return the block kinds (share of samples) under detection ``d`` and its attempt."""
    lo, hi = round(d.start_s * rate), round(d.end_s * rate)
    spans = list(recent)
    share: Counter[str] = Counter()
    for (a, kind), (b, _) in zip(spans, [*spans[1:], (10**18, "")], strict=True):
        share[kind] += max(0, min(b, hi) - max(a, lo))
    total = max(1, sum(share.values()))
    kinds = {k: round(v / total, 2) for k, v in share.most_common() if v}
    return {"rate": rate, "id": [d.channel, d.seq], "profile": d.profile, "kinds": kinds} | (
        witness.explain() if witness is not None else {}
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-growth-mb", type=float, default=20.0)
    ap.add_argument("--out", default="bench-out/decoder_fuzz.json")
    ap.add_argument(
        "--without",
        action="append",
        default=[],
        choices=VALID + INVALID,
        help="leave out a block kind (repeatable), e.g. to see the rest past a known failure",
    )
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        choices=VALID + INVALID,
        help="feed only these block kinds (repeatable), e.g. to iterate on one of them",
    )
    ap.add_argument(
        "--explain",
        action="store_true",
        help="trace the decoder: list each false detection's block kinds and accepted attempt",
    )
    args = ap.parse_args()

    def note(k: int) -> None:
        print(f"  {k:>9,} blocks", file=sys.stderr, flush=True)

    kinds = tuple(k for k in WEIGHTS if k not in args.without and (k in args.only or not args.only))
    res = fuzz(args.blocks, args.seed, note, kinds=kinds, explain=args.explain)
    res["without"] = args.without
    res["only"] = args.only
    growth = res["rss_mb"][1] - res["rss_mb"][0]
    res["rss_growth_mb"] = round(growth, 1)
    res["max_growth_mb"] = args.max_growth_mb
    ok = (
        not res["crashes"]
        and not res["false_detections"]
        and not res["clean_missed"]
        and growth < args.max_growth_mb
    )
    res["ok"] = ok
    print(f"{'blocks':<26}{res['blocks']:>14,}")
    print(f"{'audio fed (s)':<26}{res['audio_s']:>14,.1f}")
    print(f"{'invalid blocks rejected':<26}{res['rejected']:>14,}")
    print(f"{'crashes':<26}{len(res['crashes']):>14}")
    print(f"{'false detections':<26}{len(res['false_detections']):>14}")
    print(f"{'real triggers fed':<26}{res['triggers_fed']:>14}")
    print(f"{'  of them detected':<26}{res['true_detections']:>14}")
    print(f"{'  clean ones fed':<26}{res['clean_fed']:>14}")
    print(f"{'  clean ones missed':<26}{len(res['clean_missed']):>14}")
    print(f"{'RSS at 10 % / end (MB)':<26}{res['rss_mb'][0]:>7.1f} / {res['rss_mb'][1]:.1f}")
    print(f"{'wall time (s)':<26}{res['wall_s']:>14.1f}")
    for line in (res["crashes"] + res["false_detections"] + res["clean_missed"])[:20]:
        print("  !", line)
    for e in res["false_explained"][:20]:
        print("  ?", json.dumps(e))
    if res["list_decoder"]:
        ld = res["list_decoder"]
        print("  list decoder:", json.dumps(ld))
        expected = ld["words_z_pass"] / 2**16
        print(f"  expected false detections (words_z_pass / 2^16): {expected:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the lists can be long if something is badly wrong: keep the first 100 of each
    dump = res | {k: res[k][:100] for k in ("crashes", "false_detections", "clean_missed")}
    out.write_text(json.dumps(dump, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
