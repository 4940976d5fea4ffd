"""The one adapter that owns vosk: loads the model, feeds audio, turns JSON into typed events.

Nothing else in jimaku parses vosk output. vosk raises a bare ``Exception`` for every failure; it
is mapped to :class:`~broadcaster.errors.ModelLoadError` /
:class:`~broadcaster.errors.RecognizerError` here. Word timings are seconds of the recogniser's
input stream (vosk counts from the first sample fed to the recogniser, across utterances).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from broadcaster.errors import ModelLoadError, RecognizerError

__all__ = [
    "Final",
    "Partial",
    "Recognizer",
    "Word",
    "load_vosk_model",
    "parse_final",
    "written_form",
]

#: Number tokens of vosk-model-small-ko's vocabulary: its training text wrote numbers read digit
#: by digit as bracketed tokens (``[0]``..``[99]``, ``[00]``..``[09]``, and Sino-Korean digit
#: names such as ``[일]`` = 1, ``[공]``/``[영]`` = 0, ``[쩜]`` = the decimal point) and the
#: units of a counted number in parentheses (``(백)`` hundred, ``(십)`` ten, ``(천)`` thousand).
#: A viewer should see the number, never the notation.
_DIGIT_NAMES = {
    "공": "0",
    "영": "0",
    "일": "1",
    "이": "2",
    "삼": "3",
    "사": "4",
    "오": "5",
    "육": "6",
    "칠": "7",
    "팔": "8",
    "구": "9",
    "쩜": ".",
}
#: Non-speech tokens (noise, out of vocabulary): not words of a caption.
_NOT_SPEECH = frozenset({"<SPOKEN_NOISE>", "<UNK>", "[unk]", "[noise]", "!SIL"})

_model_lock = threading.Lock()
_model_cache: dict[Path, Any] = {}


@dataclass(frozen=True)
class Word:
    """One recognised word; ``start``/``end`` in stream seconds, ``conf`` in [0, 1]."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(frozen=True)
class Partial:
    """The recogniser's current guess for the utterance in progress (text changes as it goes).

    Attributes
    ----------
    text : str
        The words so far.
    words : tuple of Word
        The same words with provisional timings (stream seconds) when the recogniser was asked
        for them (``SetPartialWords``, which the broadcaster does not do: measured, it delays
        the first partial from ~0.9 s to ~2 s after the speech onset); usually empty.
    """

    text: str
    words: tuple[Word, ...] = ()

    @property
    def start_s(self) -> float | None:
        """Start of the first word (stream seconds), None when vosk gave no timings."""
        return self.words[0].start if self.words else None


@dataclass(frozen=True)
class Final:
    """A finished utterance (an endpoint, or the end of the stream).

    Attributes
    ----------
    text : str
        Caption text (words joined with spaces, or without for Japanese/Chinese models).
    words : tuple of Word
        The words with their timings (stream seconds).
    """

    text: str
    words: tuple[Word, ...]

    @property
    def start_s(self) -> float:
        """Start of the first word (stream seconds), 0.0 when there are no words."""
        return self.words[0].start if self.words else 0.0

    @property
    def end_s(self) -> float:
        """End of the last word (stream seconds), 0.0 when there are no words."""
        return self.words[-1].end if self.words else 0.0


def load_vosk_model(path: Path) -> Any:
    """Load (once per process) the vosk model in *path*.

    Raises
    ------
    ModelLoadError
        vosk could not load it (its bare ``Exception`` mapped, with what to do).
    """
    key = path.resolve()
    with _model_lock:
        if key in _model_cache:
            return _model_cache[key]
        try:
            import vosk
        except ImportError as exc:
            raise ModelLoadError(
                "the Python package 'vosk' is not installed; install it with: "
                "pip install 'jimaku[asr]'"
            ) from exc
        vosk.SetLogLevel(-1)
        try:
            model = vosk.Model(str(key))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelLoadError(
                f"vosk could not load the model in {str(key)!r} ({exc}); the directory is "
                "incomplete or corrupt: re-install it with `jimaku models install` or give "
                "another --model"
            ) from exc
        _model_cache[key] = model
        return model


def written_form(token: str) -> str:
    """Return how a caption writes one recognised token ("" for noise tokens).

    ``[7]`` -> ``7``, ``[일]`` -> ``1``, ``[쩜]`` -> ``.``, ``(백)`` -> ``백``; other words are
    returned unchanged.
    """
    if token in _NOT_SPEECH:
        return ""
    if len(token) >= 3 and token[0] == "[" and token[-1] == "]":
        inner = token[1:-1]
        if inner.isdigit():
            return inner
        if inner in _DIGIT_NAMES:
            return _DIGIT_NAMES[inner]
    if len(token) >= 3 and token[0] == "(" and token[-1] == ")":
        return token[1:-1]
    return token


def _written_text(text: str, joins_words: bool) -> str:
    words = [w for w in (written_form(t) for t in text.split()) if w]
    return ("" if joins_words else " ").join(words)


def _words(items: Any) -> tuple[Word, ...]:
    """Turn vosk's word list (``result`` / ``partial_result``) into written :class:`Word` s.

    Words whose written form is empty (noise tokens) are left out. KeyError/TypeError/ValueError
    on a malformed entry: the callers map them to :class:`RecognizerError`.
    """
    words = (
        Word(
            written_form(str(w["word"])),
            float(w["start"]),
            float(w["end"]),
            float(w.get("conf", 1.0)),
        )
        for w in items
    )
    return tuple(w for w in words if w.word)


def parse_final(raw: str, *, joins_words: bool = False) -> Final:
    """Turn vosk's ``Result()``/``FinalResult()`` JSON into a :class:`Final`.

    Parameters
    ----------
    raw : str
        The JSON string vosk returned.
    joins_words : bool
        Join words without spaces (Japanese, Chinese).

    Raises
    ------
    RecognizerError
        The string is not the JSON vosk documents.
    """
    try:
        obj = json.loads(raw)
        words = _words(obj.get("result", []))
        text = str(obj.get("text", ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise RecognizerError(
            f"vosk returned a result that is not valid JSON: {raw[:200]!r}"
        ) from exc
    if words:
        text = ("" if joins_words else " ").join(w.word for w in words)
    else:
        text = _written_text(text, joins_words)
    return Final(text=text.strip(), words=words)


class Recognizer:
    """A streaming vosk recogniser at the model's rate producing typed events.

    Parameters
    ----------
    model : vosk.Model
        From :func:`load_vosk_model`.
    sample_rate_hz : int
        Rate of the audio fed to :meth:`accept` (16000 for the bundled models).
    joins_words : bool
        Remove the spaces between words (Japanese, Chinese).
    phrases : sequence of str, optional
        Phrase hints as a vosk runtime grammar (small models only). Words the model does not
        know are ignored by vosk.
    """

    def __init__(
        self,
        model: Any,
        sample_rate_hz: int = 16000,
        *,
        joins_words: bool = False,
        phrases: list[str] | None = None,
    ) -> None:
        import vosk

        try:
            if phrases:
                # vosk's grammar parser does not decode \\u escapes: send the UTF-8 text itself.
                grammar = json.dumps(phrases, ensure_ascii=False)
                self._rec = vosk.KaldiRecognizer(model, float(sample_rate_hz), grammar)
            else:
                self._rec = vosk.KaldiRecognizer(model, float(sample_rate_hz))
            self._rec.SetWords(True)
        except Exception as exc:
            raise RecognizerError(f"vosk could not create a recogniser: {exc}") from exc
        self.sample_rate_hz = sample_rate_hz
        self.joins_words = joins_words
        self._last_partial = ""
        self.samples_fed = 0

    def accept(self, pcm: np.ndarray) -> list[Partial | Final]:
        """Feed audio; return the events it produced (a changed partial and/or a final).

        Parameters
        ----------
        pcm : np.ndarray [shape=(n,), dtype=int16]
            Mono audio at ``sample_rate_hz``.
        """
        self.samples_fed += len(pcm)
        try:
            ended = self._rec.AcceptWaveform(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())
            if ended:
                final = parse_final(self._rec.Result(), joins_words=self.joins_words)
                self._last_partial = ""
                return [final]
            raw = self._rec.PartialResult()
        except RecognizerError:
            raise
        except Exception as exc:
            raise RecognizerError(f"vosk failed while recognising: {exc}") from exc
        try:
            obj = json.loads(raw)
            text = _written_text(str(obj.get("partial", "")), self.joins_words)
            words = _words(obj.get("partial_result", []))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RecognizerError(f"vosk returned invalid partial JSON: {raw[:200]!r}") from exc
        if text != self._last_partial:
            self._last_partial = text
            return [Partial(text, words)]
        return []

    def finish(self) -> list[Partial | Final]:
        """End of stream: return the last utterance's final (if any)."""
        try:
            final = parse_final(self._rec.FinalResult(), joins_words=self.joins_words)
        except RecognizerError:
            raise
        except Exception as exc:
            raise RecognizerError(f"vosk failed at the end of the stream: {exc}") from exc
        self._last_partial = ""
        return [final]
