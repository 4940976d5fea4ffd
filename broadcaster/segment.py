"""Split recognised utterances into readable captions.

A caption holds at most ``max_lines`` lines of ``line_columns`` columns, counting full-width
characters (Hangul, kana, kanji) as 2 columns and everything else as 1 (so 15.5 full-width
characters per line is 31 columns, the broadcast norm for Japanese/Korean; Latin text uses 42), and
lasts at most ``max_duration_s``. Splits fall between words; a single word longer than a caption
becomes a caption of its own. Empty utterances give no caption.
"""

from __future__ import annotations

from dataclasses import dataclass

import wcwidth

from broadcaster.asr import Final, Word

__all__ = ["Caption", "Segmenter", "text_columns"]


def text_columns(text: str) -> int:
    """Display width of *text* in half-width columns, as a terminal draws it.

    wcwidth's widths: wide characters 2, combining and zero-width ones 0, control characters 0.
    """
    return int(wcwidth.width(text))


@dataclass(frozen=True)
class Caption:
    """One caption: text, words and when it was spoken (stream seconds of the input)."""

    text: str
    words: tuple[Word, ...]
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Segmenter:
    """Caption size rule.

    Attributes
    ----------
    line_columns : int
        Columns per line (31 = 15.5 full-width characters; 42 for Latin text).
    max_lines : int
        Lines per caption.
    max_duration_s : float
        Longest stretch of speech one caption may cover (s).
    joins_words : bool
        Words are written without spaces (Japanese, Chinese).
    """

    line_columns: int = 31
    max_lines: int = 2
    max_duration_s: float = 7.0
    joins_words: bool = False

    def _join(self, words: list[Word]) -> str:
        return ("" if self.joins_words else " ").join(w.word for w in words)

    def split(self, final: Final) -> list[Caption]:
        """Split one utterance into captions (empty list for an empty utterance)."""
        if not final.text.strip():
            return []
        if not final.words:
            return [Caption(final.text, (), final.start_s, final.end_s)]
        limit = self.line_columns * self.max_lines
        out: list[Caption] = []
        cur: list[Word] = []
        for w in final.words:
            if cur:
                too_wide = text_columns(self._join([*cur, w])) > limit
                too_long = w.end - cur[0].start > self.max_duration_s
                if too_wide or too_long:
                    out.append(Caption(self._join(cur), tuple(cur), cur[0].start, cur[-1].end))
                    cur = []
            cur.append(w)
        out.append(Caption(self._join(cur), tuple(cur), cur[0].start, cur[-1].end))
        return out
