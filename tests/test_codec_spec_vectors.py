"""trigger_codec/SPEC.md held against the Python implementation, through its test vectors.

- The committed ``trigger_codec/spec/vectors.json`` is what ``tools/make_spec_vectors.py``
  computes now (so the vectors cannot drift from the code).
- ``tools/spec_model.py``, a decoder written from the spec that imports nothing from
  trigger_codec, reports exactly the Decoder's detections (start sample, SNR) on every vector
  input and every audio fixture, and its encoder gives trigger_codec's bits and tones.
- Every recorded decode attempt, replayed through trigger_codec's public ``bit_llrs``,
  ``list_viterbi``, ``decode_soft`` and ``check_terms``, gives the recorded LLRs, words, CRC,
  ``z`` and outcome.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trigger_codec import Decoder, encode
from trigger_codec.fec import list_viterbi
from trigger_codec.framing import PUNCTURED, bit_llrs, check_terms, decode_soft

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import make_spec_vectors  # noqa: E402
import spec_model  # noqa: E402

VECTORS = json.loads(make_spec_vectors.OUT.read_text())
DECODE = VECTORS["decode"]
KEEP = np.setdiff1d(np.arange(108), PUNCTURED)


def _close(got: Any, want: Any, path: str = "") -> None:
    """Same structure; ints, strings and bools equal; floats within 1e-7 relative."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for k in want:
            _close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(got, bool):
        assert isinstance(got, int | float), path
        assert math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-9), (path, got, want)
    else:
        assert got == want, (path, got, want)


def test_vectors_file_is_what_the_generator_computes() -> None:
    keep = ("name", "made", "sample_rate", "pcm16le_b64")
    inputs = [{k: c[k] for k in keep} for c in DECODE]
    fresh = json.loads(make_spec_vectors.dump(make_spec_vectors.build(inputs)))
    _close(fresh, VECTORS)


def test_vectors_cover_the_decoder_paths() -> None:
    decodes = [t for c in DECODE for t in c["trace"] if t["kind"] == "decode"]
    found = [t for t in decodes if t["found"]]
    assert {(t["frames"], t["stage"]) for t in found} >= {
        ("regular", 0),
        ("regular", 1),
        ("regular", 2),
        ("half", 0),
    }
    assert any(len(t["words_tried"]) > 1 for t in found)  # a list word, not the Viterbi word
    assert any(t["kind"] == "rival" for c in DECODE for t in c["trace"])
    assert any(t["kind"] == "sync_hit" and t["tier"] == 2 for c in DECODE for t in c["trace"])
    assert {c["sample_rate"] for c in DECODE} == {44100, 48000}


@pytest.mark.parametrize("vec", VECTORS["encode"], ids=lambda v: f"{v['profile']}-{v['seq']}")
def test_spec_model_encoder_gives_the_vectors(vec: dict[str, Any]) -> None:
    msg = spec_model.message(vec["channel"], vec["seq"])
    assert msg.hex() == vec["message_hex"]
    bits = spec_model.bits_of(msg)
    assert "".join(map(str, bits)) == vec["message_bits"]
    mother = spec_model.mother_code(bits)
    assert "".join(map(str, mother)) == vec["mother_bits"]
    assert "".join(str(mother[i]) for i in spec_model.KEEP) == vec["code_bits"]
    tones = spec_model.tones_of(msg)
    assert tones == vec["tones"]
    first_bin, n = {"hf": (344, 43), "robust": (256, 49)}[vec["profile"]]
    data = spec_model.data_slots(n)
    slots = spec_model.preamble_slots(n) + [int(data[i, t]) for i, t in enumerate(tones)]
    assert slots == vec["slots"]
    assert [first_bin + s for s in slots] == vec["bins"]
    assert vec["n_samples"] == round(0.48 * vec["sample_rate"])


@pytest.mark.parametrize("vec", VECTORS["encode"], ids=lambda v: f"{v['profile']}-{v['seq']}")
def test_spec_waveform_is_encode_output(vec: dict[str, Any]) -> None:
    """SPEC.md section 3 written out in numpy (direct convolution) gives encode()'s samples."""
    args = (vec["channel"], vec["seq"], vec["sample_rate"], vec["profile"])
    wave = spec_model.waveform(*args)
    assert wave.size == vec["n_samples"]
    np.testing.assert_allclose(wave, encode(*args), rtol=0, atol=1e-8)  # 1 float32 ulp
    np.testing.assert_allclose(wave[:24], vec["first_samples"], rtol=1e-6, atol=1e-12)
    lead = vec["lead"]
    np.testing.assert_allclose(wave[lead : lead + 24], vec["samples_from_lead"], rtol=1e-6)


def _pcm(case: dict[str, Any]) -> np.ndarray:
    return make_spec_vectors.pcm_of(case)


def _detections(dets: list[Any], fs: int) -> list[tuple[Any, ...]]:
    return sorted((d.channel, d.seq, d.profile, round(d.start_s * fs), d.snr_db) for d in dets)


@pytest.mark.parametrize("case", DECODE, ids=lambda c: c["name"])
def test_decoder_reports_the_vector_detections_at_any_block_size(case: dict[str, Any]) -> None:
    fs = case["sample_rate"]
    pcm = _pcm(case)
    want = [
        (d["channel"], d["seq"], d["profile"], d["start_sample"], d["snr_db"])
        for d in case["detections"]
    ]
    for block in (1000, 441, 4097):
        dec = Decoder(fs)
        dets = [d for i in range(0, pcm.size, block) for d in dec.feed(pcm[i : i + block])]
        assert _detections(dets + dec.flush(), fs) == sorted(want), block
    for d in case["detections"]:
        assert d["start_s"] == d["start_sample"] / fs
        assert d["end_s"] == d["start_s"] + 0.48


def _fixture_files() -> list[str]:
    manifest = json.loads((ROOT / "audio_fixtures" / "manifest.json").read_text())
    return [e["file"] for e in manifest["files"]]


@pytest.mark.parametrize("name", _fixture_files())
def test_spec_model_matches_the_decoder_on_fixtures(name: str) -> None:
    from audio_io import read_audio

    x, fs = read_audio(ROOT / "audio_fixtures" / name)
    x = np.asarray(x.mean(axis=1) if x.ndim > 1 else x, dtype=np.float32)
    dec = Decoder(fs)
    want = _detections(dec.feed(x) + dec.flush(), fs)
    got = sorted(
        (d.channel, d.seq, d.profile, d.start, d.snr_db) for d in spec_model.Model(fs).run(x)
    )
    assert got == want


def _attempts() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every recorded decode with the metric and check energies it used."""
    out = []
    for c in DECODE:
        base: dict[tuple[Any, ...], dict[str, Any]] = {}
        for t in c["trace"]:
            if t["kind"] != "decode":
                continue
            key = (t["profile"], t["frame"], t["frames"])
            if t["stage"] < 2:
                base[(*key, t["stage"])] = t
            metric_of = base[(*key, t["stage"] % 2)]
            out.append((c["name"], t, {**base[(*key, 0)], "metric": metric_of["metric"]}))
    return out


ATTEMPTS = _attempts()


@pytest.mark.parametrize(
    "name,rec,ctx",
    ATTEMPTS,
    ids=[f"{n}-{r['profile']}-{r['frame']}-{r['frames']}-{r['stage']}" for n, r, _ in ATTEMPTS],
)
def test_recorded_attempt_replays_through_trigger_codec(
    name: str, rec: dict[str, Any], ctx: dict[str, Any]
) -> None:
    metric = np.array(ctx["metric"], dtype=np.float64)
    ec = np.array(ctx["check_energies"], dtype=np.float64)
    sharpness = None if rec["stage"] < 2 else 2.0
    llr = np.array(rec["llr"], dtype=np.float64)
    assert np.all(llr[PUNCTURED] == 0)
    np.testing.assert_allclose(bit_llrs(metric, sharpness), llr[KEEP], rtol=1e-6, atol=1e-8)
    words = [bytes(np.packbits(w.astype(np.uint8))).hex() for w, _ in list_viterbi(llr, 8)]
    tried = rec["words_tried"]
    assert words[: len(tried)] == tried
    if not rec["crc_ok"]:
        assert len(tried) == len(words)  # every word of the list was examined
    sd = decode_soft(metric, check_energies=ec, viterbi_z=rec["stage"] == 0, sharpness=sharpness)
    assert sd.crc_ok == rec["crc_ok"]
    assert (list(sd.found) if sd.found else None) == rec["found"]
    if rec["crc_ok"]:
        assert sd.rank == len(tried) - 1
        assert math.isclose(sd.z, rec["z"], rel_tol=1e-6)
        tones = spec_model.tones_of(bytes.fromhex(tried[-1]))
        assert math.isclose(
            float(np.mean(check_terms(ec, np.array(tones)))), rec["z"], rel_tol=1e-6
        )
    if rec["viterbi_z"] is not None:
        assert math.isclose(sd.viterbi_z, rec["viterbi_z"], rel_tol=1e-6)


def _hex(bits: np.ndarray) -> str:
    return bytes(np.packbits(np.asarray(bits, dtype=np.uint8))).hex()


@pytest.mark.parametrize("case", DECODE, ids=lambda c: c["name"])
def test_decoder_trace_reaches_the_vector_values(case: dict[str, Any]) -> None:
    """The Python Decoder's own trace (not the spec model) gives the recorded values."""
    from trigger_codec import trace as tr

    rec = tr.Recorder(keep_frames=False)
    dec = Decoder(case["sample_rate"], trace=rec)
    dec.feed(_pcm(case))
    dec.flush()
    hits = [t for t in case["trace"] if t["kind"] == "sync_hit"]
    cands = [c for c in rec.of(tr.Candidate) if c.outcome != "weak_data"]
    assert [(c.profile, c.frame) for c in cands] == [(t["profile"], t["frame"]) for t in hits]
    for c, t in zip(cands, hits, strict=True):
        assert math.isclose(c.sync, t["y"], rel_tol=1e-7)
        assert c.tier == ("mean" if t["tier"] == 1 else "low")
        if t["in_airing"]:
            assert c.outcome == "in_airing"
        else:
            assert math.isclose(c.balance, t["balance"], rel_tol=1e-7)
            assert c.outcome == ("decode" if t["balance"] >= 0.25 else "unbalanced")
    rivals = [(p.profile, p.frame) for p in rec.of(tr.PhaseDecoded) if p.outcome == "rival"]
    assert rivals == [(t["profile"], t["frame"]) for t in case["trace"] if t["kind"] == "rival"]
    want = [t for t in case["trace"] if t["kind"] == "decode"]
    got = rec.of(tr.DecodeAttempt)
    assert [(a.profile, a.frame, a.half, a.stage) for a in got] == [
        (t["profile"], t["frame"], t["frames"] == "half", t["stage"]) for t in want
    ]
    metric: dict[tuple[Any, ...], Any] = {}
    for a, t in zip(got, want, strict=True):
        key = (t["frame"], t["frames"])
        if "metric" in t:
            metric[(*key, t["stage"])] = t["metric"]
        if "check_energies" in t:
            metric[(*key, "ec")] = t["check_energies"]
        np.testing.assert_allclose(a.metrics, metric[(*key, t["stage"] % 2)], rtol=1e-7)
        np.testing.assert_allclose(a.check_energies, metric[(*key, "ec")], rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(a.llrs, np.array(t["llr"])[KEEP], rtol=1e-7, atol=1e-9)
        assert [_hex(w.bits) for w in a.words] == t["words_tried"]
        assert (a.outcome == "crc_fail") == (not t["crc_ok"])
        assert (a.outcome == "accepted") == (t["found"] is not None)
        for got_z, want_z in ((a.z, t["z"]), (a.viterbi_z, t["viterbi_z"])):
            assert (math.isnan(got_z) and want_z is None) or math.isclose(
                got_z, want_z, rel_tol=1e-7
            )
