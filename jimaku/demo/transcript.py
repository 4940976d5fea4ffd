"""What was said beside what was captioned: the character error rate, and a transcript's lines.

The demo prints each caption next to the sentence that was spoken, so a viewer can tell a
recogniser that misheard from a chain that lost something. The edit distance is rapidfuzz's
(a well-kept C++ implementation of Levenshtein); the rest is bookkeeping.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

from jimaku.demo.errors import ProgrammeError

__all__ = ["align_to_transcript", "cer", "load_transcript", "normalise"]

#: How many transcript lines past the last matched one a caption may match (a caption that
#: matches nothing well must not drag the alignment to the end of the script).
_LOOKAHEAD = 3


def normalise(text: str) -> str:
    """Return ``text`` as compared for the error rate: NFC, no spaces, no punctuation, lower case.

    Spacing and punctuation are the recogniser's style, not its hearing (Korean spacing in
    particular varies between writers), so they are left out of the count.
    """
    t = unicodedata.normalize("NFC", text).lower()
    return "".join(ch for ch in t if not ch.isspace() and unicodedata.category(ch)[0] != "P")


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (0 = identical).

    Edits (insertions, deletions, substitutions) needed to turn the reference into the
    hypothesis, over the reference's length, both :func:`normalise` d. Can exceed 1 when the
    hypothesis is much longer. An empty reference gives 0 for an empty hypothesis, else 1.
    """
    from rapidfuzz.distance import Levenshtein

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(Levenshtein.distance(ref, hyp)) / len(ref)


def load_transcript(path: Path) -> tuple[str, ...]:
    """Read a transcript: one spoken sentence per line, in order (blank lines ignored).

    Raises
    ------
    ProgrammeError
        The file is missing, unreadable, not UTF-8 text, or has no sentence.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgrammeError(f"transcript {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ProgrammeError(
            f"transcript {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8, one sentence per line"
        ) from None
    except OSError as exc:
        raise ProgrammeError(f"cannot read transcript {str(path)!r}: {exc.strerror}") from None
    lines = tuple(ln.strip() for ln in text.splitlines() if ln.strip())
    if not lines:
        raise ProgrammeError(f"transcript {str(path)!r} is empty; write one sentence per line")
    return lines


def align_to_transcript(captions: Sequence[str], lines: Sequence[str]) -> list[int | None]:
    """Match each caption, in order, to the transcript line it most likely transcribes.

    Greedy and monotone: each caption takes the line with the lowest error rate among the next
    few lines after the previous match (a caption may share a line with the one before it, when
    the recogniser split a sentence). ``None`` when every candidate is further off than
    saying nothing at all would be (error rate >= 1).

    Parameters
    ----------
    captions : sequence of str
        Caption texts in broadcast order.
    lines : sequence of str
        The transcript.

    Returns
    -------
    list of int or None
        Index into ``lines`` per caption.
    """
    out: list[int | None] = []
    at = 0
    for text in captions:
        window = range(at, min(len(lines), at + _LOOKAHEAD + 1))
        best = min(window, key=lambda i: cer(lines[i], text), default=None)
        if best is None or cer(lines[best], text) >= 1.0:
            out.append(None)
            continue
        out.append(best)
        at = best
    return out
