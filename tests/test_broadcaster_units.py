"""broadcaster building blocks: segmentation, durable counter and spool, resampler, settings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

import broadcaster
from broadcaster.asr import Final, Word, parse_final
from broadcaster.errors import ConfigError, RecognizerError, StateError
from broadcaster.resample import StreamResampler, float_to_int16
from broadcaster.segment import Segmenter, text_columns
from broadcaster.seqstore import SEQ_MODULUS, SeqStore
from broadcaster.settings import BroadcastSettings, load_settings
from broadcaster.spool import Spool


def test_exports() -> None:
    for name in broadcaster.__all__:
        assert hasattr(broadcaster, name)
    assert issubclass(broadcaster.ModelLoadError, broadcaster.BroadcasterError)
    assert issubclass(broadcaster.InputFormatError, ValueError)


def _words(spec: list[tuple[str, float, float]]) -> tuple[Word, ...]:
    return tuple(Word(w, s, e, 1.0) for w, s, e in spec)


def test_text_columns_counts_full_width_as_two() -> None:
    assert text_columns("abc") == 3
    assert text_columns("안녕") == 4
    assert text_columns("ニュース") == 8


def test_segmenter_splits_at_word_boundaries_by_width() -> None:
    # 10 Hangul words of 4 chars (8 columns) + spaces: 31x2 columns hold 6 of them (6*8+5 = 53,
    # 7*8+6 = 62 still fits, 8*8+7 = 71 does not)
    words = _words([("가나다라", i * 0.5, i * 0.5 + 0.4) for i in range(10)])
    caps = Segmenter(line_columns=31, max_lines=2, max_duration_s=100).split(
        Final(" ".join(w.word for w in words), words)
    )
    assert [len(c.words) for c in caps] == [7, 3]
    assert all(text_columns(c.text) <= 62 for c in caps)
    assert " ".join(c.text for c in caps) == " ".join(w.word for w in words)
    assert caps[1].start_s == pytest.approx(3.5) and caps[1].end_s == pytest.approx(4.9)


def test_segmenter_splits_by_duration_and_keeps_overlong_word() -> None:
    words = _words([("a", 0, 1), ("b", 1, 2), ("c", 2, 9), ("d", 9, 10)])
    caps = Segmenter(line_columns=42, max_duration_s=5.0).split(Final("a b c d", words))
    # "c" alone already spans 7 s: it becomes its own caption rather than being cut
    assert [c.text for c in caps] == ["a b", "c", "d"]
    long = _words([("x" * 100, 0, 1)])
    assert [c.text for c in Segmenter().split(Final("x" * 100, long))] == ["x" * 100]


def test_segmenter_drops_empty_and_joins_japanese() -> None:
    assert Segmenter().split(Final("", ())) == []
    assert Segmenter().split(Final("   ", ())) == []
    words = _words([("今日", 0, 0.3), ("は", 0.3, 0.4)])
    caps = Segmenter(joins_words=True).split(Final("今日は", words))
    assert [c.text for c in caps] == ["今日は"]


def test_number_and_noise_tokens_are_written_as_a_caption_shows_them() -> None:
    from broadcaster.asr import written_form

    # vosk-model-small-ko's vocabulary writes digits read one by one as bracketed tokens
    assert [written_form(t) for t in ("[1]", "[07]", "[일]", "[공]", "[쩜]", "(백)")] == [
        "1",
        "07",
        "1",
        "0",
        ".",
        "백",
    ]
    assert written_form("<SPOKEN_NOISE>") == "" and written_form("<UNK>") == ""
    assert [written_form(t) for t in ("일", "[", "[]", "[x]", "뉴스")] == [
        "일",
        "[",
        "[]",
        "[x]",
        "뉴스",
    ]
    raw = json.dumps(
        {
            "text": "누르 [1] 억 [3] <UNK>",
            "result": [
                {"word": "누르", "start": 0.1, "end": 0.3, "conf": 1.0},
                {"word": "[1]", "start": 0.3, "end": 0.5, "conf": 1.0},
                {"word": "억", "start": 0.5, "end": 0.7, "conf": 1.0},
                {"word": "[3]", "start": 0.7, "end": 0.9, "conf": 1.0},
                {"word": "<UNK>", "start": 0.9, "end": 1.0, "conf": 1.0},
            ],
        },
        ensure_ascii=False,
    )
    f = parse_final(raw)
    assert f.text == "누르 1 억 3" and [w.word for w in f.words] == ["누르", "1", "억", "3"]
    assert parse_final('{"text": "[2] <SPOKEN_NOISE>"}').text == "2"


def test_parse_final_maps_vosk_json_and_bad_json() -> None:
    raw = (
        '{"result": [{"conf": 0.5, "end": 1.2, "start": 0.9, "word": "뉴스"}, '
        '{"conf": 1.0, "end": 1.5, "start": 1.2, "word": "입니다"}], "text": "뉴스 입니다"}'
    )
    f = parse_final(raw)
    assert f.text == "뉴스 입니다" and f.start_s == 0.9 and f.end_s == 1.5
    assert f.words[0] == Word("뉴스", 0.9, 1.2, 0.5)
    assert parse_final(raw, joins_words=True).text == "뉴스입니다"
    assert parse_final('{"text": ""}').text == ""
    with pytest.raises(RecognizerError, match="not valid JSON"):
        parse_final("{oops")


def test_seqstore_persists_and_never_reuses_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "seq.sqlite"
    s = SeqStore(path)
    assert [s.next(7) for _ in range(3)] == [0, 1, 2]
    assert s.next(8) == 0
    s.close()
    # a separate process (a restart) continues where the last one stopped
    code = (
        "from broadcaster.seqstore import SeqStore; from pathlib import Path; "
        f"s = SeqStore(Path({str(path)!r})); print(s.next(7), s.next(8))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "1"]
    s2 = SeqStore(path)
    assert s2.peek(7) == 4 and s2.next(7) == 4
    s2.close()


def test_seqstore_wraps_at_20_bits(tmp_path: Path) -> None:
    s = SeqStore(tmp_path / "seq.sqlite")
    s._db.execute("INSERT INTO counters VALUES (1, ?)", (SEQ_MODULUS - 1,))
    assert s.next(1) == SEQ_MODULUS - 1
    assert s.next(1) == 0


def test_seqstore_unwritable_is_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError, match="cannot open the sequence state file"):
        SeqStore(blocker / "seq.sqlite")


def test_state_files_that_are_not_sqlite_are_state_errors(tmp_path: Path) -> None:
    """A corrupt state file names itself and --state-dir instead of a sqlite3 traceback."""
    for name, opener, what in (
        ("seq.sqlite", SeqStore, "the sequence state file"),
        ("spool.sqlite", Spool, "the upload spool"),
    ):
        bad = tmp_path / name
        bad.write_bytes(b"this is not a database" * 100)
        with pytest.raises(StateError, match=f"cannot open {what} .*--state-dir"):
            opener(bad)
        assert bad.read_bytes() == b"this is not a database" * 100  # left as it was


def test_spool_survives_restart_and_keeps_newest_revision(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "spool.sqlite")
    sp.put(1, 10, {"text": "first", "final": True})
    sp.put(1, 11, {"text": "second", "final": True})
    item = sp.due()[0]
    sp.put(1, 10, {"text": "corrected", "final": True})  # a correction while uploading
    assert not sp.done(item)  # the older upload must not delete the correction
    sp.close()
    sp2 = Spool(tmp_path / "spool.sqlite")
    items = sp2.items()
    assert [(i.seq, i.body["text"]) for i in items] == [(10, "corrected"), (11, "second")]
    sp2.retry_later(items[1], 60.0, "archive down", "spooled")
    assert [i.seq for i in sp2.due()] == [10]
    sp2.retry_later(items[0], 0.0, "422", "rejected")
    assert sp2.due() == [] and sp2.count() == 2


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 16000])
def test_stream_resampler_equals_whole_signal_resample_poly(
    rate: int, rng: np.random.Generator
) -> None:
    x = rng.standard_normal(rate)
    r = StreamResampler(rate, 16000)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        parts.append(r.process(x[i : i + n]))
        i += n
    parts.append(r.process(x[:0], final=True))
    g = np.gcd(rate, 16000)
    ref = resample_poly(x, 16000 // g, rate // g)
    np.testing.assert_allclose(np.concatenate(parts), ref, atol=1e-12)


def test_float_to_int16_clips_and_rounds() -> None:
    y = float_to_int16(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]))
    assert y.tolist() == [-32768, -32768, 0, 16384, 32767, 32767]
    k = np.arange(-32768, 32768)
    assert np.array_equal(float_to_int16(k.astype(np.float32) / 32768), k)


def test_settings_precedence_and_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "b.toml"
    f.write_text(
        'archive_url = "http://127.0.0.1:9"\nchannel = 5\ntoken = "from-file"\n'
        'phrases = ["a", "b"]\n'
    )
    monkeypatch.setenv("JIMAKU_TOKEN", "from-env")
    s = load_settings({"channel": 6, "token": None}, str(f))
    assert (s.archive_url, s.channel, s.token, s.phrases) == (
        "http://127.0.0.1:9",
        6,
        "from-env",
        ("a", "b"),
    )
    with pytest.raises(ConfigError, match="channel 5000 is out of range"):
        BroadcastSettings(channel=5000)
    with pytest.raises(ConfigError, match="profile 'loud'"):
        BroadcastSettings(profile="loud")
    with pytest.raises(ConfigError, match="delay -1"):
        BroadcastSettings(delay_s=-1)
    f.write_text("chanel = 5\n")
    with pytest.raises(ConfigError, match=r"unknown keys \['chanel'\]"):
        load_settings({}, str(f))
    monkeypatch.setenv("JIMAKU_CHANNEL", "seven")
    with pytest.raises(ConfigError, match=r"channel = 'seven' \(from \$JIMAKU_CHANNEL\)"):
        load_settings({})


def test_settings_values_are_checked_against_their_types(tmp_path: Path) -> None:
    """A TOML value of the wrong type is refused or converted as its field says, never taken."""
    f = tmp_path / "b.toml"
    f.write_text('early_trigger = "no"\nchannel = "12"\nstate_dir = "spool"\n')
    s = load_settings({}, str(f))
    assert (s.early_trigger, s.channel, s.state_dir) == (False, 12, Path("spool"))
    for line, said in [
        ('phrases = "abc"', "phrases = 'abc'"),  # would be the three phrases a, b and c
        ('repeat_interval_s = "fast"', "repeat_interval_s = 'fast'"),
        ("channel = 4.5", "channel = 4.5"),
    ]:
        f.write_text(line + "\n")
        with pytest.raises(ConfigError, match=re.escape(f"{said} (from settings file")):
            load_settings({}, str(f))


def test_event_sink_writes_json_lines_and_board_folds_events() -> None:
    import io
    import json

    from broadcaster.status import EventSink
    from jimaku import events as ev

    buf = io.StringIO()
    sink = EventSink("json", buf)
    sink.emit(
        ev.Started(
            channel=3,
            profile="hf",
            mode="live",
            delay_s=0.0,
            sample_rate_hz=48000,
            channels=1,
            model="m",
            next_seq=4,
            spooled_from_earlier=0,
            wall_start="2026-12-03T00:00:00Z",
        )
    )
    sink.emit(
        ev.BroadcastCaption(
            seq=4,
            text="자막",
            start_s=1.0,
            end_s=2.0,
            programme_start_s=1.0,
            programme_end_s=2.0,
            input_s=2.3,
            words=1,
        )
    )
    sink.emit(ev.Upload(channel=3, seq=4, state="stored", stored_at="x"))
    sink.emit(ev.Airing(seq=4, sample=96000, seconds=2.0, repeat=0))
    sink.emit(ev.ArchiveHealth(healthy=False, detail="refused"))
    sink.close()
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [e["type"] for e in lines] == ["started", "caption", "upload", "airing", "archive"]
    assert all(isinstance(e["t"], float) for e in lines)
    # what the sink prints parses back into the models the emitter built
    assert [type(ev.parse_broadcast_event(e)).__name__ for e in lines] == [
        "Started",
        "BroadcastCaption",
        "Upload",
        "Airing",
        "ArchiveHealth",
    ]
    b = sink.board
    assert b.by_seq[4] == {"seq": 4, "text": "자막", "state": "stored", "airings": 1}
    assert b.archive.startswith("DOWN") and b.airings == 1

    from rich.console import Console

    con = Console(file=io.StringIO(), width=100)
    con.print(b.render())
    text = con.file.getvalue()  # type: ignore[attr-defined]
    assert "자막" in text and "stored" in text and "DOWN" in text


def test_live_view_says_when_the_daemon_is_listening() -> None:
    import io

    from rich.console import Console

    from broadcaster.status import StatusBoard

    def shown(board: StatusBoard) -> str:
        con = Console(file=io.StringIO(), width=100)
        con.print(board.render())
        return con.file.getvalue()  # type: ignore[attr-defined]

    b = StatusBoard()
    assert "loading the model" in shown(b) and "listening" not in shown(b)
    b.apply({"type": "ready", "input": "pulse", "startup_s": 3.4})
    assert "listening to pulse (ready after 3.4 s)" in shown(b)


# --- speech onset (broadcaster/onset.py) -----------------------------------------------------


def _bursts(
    spans: list[tuple[float, float]],
    total_s: float,
    rng: np.random.Generator,
    level: float = 0.1,
    floor: float = 0.0,
) -> np.ndarray:
    """White-noise bursts of *level* RMS at the given (start, end) seconds, 16 kHz."""
    x = floor * rng.standard_normal(round(total_s * 16000))
    for a, b in spans:
        i, j = round(a * 16000), round(b * 16000)
        x[i:j] += level * rng.standard_normal(j - i)
    return x


def test_onset_is_found_where_the_sound_starts(rng: np.random.Generator) -> None:
    from broadcaster.onset import find_onset

    x = _bursts([(1.234, 2.5)], 2.5, rng)
    assert find_onset(x, 0.0, 16000) == pytest.approx(1.234, abs=0.011)
    # stream offset, int16 input, a quiet background 40 dB down
    y = _bursts([(0.8, 2.0)], 2.0, rng, floor=0.001)
    pcm = np.clip(np.round(y * 32768), -32768, 32767).astype(np.int16)
    assert find_onset(pcm, 100.0, 16000) == pytest.approx(100.8, abs=0.011)


def test_onset_skips_the_previous_utterances_tail(rng: np.random.Generator) -> None:
    from broadcaster.onset import find_onset

    # the previous sentence sounds until 0.35 s but vosk ended its last word at 0.3 s
    x = _bursts([(0.0, 0.35), (1.0, 2.0)], 2.0, rng)
    assert find_onset(x, 0.0, 16000, not_before_s=0.3) == pytest.approx(1.0, abs=0.011)
    # the search window begins inside earlier sound (look-back limit): not an onset either
    assert find_onset(x, 0.0, 16000, lookback_s=1.8) == pytest.approx(1.0, abs=0.011)


def test_no_clear_onset_gives_none(rng: np.random.Generator) -> None:
    from broadcaster.onset import find_onset

    assert find_onset(_bursts([(0.0, 2.0)], 2.0, rng), 0.0, 16000) is None  # sound throughout
    assert find_onset(np.zeros(32000), 0.0, 16000) is None  # silence
    assert find_onset(np.zeros(100), 0.0, 16000) is None  # too short to judge
