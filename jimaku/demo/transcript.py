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

#: Extra cost of a caption continuing the previous caption's line rather than matching its own.
_SHARE_COST = 0.05


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
    """Match each caption, in order, to the transcript line it transcribes.

    A monotone alignment of the two sequences (dynamic programming, like an edit distance over
    sentences): a caption matched to a line costs their error rate; a line no caption matched,
    or a caption matched to no line, costs 1 (as much as saying nothing); a caption that
    continues the line the previous caption matched (the recogniser split a sentence) costs what
    it changes in that line's error rate. The cheapest alignment wins, so with one caption per
    sentence the order decides even when the recogniser misheard every word.

    Parameters
    ----------
    captions : sequence of str
        Caption texts in broadcast order.
    lines : sequence of str
        The transcript.

    Returns
    -------
    list of int or None
        Index into ``lines`` per caption (``None``: it matches no line).
    """
    n, m = len(captions), len(lines)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step: list[list[str]] = [[""] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for j in range(1, m + 1):
        cost[0][j], step[0][j] = cost[0][j - 1] + 1.0, "skip"
    for i in range(1, n + 1):
        cap = captions[i - 1]
        for j in range(m + 1):
            best, how = cost[i - 1][j] + 1.0, "none"
            if j >= 1:
                line = lines[j - 1]
                for c, h in (
                    (cost[i][j - 1] + 1.0, "skip"),
                    (cost[i - 1][j - 1] + cer(line, cap), "match"),
                ):
                    if c < best:
                        best, how = c, h
                if i >= 2 and step[i - 1][j] in ("match", "share"):
                    prev = captions[i - 2]
                    c = cost[i - 1][j] + cer(line, prev + cap) - cer(line, prev) + _SHARE_COST
                    if c < best:
                        best, how = c, "share"
            cost[i][j], step[i][j] = best, how
    out: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 or j > 0:
        how = step[i][j]
        if how == "skip":
            j -= 1
        elif how == "none":
            i -= 1
        else:
            out[i - 1] = j - 1
            if how == "match":
                j -= 1
            i -= 1
    return out
