"""Write trigger_codec/spec/vectors.json: the test vectors of trigger_codec/SPEC.md.

Usage::

    .venv/bin/python tools/make_spec_vectors.py            # recompute from the stored inputs
    .venv/bin/python tools/make_spec_vectors.py --new-inputs   # also remake the decode inputs
    .venv/bin/python tools/make_spec_vectors.py --check    # exit 1 if the file would change

Encode vectors (SPEC.md sections 2-3) come from trigger_codec's public functions: payload bits,
CRC, mother/punctured code bits, stream values, tone indices, slots, bins, the waveform's first
samples and digest. Decode vectors (sections 5-16) hold a short int16 capture each (base64,
little-endian) and what a decoder must reach on it: the sync hits, every decode attempt in order
(metric rows, check energies, bit LLRs, the words tried, CRC, z, outcome) and the detections.
The intermediate values come from ``tools/spec_model.py`` (a model of the decoder written from
the spec, importing nothing from trigger_codec); ``tests/test_codec_spec_vectors.py`` holds
them against ``trigger_codec`` (its Decoder's detections, and decode_soft, bit_llrs,
list_viterbi and check_terms on every recorded attempt) and against this file.

The decode inputs are made once (``--new-inputs``: numpy noise and channel_sim rooms, fixed
seeds) and then kept in the file, so that the vectors do not depend on channel_sim's caches or
ffmpeg's version; floats are stored with 10 significant digits, NaN as null.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import spec_model  # noqa: E402

from trigger_codec import Decoder, encode  # noqa: E402
from trigger_codec.fec import conv_encode  # noqa: E402
from trigger_codec.framing import code_bits, crc16, pack, to_symbols  # noqa: E402
from trigger_codec.modem import symbol_bins, symbol_slots  # noqa: E402
from trigger_codec.profiles import get_profile  # noqa: E402

OUT = ROOT / "trigger_codec" / "spec" / "vectors.json"
#: (channel, seq, profile, sample rate) of the encode vectors
ENCODE_CASES = (
    (7, 123456, "hf", 48000),
    (4095, 1048575, "robust", 44100),
    (0, 0, "hf", 44100),
    (1234, 56789, "robust", 48000),
    (2048, 524288, "robust", 32000),
)
FIRST_SAMPLES = 24


def num(v: float) -> float | None:
    """Return a float with 10 significant digits, NaN as None (JSON has no NaN)."""
    return None if math.isnan(v) else float(f"{v:.10g}")


def arr(a: npt.ArrayLike) -> Any:
    """Return a nested list of :func:`num` values."""
    x = np.asarray(a, dtype=np.float64)
    if x.ndim == 0:
        return num(float(x))
    return [arr(row) for row in x] if x.ndim > 1 else [num(float(v)) for v in x]


def bitstring(bits: npt.ArrayLike) -> str:
    """0/1 array -> '0101...'."""
    return "".join(str(int(b)) for b in np.asarray(bits).reshape(-1))


def encode_vector(channel: int, seq: int, profile: str, fs: int) -> dict[str, Any]:
    """SPEC.md sections 2-3 for one ID, from trigger_codec's public functions."""
    prof = get_profile(profile)
    msg = pack(channel, seq)
    body = msg[:4]
    mbits = np.unpackbits(np.frombuffer(msg, dtype=np.uint8))
    cbits = code_bits(msg)
    tones = to_symbols(cbits)
    stream = [int("".join(str(int(cbits[20 * p + k])) for p in range(5)), 2) for k in range(20)]
    wave = encode(channel, seq, fs, profile)
    lead = round(0.010 * fs)
    return {
        "channel": channel,
        "seq": seq,
        "profile": profile,
        "sample_rate": fs,
        "word_hex": body.hex(),
        "crc16_hex": f"{crc16(body):04x}",
        "message_hex": msg.hex(),
        "message_bits": bitstring(mbits),
        "mother_bits": bitstring(conv_encode(mbits)),
        "code_bits": bitstring(cbits),
        "stream_values": stream,
        "tones": [int(t) for t in tones],
        "slots": [int(s) for s in symbol_slots(prof, tones)],
        "bins": [int(b) for b in symbol_bins(prof, tones)],
        "lead": lead,
        "n_samples": int(wave.size),
        "first_samples": arr(wave[:FIRST_SAMPLES]),
        "samples_from_lead": arr(wave[lead : lead + FIRST_SAMPLES]),
        "peak": num(float(np.max(np.abs(wave)))),
        "sha256_float32le": hashlib.sha256(wave.astype("<f4").tobytes()).hexdigest(),
    }


def to_int16(x: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Round to 16-bit PCM (the decoder reads it as v / 32768)."""
    y = np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767)
    return np.asarray(y, dtype=np.int16)


def _synthetic(ch: int, seq: int, profile: str, fs: int, noise: float, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    x = noise * rng.standard_normal(int(0.85 * fs))
    off = int(0.25 * fs) + int(rng.integers(fs // 100))
    w = encode(ch, seq, fs, profile)
    x[off : off + w.size] += w
    return to_int16(x)


def _room(ch: int, seq: int, profile: str, snr: float, k: int) -> Any:
    # made like the spec-model stress run: a room, pink noise at an in-band SNR, a 44.1 kHz
    # microphone with a random clock offset (channel_sim), cropped around the trigger
    from channel_sim import Chain, Mic, Noise, Room, apply_chain

    rng = np.random.default_rng(1000 + k)
    x = np.zeros(int(1.4 * 48000), np.float32)
    off = int(0.4 * 48000) + int(rng.integers(480))
    w = encode(ch, seq, 48000, profile)
    x[off : off + w.size] = w
    chain = Chain(
        (
            Room(0.3 + 0.1 * (k % 5), 1.0 + 0.5 * (k % 4), seed=k % 16),
            Noise("pink", snr_db=snr),
            Mic(44100, clock_ppm=None),
        )
    )
    y, sr = apply_chain(x, 48000, chain, rng, reference=x.copy())
    a = int(0.15 * sr)
    return to_int16(np.asarray(y)[a : a + int(0.80 * sr)]), sr


def new_inputs() -> list[dict[str, Any]]:
    """Make the decode cases' inputs (made once, then stored in the file)."""
    cases: list[dict[str, Any]] = []

    def add(name: str, made: str, pcm: npt.NDArray[np.int16], fs: int) -> None:
        b64 = base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii")
        cases.append({"name": name, "made": made, "sample_rate": fs, "pcm16le_b64": b64})

    add(
        "clean_hf_48k",
        "encode(7, 123456, 48000, 'hf') in white noise of RMS 0.001 (seed 1), int16",
        _synthetic(7, 123456, "hf", 48000, 0.001, 1),
        48000,
    )
    add(
        "noisy_robust_44k",
        "encode(4095, 1048575, 44100, 'robust') in white noise of RMS 0.2 (seed 5), int16",
        _synthetic(4095, 1048575, "robust", 44100, 0.2, 5),
        44100,
    )
    # chosen (from a scan of seeds) for the paths they take: a list word of rank 1 at stage
    # 0, stage 1 (the second metric), stage 2 (log-sum-exp bits), the half-phase frames
    for name, k, profile, snr in (
        ("room_list_hf_44k", 18, "hf", -1.5),
        ("room_metric1_robust_44k", 13, "robust", 0.0),
        ("room_lse_robust_44k", 18, "robust", -1.5),
        ("room_half_robust_44k", 18, "robust", 0.0),
    ):
        rng = np.random.default_rng(1000 + k)
        ch, seq = int(rng.integers(4096)), int(rng.integers(1 << 20))
        pcm, sr = _room(ch, seq, profile, snr, k)
        made = (
            f"channel_sim: encode({ch}, {seq}, 48000, {profile!r}), Room({0.3 + 0.1 * (k % 5):g} "
            f"s, {1.0 + 0.5 * (k % 4):g} m, seed {k % 16}), pink noise at {snr:g} dB in-band, "
            f"Mic(44100, random ppm), rng seed {1000 + k}; 0.80 s from 0.15 s, int16"
        )
        add(name, made, pcm, sr)
    return cases


def pcm_of(case: dict[str, Any]) -> npt.NDArray[np.int16]:
    """Return the stored int16 samples of a decode case."""
    return np.frombuffer(base64.b64decode(case["pcm16le_b64"]), dtype="<i2").astype(np.int16)


def _attempt_record(t: dict[str, Any]) -> dict[str, Any]:
    if "hit" in t:
        return {
            "kind": "sync_hit",
            "frame": t["hit"],
            "profile": t["profile"],
            "y": num(t["y"]),
            "tier": t["tier"],
            "in_airing": t["in_airing"],
            "balance": num(t["balance"]),
            "phase_order": t["order"],
        }
    if t.get("rival"):
        return {"kind": "rival", "frame": t["frame"], "profile": t["profile"]}
    found = t["found"]
    return {
        "kind": "decode",
        "profile": t["profile"],
        "frame": t["frame"],
        "frames": t["frames"],
        "stage": t["stage"],
        "words_tried": t["words"],
        "crc_ok": t["crc_ok"],
        "z": num(t["z"]),
        "viterbi_z": num(t["viterbi_z"]),
        "found": None if found is None else list(found),
        # stages 2 and 3 reuse the metrics of stages 0 and 1, all stages stage 0's check
        # energies: stored once (the file stays small)
        **({"metric": arr(t["metric"])} if t["stage"] < 2 else {}),
        **({"check_energies": arr(t["check_energies"])} if t["stage"] == 0 else {}),
        "llr": arr(t["llr"]),
    }


def decode_vector(case: dict[str, Any]) -> dict[str, Any]:
    """Run the Decoder and the spec model on a stored input; record what a port must reach."""
    fs = int(case["sample_rate"])
    pcm = pcm_of(case)
    dec = Decoder(fs)
    dets = dec.feed(pcm) + dec.flush()
    model = spec_model.Model(fs)
    x = (pcm.astype(np.float64) * (1.0 / 32768.0)).astype(np.float32)
    mdets = model.run(x)
    got = [(d.channel, d.seq, d.profile, round(d.start_s * fs), d.snr_db) for d in dets]
    want = [(d.channel, d.seq, d.profile, d.start, d.snr_db) for d in mdets]
    if sorted(got) != sorted(want):
        raise SystemExit(f"{case['name']}: the spec model reports {want}, the Decoder {got}")
    y_rows = {}
    for d in mdets:
        bi = [b.name for b in model.bands].index(d.profile)
        lo = max(d.frame - 6, 0)
        y_rows[d.profile] = {"from_frame": lo, "y": arr(model.Y[lo : d.frame + 7, bi])}
    return {
        **case,
        "n_samples": int(pcm.size),
        "detections": [
            {
                "channel": d.channel,
                "seq": d.seq,
                "profile": d.profile,
                "attempt_frame": md.frame,
                "start_sample": md.start,
                "start_s": d.start_s,
                "end_s": d.end_s,
                "snr_db": d.snr_db,
            }
            for d, md in zip(
                sorted(dets, key=lambda d: d.start_s),
                sorted(mdets, key=lambda d: d.start_s),
                strict=True,
            )
        ],
        "sync_around_detection": y_rows,
        "trace": [_attempt_record(t) for t in model.trace],
    }


def build(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the whole vectors document."""
    return {
        "about": (
            "Test vectors of trigger_codec/SPEC.md, written by tools/make_spec_vectors.py and "
            "checked by tests/test_codec_spec_vectors.py. Bit strings MSB first; floats with 10 "
            "significant digits, NaN as null; pcm16le_b64: the decode input as int16 "
            "little-endian (fed as v / 32768). trace: every sync hit that passed the sync rule "
            "and every decode attempt, in the order the spec evaluates them (SPEC.md section 18); "
            "metric only at stages 0 and 1 (stages 2 and 3 reuse them), check_energies only at "
            "stage 0 (every stage of an attempt uses them)."
        ),
        "encode": [encode_vector(*c) for c in ENCODE_CASES],
        "decode": [decode_vector(c) for c in inputs],
    }


def dump(doc: dict[str, Any]) -> str:
    """JSON with one case per line (readable diffs of a generated file)."""

    def one(v: Any) -> str:
        return json.dumps(v, separators=(",", ":"), allow_nan=False)

    parts = [f'{{\n"about": {one(doc["about"])}']
    for key in ("encode", "decode"):
        parts.append(f',\n"{key}": [\n' + ",\n".join(one(c) for c in doc[key]) + "\n]")
    return "".join(parts) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new-inputs", action="store_true", help="remake the decode inputs")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = ap.parse_args(argv)
    if args.new_inputs or not OUT.exists():
        inputs = new_inputs()
    else:
        keep = ("name", "made", "sample_rate", "pcm16le_b64")
        inputs = [{k: c[k] for k in keep} for c in json.loads(OUT.read_text())["decode"]]
    text = dump(build(inputs))
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("up to date" if same else f"{OUT} would change")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
