"""The receiver's display rules engine (pure; driven with an explicit clock)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver_app.display import CaptionDisplay, CaptionItem, text_width, wrap_caption
from receiver_app.errors import SettingsError
from receiver_app.settings import DisplayRules, ReceiverSettings

RULES = DisplayRules()
KO = "오늘 서울의 날씨는 맑고 기온은 영하 오도까지 내려가겠습니다"
JA = "今日の東京は晴れ、最高気温は十五度の予想です。明日は雨でしょう。"
EN = "The quick brown fox jumps over the lazy dog and keeps running until the end."


def test_korean_wraps_at_spaces_within_15_5_fullwidth() -> None:
    lines = wrap_caption(KO, RULES)
    assert " ".join(lines) == KO  # whole words, nothing lost or reordered
    assert all(text_width(line) <= 31 for line in lines)
    assert len(lines) == 2


def test_japanese_breaks_between_characters_but_not_before_punctuation() -> None:
    lines = wrap_caption(JA, RULES)
    assert "".join(lines) == JA
    assert all(text_width(line) <= 31 for line in lines)
    assert all(line[0] not in "、。」" for line in lines)
    # Force a break exactly before "。": the period goes with the line before it.
    text = "あ" * 15 + "。いう"
    lines = wrap_caption(text, RULES)
    assert lines[0].endswith("。") or not lines[1].startswith("。")
    assert all(not line.startswith("。") for line in lines)


def test_latin_uses_42_columns() -> None:
    lines = wrap_caption(EN, RULES)
    assert " ".join(lines) == EN
    assert all(len(line) <= 42 for line in lines)
    assert len(lines[0]) > 31  # a Latin line is not held to the CJK width


def test_overlong_word_is_cut_hard() -> None:
    url = "https://example.org/" + "x" * 100
    lines = wrap_caption(url, RULES)
    assert "".join(lines) == url and all(len(line) <= 42 for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("가나다라 abc あいう。、「」漢字 ")), max_size=120))
def test_wrap_keeps_every_character_and_the_limit(text: str) -> None:
    lines = wrap_caption(text, RULES)
    limit = 31 if any(text_width(c) == 2 for c in text) else 42
    assert all(0 < text_width(line) <= limit for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def _item(seq: int, text: str, ch: int = 1, final: bool = True) -> CaptionItem:
    return CaptionItem(channel=ch, seq=seq, text=text, final=final)


def test_roll_up_keeps_at_most_max_lines() -> None:
    d = CaptionDisplay(DisplayRules(max_lines=2, min_display_s=0, display_s_per_char=0))
    for i in range(5):
        d.offer(_item(i, f"caption {i}"), now=float(i))
    assert [line.text for line in d.screen.lines] == ["caption 3", "caption 4"]
    assert [h.item.seq for h in d.history] == [0, 1, 2, 3, 4]


def test_duplicate_is_ignored() -> None:
    d = CaptionDisplay()
    assert [e.kind for e in d.offer(_item(1, "안녕하세요"), 0.0)] == ["shown"]
    assert d.offer(_item(1, "안녕하세요"), 0.5) == []
    assert d.duplicates == 1
    assert len(d.history) == 1


def test_out_of_order_is_dropped_per_channel() -> None:
    d = CaptionDisplay()
    d.offer(_item(10, "ten"), 0.0)
    assert d.offer(_item(9, "nine"), 0.1) == []
    assert d.dropped_out_of_order == 1
    # Another channel has its own sequence: a channel switch is not "out of order".
    assert [e.kind for e in d.offer(_item(3, "other channel", ch=2), 0.2)] == ["shown"]


def test_partial_becoming_final_updates_in_place_without_blanking() -> None:
    d = CaptionDisplay()
    d.offer(_item(1, "오늘 서울의", final=False), 0.0)
    before = d.screen.lines
    ev = d.offer(_item(1, "오늘 서울의 날씨는 맑습니다", final=True), 0.4)
    assert [e.kind for e in ev] == ["updated"]
    after = d.screen.lines
    assert before[0].text == "오늘 서울의" and after[0].text.startswith("오늘 서울의")
    assert after[0].final
    assert [h.item.text for h in d.history] == ["오늘 서울의 날씨는 맑습니다"]


def test_minimum_display_time_holds_the_next_caption() -> None:
    rules = DisplayRules(max_lines=1, min_display_s=1.0, display_s_per_char=0.1, max_hold_s=10)
    d = CaptionDisplay(rules)
    d.offer(_item(1, "abcdefghij"), 0.0)  # 1.0 + 10 * 0.1 = 2.0 s minimum
    assert d.offer(_item(2, "next"), 0.5) == []
    assert d.pending == 1 and d.screen.lines[0].text == "abcdefghij"
    assert d.tick(1.9) == []
    ev = d.tick(2.0)
    assert [(e.kind, e.item.seq if e.item else None) for e in ev] == [("shown", 2)]
    assert d.screen.lines[0].text == "next"


def test_max_hold_bounds_the_delay() -> None:
    rules = DisplayRules(max_lines=1, min_display_s=5.0, max_hold_s=1.5)
    d = CaptionDisplay(rules)
    d.offer(_item(1, "first"), 0.0)
    d.offer(_item(2, "second"), 0.2)
    assert d.tick(1.6) == []
    assert [e.kind for e in d.tick(1.7)] == ["shown"]


def test_clears_after_a_pause_and_keeps_history() -> None:
    d = CaptionDisplay(DisplayRules(clear_after_s=4.0))
    d.offer(_item(1, "hello"), 0.0)
    assert d.tick(3.9) == []
    assert [e.kind for e in d.tick(4.0)] == ["cleared"]
    assert d.screen.lines == ()
    assert [h.item.text for h in d.history] == ["hello"]
    # A repeat of the trigger after the clear does not bring the old caption back.
    assert d.offer(_item(1, "hello"), 5.0) == []


def test_next_deadline_points_at_the_next_change() -> None:
    d = CaptionDisplay(DisplayRules(clear_after_s=4.0, min_display_s=1.0, display_s_per_char=0))
    assert d.next_deadline(0.0) is None
    d.offer(_item(1, "x"), 0.0)
    assert d.next_deadline(0.0) == pytest.approx(4.0)


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="max_lines must be 1-5, got 6"):
        DisplayRules(max_lines=6)
    with pytest.raises(SettingsError, match="22050 Hz"):
        ReceiverSettings(sample_rate_hz=22050)
    with pytest.raises(SettingsError, match="channel must be 0-4095, got 5000"):
        ReceiverSettings(channel=5000)
    with pytest.raises(SettingsError, match="ftp://x"):
        ReceiverSettings(archive_url="ftp://x")


def test_package_exports() -> None:
    import receiver_app

    assert sorted(receiver_app.__all__) == sorted(
        [
            "ArchiveUnavailable",
            "AudioDeviceError",
            "AudioInputError",
            "CaptionDisplay",
            "CaptionItem",
            "DisplayRules",
            "ReceiverError",
            "ReceiverSettings",
            "SettingsError",
            "wrap_caption",
        ]
    )
    # each exported name is the object its own module defines, not a stand-in or None
    import receiver_app.display
    import receiver_app.errors
    import receiver_app.settings

    homes = {
        receiver_app.display: ("CaptionDisplay", "CaptionItem", "wrap_caption"),
        receiver_app.settings: ("DisplayRules", "ReceiverSettings"),
        receiver_app.errors: (
            "ArchiveUnavailable",
            "AudioDeviceError",
            "AudioInputError",
            "ReceiverError",
            "SettingsError",
        ),
    }
    for module, names in homes.items():
        for name in names:
            obj = getattr(receiver_app, name)
            assert obj is vars(module)[name] and obj.__module__ == module.__name__, name
    for err in ("SettingsError", "AudioInputError", "AudioDeviceError", "ArchiveUnavailable"):
        assert issubclass(getattr(receiver_app, err), receiver_app.ReceiverError)


# -- the cases the web receiver's display (web_receiver/static/display.mjs) is held to as well ----
_CASES = json.loads(
    (Path(__file__).parent / "data" / "display_cases.json").read_text(encoding="utf-8")
)


def _rules(d: dict[str, float]) -> DisplayRules:
    return DisplayRules(**{k: (int(v) if k == "max_lines" else v) for k, v in d.items()})  # type: ignore[arg-type]


@pytest.mark.parametrize("case", _CASES["wraps"], ids=lambda c: c["text"][:20] or "empty")
def test_shared_wrap_cases(case: dict[str, Any]) -> None:
    assert wrap_caption(case["text"], _rules(case.get("rules", {}))) == case["lines"]


@pytest.mark.parametrize("case", _CASES["cases"], ids=lambda c: c["name"])
def test_shared_display_cases(case: dict[str, Any]) -> None:
    d = CaptionDisplay(_rules(case["rules"]))
    for i, step in enumerate(case["steps"]):
        if step["op"] == "offer":
            ch, seq, text, final = step["item"]
            events = d.offer(CaptionItem(ch, seq, text, final), float(step["now"]))
        else:
            events = d.tick(float(step["now"]))
        got = [[e.kind] if e.item is None else [e.kind, e.item.channel, e.item.seq] for e in events]
        assert got == step["events"], (i, step)
        if "screen" in step:
            screen = [[ln.channel, ln.seq, ln.text, ln.final] for ln in d.screen.lines]
            assert screen == step["screen"], (i, step)
        if "history" in step:
            hist = [[h.item.channel, h.item.seq, h.item.text] for h in d.history]
            assert hist == step["history"], (i, step)
        if "pending" in step:
            assert d.pending == step["pending"], (i, step)


def test_width_counts_what_a_terminal_draws() -> None:
    # Unicode: a combining acute and a zero-width space take no column; a decomposed (NFD)
    # Hangul syllable is one wide leading consonant plus two zero-width conjoining jamo.
    assert text_width("e\u0301") == 1
    assert text_width("a\u200bb") == 2
    assert text_width(unicodedata.normalize("NFD", "한국")) == 4


def test_decomposed_hangul_wraps_like_composed() -> None:
    text = "오늘 밤 한강 수위가 계속 오르고 있습니다 강변 주민은 지금 대피하십시오"
    nfd = unicodedata.normalize("NFD", text)
    composed = wrap_caption(text, RULES)
    assert len(composed) > 1
    assert [unicodedata.normalize("NFC", line) for line in wrap_caption(nfd, RULES)] == composed
