"""The vosk adapter with the real Korean model: events, timings, grammar, error mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from broadcaster.asr import Final, Partial, Recognizer, load_vosk_model
from broadcaster.errors import ModelLoadError
from tests.plugins.vosk import assert_same_captions

ANNOUNCER = Path(__file__).resolve().parents[1] / "audio_fixtures" / "announcer" / "announcer.flac"

pytestmark = pytest.mark.vosk


def _feed(rec: Recognizer, pcm: np.ndarray, chunk: int = 1600) -> list[Partial | Final]:
    events: list[Partial | Final] = []
    for i in range(0, len(pcm), chunk):
        events += rec.accept(pcm[i : i + chunk])
    return events + rec.finish()


@pytest.fixture(scope="module")
def announcer_pcm() -> np.ndarray:
    data, rate = sf.read(str(ANNOUNCER), dtype="int16")
    assert rate == 16000
    return data[: 8 * rate]  # the first two sentences


def test_adapter_finals_equal_plain_vosk(
    vosk_model: Any, vosk_reference: Any, announcer_pcm: np.ndarray, tmp_path: Path
) -> None:
    wav = tmp_path / "two.wav"
    sf.write(wav, announcer_pcm, 16000, subtype="PCM_16")
    ref = vosk_reference(wav)
    # the adapter polls partials after every chunk, as the reference does
    events = _feed(Recognizer(vosk_model, 16000), announcer_pcm)
    finals = [(e.text, e.start_s, e.end_s) for e in events if isinstance(e, Final) and e.text]
    assert len(finals) == 2
    assert_same_captions(finals, ref)
    assert any(isinstance(e, Partial) and e.text for e in events)
    # word times are stream seconds: inside the sentences as placed by the fixture generator
    import json

    man = json.loads((ANNOUNCER.parent / "manifest.json").read_text())
    for (_, start, end), sent in zip(finals, man["sentences"], strict=False):
        assert sent["start_s"] - 0.3 <= start and end <= sent["end_s"] + 0.5


def test_grammar_limits_output_to_phrase_words(vosk_model: Any, announcer_pcm: np.ndarray) -> None:
    phrases = ["안녕하세요 오늘 뉴스 입니다", "서울 은 오후 부터 비 가 내리 겠습니다"]
    events = _feed(Recognizer(vosk_model, 16000, phrases=phrases), announcer_pcm)
    words = {w.word for e in events if isinstance(e, Final) for w in e.words}
    allowed = {w for p in phrases for w in p.split()}
    assert words and words <= allowed


def test_missing_and_broken_model_map_to_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"):
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        (broken / rel).write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="vosk could not load the model"):
        load_vosk_model(broken)
    with pytest.raises(ModelLoadError, match="re-install"):
        load_vosk_model(tmp_path / "absent")
