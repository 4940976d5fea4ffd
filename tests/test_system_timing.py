"""The demo's pieces that need no running components: the programme-clock model, the log
readers, the long-programme builder, the timeline plot and the demo's error messages.

Expected values come from how each input was built (the numbers written below), never from
running the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jimaku.demo import ProgrammeError
from jimaku.demo.chain import ChainSettings
from jimaku.demo.events import broadcast_captions, shown_captions, wall_time
from jimaku.demo.programme import Programme, Sentence, build_long_programme, load_announcer
from jimaku.demo.report import percentile, stage_summary
from jimaku.demo.timing import (
    STAGES,
    AiredTrigger,
    BroadcastCaption,
    DecodedTrigger,
    ShownCaption,
    build_timings,
    match_sentence,
)

SENTENCES = (Sentence("first", 1.0, 3.0), Sentence("second", 5.0, 7.5))


def _one_caption(upload_s: float = 0.05, delay_s: float = 0.0) -> list:
    cap = BroadcastCaption(
        seq=7,
        text="hello",
        speech_start_s=1.1,
        speech_end_s=2.9,
        final_at_s=3.8,
        upload_s=upload_s,
        trigger_at_s=(3.82,),
    )
    aired = [
        AiredTrigger(5, 7, 3.82, 4.07),
        AiredTrigger(5, 7, 5.82, 6.07),
        AiredTrigger(9, 7, 3.82, 4.07),
    ]  # a repeat, and another channel's trigger
    decoded = [DecodedTrigger(5, 7, 3.83, 4.08, 4.14), DecodedTrigger(5, 7, 5.83, 6.08, 6.14)]
    shown = [ShownCaption(5, 7, "hello", trigger_s=3.83, fetch_s=0.01, display_s=0.002)]
    return build_timings([cap], aired, decoded, shown, SENTENCES, channel=5, delay_s=delay_s)


def test_live_timing_uses_programme_truth_and_adds_wall_durations() -> None:
    (t,) = _one_caption()
    assert t.sentence == SENTENCES[0]
    assert t.speech_start_s == pytest.approx(1.0) and t.speech_end_s == pytest.approx(3.0)
    assert t.stored_s == pytest.approx(3.85)
    assert (t.trigger_start_s, t.trigger_end_s) == (3.82, 4.07)
    assert t.decoded_s == pytest.approx(4.14)
    assert t.shown_s == pytest.approx(4.152)
    assert t.latency_s == pytest.approx(1.152)
    expected = {
        "asr_endpoint": 0.8,
        "upload": 0.05,
        "trigger_wait": -0.03,
        "trigger_airtime": 0.25,
        "decode": 0.07,
        "fetch": 0.01,
        "display": 0.002,
    }
    assert t.stages == pytest.approx(expected)
    assert sum(v for v in t.stages.values() if v is not None) == pytest.approx(t.latency_s)


def test_fetch_waits_for_a_slow_upload() -> None:
    # stored at 3.8 + 0.6 = 4.4, after the phone decoded at 4.14: the long-poll waits until then
    (t,) = _one_caption(upload_s=0.6)
    assert t.shown_s == pytest.approx(4.4 + 0.012)
    assert t.stages["fetch"] == pytest.approx(4.4 + 0.01 - 4.14)
    assert sum(v for v in t.stages.values() if v is not None) == pytest.approx(t.latency_s)


def test_synchronous_mode_moves_speech_by_the_delay() -> None:
    (t,) = _one_caption(delay_s=2.5)
    assert t.speech_start_s == pytest.approx(3.5)
    assert t.sync_error_s == pytest.approx(4.152 - 3.5)


def test_caption_never_shown_has_no_latency() -> None:
    cap = BroadcastCaption(
        seq=8, text="x", speech_start_s=5.1, speech_end_s=7.4, final_at_s=8.0, upload_s=0.02
    )
    (t,) = build_timings([cap], [], [], [], SENTENCES, channel=5)
    assert t.shown_s is None and t.latency_s is None and t.shown_text is None
    assert t.stages["asr_endpoint"] == pytest.approx(0.5)
    assert t.stages["decode"] is None


def test_decoded_airing_is_the_one_the_receiver_reports() -> None:
    cap = BroadcastCaption(
        seq=7, text="hello", speech_start_s=1.1, speech_end_s=2.9, final_at_s=3.8, upload_s=0.05
    )
    aired = [AiredTrigger(5, 7, 3.82, 4.07), AiredTrigger(5, 7, 5.82, 6.07)]
    decoded = [DecodedTrigger(5, 7, 5.83, 6.08, 6.14)]  # the phone missed the first airing
    shown = [ShownCaption(5, 7, "hello", trigger_s=5.83, decoded_to_shown_s=0.02)]
    (t,) = build_timings([cap], aired, decoded, shown, SENTENCES, channel=5)
    assert t.trigger_start_s == 5.82
    assert t.shown_s == pytest.approx(6.16)
    assert t.stages["display"] is None and t.stages["fetch"] == pytest.approx(0.02)


def test_match_sentence_by_overlap() -> None:
    assert match_sentence(4.8, 7.0, SENTENCES) == SENTENCES[1]
    assert match_sentence(3.2, 4.5, SENTENCES) is None
    assert match_sentence(None, 2.0, SENTENCES) is None


BROADCAST_LOG = [
    {"type": "started", "channel": 5, "t": 100.0},
    {"type": "partial", "seq": 1, "text": "안녕", "t": 101.0},
    {"type": "caption", "seq": 1, "text": "안녕하세요", "start_s": 0.52, "end_s": 2.98, "t": 101.2},
    {"type": "airing", "seq": 1, "sample": 172800, "seconds": 3.6, "repeat": 0, "t": 101.21},
    {"type": "upload", "channel": 5, "seq": 1, "state": "stored", "t": 101.23},
    {"type": "airing", "seq": 1, "sample": 268800, "seconds": 5.6, "repeat": 1, "t": 101.5},
    {"type": "caption", "seq": 2, "text": "뉴스", "start_s": 4.6, "end_s": 7.5, "t": 102.0},
    {"type": "upload", "channel": 5, "seq": 2, "state": "spooled", "t": 102.1},
    {"type": "upload", "channel": 5, "seq": 2, "state": "stored", "t": 102.9},
    {"type": "airing", "seq": 2, "sample": 393600, "seconds": 8.2, "repeat": 0, "t": 102.01},
]


def test_broadcast_log_reader_live_mode() -> None:
    caps = broadcast_captions(BROADCAST_LOG)
    assert [c.seq for c in caps] == [1, 2]
    c1, c2 = caps
    assert c1.text == "안녕하세요" and (c1.speech_start_s, c1.speech_end_s) == (0.52, 2.98)
    assert c1.final_at_s == 3.6  # lockstep: the first airing is where the final came out
    assert c1.upload_s == pytest.approx(0.03)
    assert c1.trigger_at_s == (3.6, 5.6)
    assert c2.upload_s == pytest.approx(0.9)  # spooled first, stored later


def test_broadcast_log_reader_delay_mode_has_no_final_position() -> None:
    caps = broadcast_captions(BROADCAST_LOG, delay_s=2.5)
    assert all(c.final_at_s is None for c in caps)


def test_receiver_log_reader() -> None:
    lines = [
        {"type": "status", "message": "listening"},
        {
            "channel": 5,
            "seq": 1,
            "text": "안녕하세요",
            "trigger_s": 3.61,
            "decoded_wall": 200.0,
            "fetched_wall": 200.004,
            "shown_wall": 200.005,
            "stale": False,
        },
        {
            "channel": 5,
            "seq": 2,
            "text": "뉴스",
            "trigger_s": 8.21,
            "decoded_at": "2026-11-28T07:00:00+00:00",
            "shown_at": "2026-11-28T07:00:00.250+00:00",
        },
    ]
    s1, s2 = shown_captions(lines)
    assert (s1.seq, s1.trigger_s) == (1, 3.61)
    assert s1.fetch_s == pytest.approx(0.004) and s1.display_s == pytest.approx(0.001)
    assert s2.decoded_to_shown_s == pytest.approx(0.25) and s2.fetch_s is None


def test_wall_time_parses_numbers_and_iso() -> None:
    assert wall_time(12.5) == 12.5
    assert wall_time("1970-01-01T00:00:10+00:00") == pytest.approx(10.0)
    assert wall_time("yesterday") is None and wall_time(None) is None and wall_time(True) is None


def test_long_programme_places_every_sentence_where_it_says(rng: np.random.Generator) -> None:
    sr = 16000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    base_audio = np.concatenate(
        [
            np.zeros(sr // 2, np.float32),
            tone,
            np.zeros(sr, np.float32),
            tone[: sr // 2],
            np.zeros(sr // 2, np.float32),
        ]
    )
    base = Programme(base_audio, sr, (Sentence("a", 0.5, 1.5), Sentence("b", 2.5, 3.0)), "test")
    prog = build_long_programme(base, 9, rng)
    assert len(prog.sentences) == 9
    assert sorted(s.text for s in prog.sentences).count("a") in (4, 5)  # cycled evenly
    for prev, cur in zip(prog.sentences, prog.sentences[1:], strict=False):
        assert cur.start_s - prev.end_s >= 1.6 - 1e-3  # the gap rule
    for s in prog.sentences:
        seg = prog.audio[round(s.start_s * sr) : round(s.end_s * sr)]
        assert 0.44 <= float(np.max(np.abs(seg))) <= 0.81
        nominal = 1.0 if s.text == "a" else 0.5
        assert nominal / 1.09 <= s.end_s - s.start_s <= nominal / 0.91
    gaps = np.concatenate(
        [
            prog.audio[round(a.end_s * sr) + 2 : round(b.start_s * sr) - 2]
            for a, b in zip(prog.sentences, prog.sentences[1:], strict=False)
        ]
    )
    assert float(np.max(np.abs(gaps))) < 0.02  # silence between sentences (resampler ringing)
    again = build_long_programme(base, 9, np.random.default_rng(20261128))
    assert again.sentences == prog.sentences


def test_long_programme_rejects_zero_utterances(rng: np.random.Generator) -> None:
    base = Programme(np.zeros(100, np.float32), 16000, (), "empty")
    with pytest.raises(ProgrammeError, match="n_utterances must be >= 1, got 0"):
        build_long_programme(base, 0, rng)


def test_missing_announcer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProgrammeError, match=r"make_announcer\.py"):
        load_announcer(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"file": "a.flac", "sentences": [{"text": "x", "start_s": 0.5, "end_s": 1.0}]})
    )
    (tmp_path / "a.flac").write_bytes(b"not audio")
    with pytest.raises(ProgrammeError, match="cannot read the announcer recording"):
        load_announcer(tmp_path)


def test_chain_settings_validate() -> None:
    with pytest.raises(ValueError, match="delay_s must be within 0-30 s, got -1"):
        ChainSettings(Path("x"), delay_s=-1)
    with pytest.raises(ValueError, match="n_utterances must be >= 1 or None, got 0"):
        ChainSettings(Path("x"), n_utterances=0)


def test_demo_cli_rejects_bad_delay() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jimaku", "demo", "--delay", "-2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--delay -2.0 is out of range; use 0 (live) to 30 seconds" in proc.stderr


def test_percentile_matches_numpy(rng: np.random.Generator) -> None:
    xs = list(rng.normal(size=37))
    for q in (0, 50, 95, 100):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))
    assert np.isnan(percentile([], 50))


def test_stage_summary_covers_every_stage() -> None:
    timings = _one_caption() + _one_caption(upload_s=0.6)
    summary = stage_summary(timings)
    assert set(STAGES) <= set(summary)
    assert summary["latency"]["n"] == 2
    assert summary["latency"]["p50_s"] == pytest.approx((1.152 + 1.412) / 2)


def test_timeline_plot_writes_a_png(tmp_path: Path, rng: np.random.Generator) -> None:
    from jimaku.demo.plot import plot_timeline

    timings = _one_caption()
    onair = (0.1 * rng.standard_normal(48000 * 8)).astype(np.float32)
    phone = (0.1 * rng.standard_normal(44100 * 8)).astype(np.float32)
    out = tmp_path / "t.png"
    plot_timeline(
        out,
        onair,
        48000,
        phone,
        44100,
        timings,
        [AiredTrigger(5, 7, 3.82, 4.07)],
        [DecodedTrigger(5, 7, 3.83, 4.08, 4.14)],
        5,
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000


def test_missing_subcommand_names_the_extra(tmp_path: Path) -> None:
    from jimaku.demo import ComponentMissing
    from jimaku.demo.stages import run_jsonl_process

    with pytest.raises(ComponentMissing, match=r"pip install 'jimaku\[all\]'"):
        run_jsonl_process("receiver", ["no-such-command"], tmp_path / "log.jsonl")


def test_failed_stage_quotes_its_stderr(tmp_path: Path) -> None:
    from jimaku.demo import StageFailed
    from jimaku.demo.stages import run_jsonl_process

    with pytest.raises(StageFailed, match=r"the demo .* exited with 2: .*out of range"):
        run_jsonl_process("demo", ["demo", "--delay", "-5"], tmp_path / "log.jsonl")


def test_archive_that_dies_at_startup_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jimaku.demo import StageFailed, archive_proc

    def fake_command(*args: str) -> list[str]:
        return [sys.executable, "-c", "import sys; print('port is taken'); sys.exit(3)"]

    monkeypatch.setattr(archive_proc, "jimaku_command", fake_command)
    with pytest.raises(StageFailed, match=r"exited with 3 at start-up: port is taken"):
        archive_proc.ArchiveProcess(tmp_path).start()


def test_realtime_receiver_clock_gives_the_decode_time() -> None:
    line = {
        "event": "shown",
        "channel": 5,
        "seq": 7,
        "text": "hello",
        "final": True,
        "stale": False,
        "trigger_start_s": 3.83,
        "trigger_end_s": 4.08,
        "decoded_wall": 1000.16,
        "shown_wall": 1000.19,
        "stream_start_wall": 996.0,
    }
    updated = {**line, "event": "updated", "text": "hello!"}
    (s,) = shown_captions([line, updated])
    assert s.decoded_stream_s == pytest.approx(4.16) and s.trigger_s == 3.83
    assert shown_captions([line], realtime=False)[0].decoded_stream_s is None
    cap = BroadcastCaption(
        seq=7, text="hello", speech_start_s=1.1, speech_end_s=2.9, final_at_s=3.8, upload_s=0.05
    )
    decoded = [DecodedTrigger(5, 7, 3.83, 4.08, 4.14)]  # the chain's own pass says 4.14
    (t,) = build_timings([cap], [AiredTrigger(5, 7, 3.82, 4.07)], decoded, [s], SENTENCES, 5)
    assert t.decoded_s == pytest.approx(4.16)  # the receiver's real clock wins
    assert t.shown_s == pytest.approx(4.19)
    assert t.latency_s == pytest.approx(1.19)


def test_decoder_positions_of_mixed_triggers(rng: np.random.Generator) -> None:
    from jimaku.demo.detect import MIC_BLOCK_S, aired_triggers, decode_with_positions
    from trigger_codec import TriggerMixer, airtime_s

    sr = 48000
    programme = (0.05 * rng.standard_normal(sr * 6)).astype(np.float32)
    mixer = TriggerMixer(sample_rate=sr, profile="hf", channels=1)
    at = {11: round(1.0 * sr), 12: round(3.5 * sr)}
    for seq, sample in at.items():
        mixer.schedule(5, seq, at_sample=sample)
    onair = np.concatenate(
        [mixer.process(programme[i : i + 1024]) for i in range(0, len(programme), 1024)]
    )
    air = airtime_s("hf")
    found = aired_triggers(onair, sr)
    assert [(a.channel, a.seq) for a in found] == [(5, 11), (5, 12)]
    for a in found:
        assert a.start_s == pytest.approx(at[a.seq] / sr, abs=0.02)
        assert a.end_s == pytest.approx(at[a.seq] / sr + air, abs=0.03)
    for d in decode_with_positions(onair, sr):
        # returned around the trigger's end, within the codec's 100 ms budget + a block; the
        # decoder may answer during the last symbol's ramp-down (measured 28 Nov with the codec's
        # FEC framing: 20 ms before end_s), so up to 50 ms early
        assert d.end_s - 0.05 <= d.returned_at_s <= d.end_s + 0.1 + MIC_BLOCK_S


def test_unknown_room_is_named_before_anything_starts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jimaku", "demo", "--room", "attic", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown room 'attic'; use one of:" in proc.stderr and "near-tv" in proc.stderr
    assert not (tmp_path / "archive").exists()


def test_path_medians_report_each_path_from_its_own_start() -> None:
    """First words (trigger path) and final text (archive path) are timed separately."""
    from jimaku.demo.report import path_medians
    from jimaku.demo.timing import CaptionTiming

    def cap(seq: int, k: float) -> CaptionTiming:
        # speech 10-14 s; trigger on air 0.8 s in, 0.48 s long; decoded 0.05 s after its end;
        # first words 0.06 s later; vosk final 0.9 s after speech end, stored 0.02 s later,
        # on screen 0.06 s later (k shifts the whole caption)
        return CaptionTiming(
            seq=seq,
            text="t",
            shown_text="t",
            sentence=None,
            speech_start_s=10 + k,
            speech_end_s=14 + k,
            final_s=14.9 + k,
            stored_s=14.92 + k,
            trigger_start_s=10.8 + k,
            trigger_end_s=11.28 + k,
            decoded_s=11.33 + k,
            shown_s=14.98 + k,
            first_shown_s=11.39 + k,
        )

    first, final = path_medians([cap(1, 0.0), cap(2, 20.0), cap(3, 40.0)])
    assert first == (
        "median, first words: speech start → trigger on air 0.80 s, airtime 0.48 s, "
        "→ decoded 0.05 s, → first words shown 0.06 s"
    )
    assert final == (
        "median, final text: speech end → vosk final 0.90 s, → stored 0.02 s, "
        "→ final text shown 0.06 s"
    )
    # nothing measured -> no line
    empty = CaptionTiming(1, "t", None, None, None, None, None, None, None, None, None, None)
    assert path_medians([empty]) == []
