"""A short run of the decoder fuzz benchmark (benchmarks/bench_decoder_fuzz.py, 10^6 blocks).

20,000 random and adversarial blocks through the public API of trigger_codec: no exception but
``AudioFormatError`` for invalid blocks (and none for valid ones, with warnings as errors), no
detection of an ID that was not fed, every clean trigger heard whatever came before it, and RSS
flat. Huge finite samples (refused) are also tested on their own below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_decoder_fuzz import INVALID, VALID, fuzz

from trigger_codec import AudioFormatError, Decoder, encode


def test_decoder_fuzz_short() -> None:
    res = fuzz(20_000, seed=3, kinds=VALID + INVALID)
    assert res["crashes"] == []
    assert res["false_detections"] == []
    assert res["clean_fed"] > 0, "the run fed no clean trigger: the deafness check tested nothing"
    assert res["clean_missed"] == []
    assert res["rejected"] > 1000, "few invalid blocks: the rejection path was barely exercised"
    assert res["rss_mb"][1] - res["rss_mb"][0] < 20


def test_huge_finite_samples_are_refused_and_do_not_deafen_the_decoder() -> None:
    dec = Decoder(48000)
    with pytest.raises(AudioFormatError, match=r"index 0.*beyond"):
        dec.feed(np.full(4800, 1e30, dtype=np.float32))
    with pytest.raises(AudioFormatError, match="index 2"):
        dec.feed(np.array([0.0, 16.0, -16.5]))
    dec.feed(np.full(4800, 16.0, dtype=np.float32))  # at the limit: accepted
    dec.feed(np.zeros(5 * 48000, dtype=np.float32))
    wave = encode(5, 77, 48000, "hf")
    dets = dec.feed(np.concatenate([wave, np.zeros(48000, dtype=np.float32)])) + dec.flush()
    assert [(d.channel, d.seq) for d in dets] == [(5, 77)]


def test_fuzz_explain_traces_without_changing_the_detections() -> None:
    # --explain decodes with a trace= witness: the same blocks must give the same detections,
    # and the witness must have seen the list decoder at work (hopping tones reach it)
    kinds = ("hopping_tones", "tone", "clean_trigger")
    plain = fuzz(3000, seed=4, kinds=kinds)
    traced = fuzz(3000, seed=4, kinds=kinds, explain=True)
    for key in ("false_detections", "true_detections", "clean_missed", "kinds"):
        assert traced[key] == plain[key]
    assert plain["list_decoder"] == {} and plain["false_explained"] == []
    ld = traced["list_decoder"]
    assert ld["stages"] > 0
    assert ld["crc_ok"] >= traced["true_detections"] > 0
    assert len(traced["false_explained"]) == len(traced["false_detections"])
