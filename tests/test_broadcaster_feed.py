"""broadcaster.asr_feed with the real Korean model: blocks dropped for recognition leave a gap
that maps word times back to the programme clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from broadcaster.asr import Final, Recognizer
from broadcaster.asr_feed import ASR_RATE_HZ, AsrFeed, Gap

HERE = Path(__file__).resolve().parents[1] / "audio_fixtures" / "announcer"
RATE = 48000
BLOCK = 4800  # 0.1 s

pytestmark = pytest.mark.vosk


def _finals(vosk_model: Any, audio: np.ndarray, skip: range) -> tuple[AsrFeed, list[Final]]:
    feed = AsrFeed(Recognizer(vosk_model, ASR_RATE_HZ), RATE)
    finals: list[Final] = []
    for k, start in enumerate(range(0, len(audio), BLOCK)):
        if k in skip:
            continue  # as when the queue to the recognition thread was full
        for events in feed.push(start, audio[start : start + BLOCK, None]):
            finals += [e for e in events if isinstance(e, Final) and e.words]
    for events in feed.end():
        finals += [e for e in events if isinstance(e, Final) and e.words]
    return feed, finals


def test_dropped_blocks_leave_a_gap_and_word_times_stay_on_the_programme_clock(
    vosk_model: Any,
) -> None:
    manifest = json.loads((HERE / "manifest.json").read_text())
    sentences = manifest["sentences"][:3]
    pcm, rate = sf.read(str(HERE / "announcer.flac"), dtype="float64")
    audio = resample_poly(pcm[: round(13.5 * rate)], RATE // rate, 1).astype(np.float32)
    # 0.5 s dropped in the pause after the first sentence (it ends at 3.03 s, the next at 4.63 s)
    first_dropped = 35
    skip = range(first_dropped, first_dropped + 5)
    assert sentences[0]["end_s"] < first_dropped * BLOCK / RATE
    assert (first_dropped + 5) * BLOCK / RATE < sentences[1]["start_s"]

    whole, want = _finals(vosk_model, audio, range(0))
    cut, got = _finals(vosk_model, audio, skip)

    assert whole.gaps == []
    assert len(cut.gaps) == 1
    assert cut.gaps[0].length_s == pytest.approx(len(skip) * BLOCK / RATE)
    assert isinstance(cut.gaps[0], Gap)
    # (the words themselves may differ: vosk's state after a shorter pause is not the same)
    assert len(got) == len(want) == len(sentences)
    # before the gap the recogniser's clock is the programme's
    assert cut.to_programme_s(got[0].start_s) == pytest.approx(got[0].start_s)
    for g, w, sentence in zip(got[1:], want[1:], sentences[1:], strict=True):
        # the recogniser heard the later speech 0.5 s early; mapped back, it is where it aired
        assert g.start_s == pytest.approx(w.start_s - 0.5, abs=0.05)
        assert cut.to_programme_s(g.start_s) == pytest.approx(w.start_s, abs=0.05)
        assert cut.to_programme_s(g.end_s) == pytest.approx(w.end_s, abs=0.05)
        assert sentence["start_s"] - 0.3 < cut.to_programme_s(g.start_s) < sentence["end_s"]
