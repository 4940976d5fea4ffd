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

from jimaku import events as ev
from jimaku.demo import ProgrammeError
from jimaku.demo.chain import ChainSettings
from jimaku.demo.events import broadcast_captions, shown_captions
from jimaku.demo.programme import Programme, Sentence, build_long_programme, load_announcer
from jimaku.demo.report import percentile, stage_summary
from jimaku.demo.timing import (
    STAGES,
    AiredTrigger,
    DecodedTrigger,
    build_timings,
    match_sentence,
)

SENTENCES = (Sentence("first", 1.0, 3.0), Sentence("second", 5.0, 7.5))
#: POSIX time the broadcaster was fed its first programme sample (the programme clock's zero)
ORIGIN = 1_000_000.0


def _broadcast_log() -> list[dict]:
    """What `jimaku broadcast --json` prints for one utterance, built with its own models."""
    return [
        ev.Partial(seq=7, text="hel", input_s=1.9, t=ORIGIN + 1.95).to_dict(),
        ev.PartialUpload(seq=7, ok=True, first=True, t=ORIGIN + 2.0).to_dict(),
        ev.Airing(seq=7, sample=96_000, seconds=2.0, repeat=0, t=ORIGIN + 2.0).to_dict(),
        ev.BroadcastCaption(
            seq=7,
            text="hello",
            start_s=1.1,
            end_s=2.9,
            programme_start_s=1.1,
            programme_end_s=2.9,
            input_s=3.8,
            words=1,
            t=ORIGIN + 3.85,
        ).to_dict(),
        ev.Upload(channel=5, seq=7, state="spooled", t=ORIGIN + 3.9).to_dict(),
        ev.Upload(channel=5, seq=7, state="stored", t=ORIGIN + 4.2).to_dict(),
        ev.Airing(seq=7, sample=216_000, seconds=4.5, repeat=1, t=ORIGIN + 4.5).to_dict(),
    ]


def _receiver_log() -> list[dict]:
    """What `jimaku receive --json` prints: partial text at once, the final text in place."""
    shown = ev.CaptionShown(
        type="shown",
        channel=5,
        seq=7,
        text="hel",
        final=False,
        stale=False,
        profile="hf",
        trigger_start_s=1.995,
        trigger_end_s=2.245,
        decoded_stream_s=2.29,
        decoded_wall=ORIGIN + 2.3,
        fetched_wall=ORIGIN + 2.31,
        shown_wall=ORIGIN + 2.33,
        stream_start_wall=ORIGIN + 0.004,
    )
    updated = shown.model_copy(update={"type": "updated", "text": "hello", "final": True})
    updated = updated.model_copy(update={"shown_wall": ORIGIN + 4.25})
    listening = ev.Listening(stream_start_wall=ORIGIN + 0.004, sample_rate_hz=44100, realtime=True)
    return [listening.to_dict(), shown.to_dict(), updated.to_dict()]


AIRED = [
    AiredTrigger(5, 7, 2.0, 2.25),
    AiredTrigger(5, 7, 4.5, 4.75),
    AiredTrigger(9, 7, 2.0, 2.25),
]  # a repeat, and another channel's trigger


def test_timing_is_the_components_own_stamps_on_the_programme_clock() -> None:
    caps = broadcast_captions(_broadcast_log(), ORIGIN)
    shown = shown_captions(_receiver_log(), ORIGIN)
    (t,) = build_timings(caps, AIRED, shown, SENTENCES, channel=5)
    assert t.sentence == SENTENCES[0] and t.shown_text == "hello"
    assert (t.speech_start_s, t.speech_end_s) == (1.0, 3.0)  # the programme's truth
    assert t.final_s == pytest.approx(3.85) and t.stored_s == pytest.approx(4.2)
    assert (t.trigger_start_s, t.trigger_end_s) == (2.0, 2.25)  # the airing the phone heard
    assert t.decoded_s == pytest.approx(2.3)
    assert t.first_shown_s == pytest.approx(2.33) and t.shown_s == pytest.approx(4.25)
    assert t.latency_s == pytest.approx(1.25) and t.sync_error_s == pytest.approx(1.33)
    expected = {
        "asr_endpoint": 0.85,
        "upload": 0.35,
        "trigger_wait": -2.2,  # aired at the first words, long before the final was stored
        "trigger_airtime": 0.25,
        "decode": 0.05,
        "fetch": 0.01,
        "display": 0.02,
    }
    assert t.stages == pytest.approx(expected)


def test_a_fast_receiver_has_stream_positions_but_no_programme_clock() -> None:
    caps = broadcast_captions(_broadcast_log())
    shown = shown_captions(_receiver_log())
    (t,) = build_timings(caps, AIRED, shown, SENTENCES, channel=5, delay_s=2.5)
    assert t.final_s == 3.8  # the input position vosk had consumed
    assert t.stored_s is None and t.shown_s is None and t.latency_s is None
    assert t.decoded_s == pytest.approx(2.29)  # where the receiver's decoder returned it
    assert t.speech_start_s == pytest.approx(3.5)  # moved by the delay


def test_caption_never_shown_has_no_latency() -> None:
    caps = broadcast_captions(_broadcast_log(), ORIGIN)
    (t,) = build_timings(caps, AIRED, [], SENTENCES, channel=5)
    assert t.shown_s is None and t.latency_s is None and t.shown_text is None
    assert t.stages["asr_endpoint"] == pytest.approx(0.85)
    assert t.stages["decode"] is None


def test_the_airing_is_the_one_the_receiver_heard() -> None:
    late = [{**e, "trigger_start_s": 4.495} if e["type"] == "shown" else e for e in _receiver_log()]
    caps = broadcast_captions(_broadcast_log(), ORIGIN)
    (t,) = build_timings(caps, AIRED, shown_captions(late, ORIGIN), SENTENCES, channel=5)
    assert t.trigger_start_s == 4.5  # the phone missed the first airing


@pytest.mark.parametrize(
    "line",
    [
        {"type": "show", "channel": 5, "seq": 7, "text": "x"},  # no component writes "show"
        {"event": "shown", "channel": 5, "seq": 7, "text": "x"},  # nor keys by "event"
        {**_receiver_log()[1], "decoded_at": 1.0},  # a field spelled as nobody writes it
        {**_receiver_log()[1], "seq": 1 << 20},  # outside the ID space
    ],
)
def test_log_readers_refuse_what_no_component_writes(line: dict) -> None:
    with pytest.raises(ev.EventFormatError):
        shown_captions([line])


def test_broadcast_reader_refuses_unknown_events() -> None:
    with pytest.raises(ev.EventFormatError, match="trigger_at_s"):
        broadcast_captions([{**_broadcast_log()[2], "trigger_at_s": 2.0}])


def test_match_sentence_by_overlap() -> None:
    assert match_sentence(4.8, 7.0, SENTENCES) == SENTENCES[1]
    assert match_sentence(3.2, 4.5, SENTENCES) is None
    assert match_sentence(None, 2.0, SENTENCES) is None


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


def _demo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jimaku", "demo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_demo_cli_user_programme_errors_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    short = tmp_path / "short.wav"
    import soundfile as sf

    sf.write(short, np.zeros(4800, np.float32), 48000)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(48000 * 2, np.float32), 48000)
    notaudio = tmp_path / "notes.wav"
    notaudio.write_text("not audio", encoding="utf-8")
    cases = [
        (("--transcript", str(empty)), "--transcript goes with --programme FILE"),
        (("--programme", str(tmp_path / "nope.wav")), "does not exist"),
        (("--programme", str(notaudio)), "cannot read programme"),
        (("--programme", str(short)), "is 0.10 s long"),
        (("--programme", str(silent)), "is silent"),
        (("--programme", str(silent), "--transcript", str(empty)), "is empty"),
        (("--programme", str(silent), "--transcript", str(latin)), "is not UTF-8 text"),
        (("--programme", str(silent), "--utterances", "3"), "not with --programme"),
        (("--programme", str(silent), "--live"), "not with --live"),
    ]
    for args, message in cases:
        proc = _demo(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_character_error_rate_counts_edits_over_the_reference() -> None:
    from jimaku.demo.transcript import cer

    assert cer("안녕하세요", "안녕하세요") == 0.0
    assert cer("안녕하세요", "안녕 하세요.") == 0.0  # spacing and punctuation do not count
    assert cer("안녕하세요", "안영하세요") == pytest.approx(1 / 5)  # one substitution
    assert cer("안녕하세요", "안녕") == pytest.approx(3 / 5)  # three deletions
    assert cer("abc", "") == 1.0 and cer("", "") == 0.0 and cer("", "x") == 1.0
    # the example: espeak-ng's Korean as the small model heard it
    heard = "아 용 바워스 여호 누르 1 억 3 위 다"
    assert cer("안녕하세요 오늘의 뉴스입니다", heard) > 0.8


def test_captions_align_to_the_transcript_in_order() -> None:
    from jimaku.demo.transcript import align_to_transcript

    lines = ["오늘 서울은 맑겠습니다", "내일은 비가 오겠습니다", "바람이 강하게 불겠습니다"]
    captions = [
        "오늘 서울은 맑겠",
        "습니다",
        "내일은 비가 오겠",
        "zzzzzzzzzzzzzzzzzzzz",
        "바람이 불겠",
    ]
    assert align_to_transcript(captions, lines) == [0, 0, 1, None, 2]
    # one caption per sentence, every one misheard (CER ~90 %): the order still decides
    misheard = ["아 용 바워스 여호", "4 억 로보보 과", "후 4 구 와 어류 입수 다"]
    assert align_to_transcript(misheard, lines) == [0, 1, 2]
    assert align_to_transcript([], lines) == []
    assert align_to_transcript(["x"], []) == [None]


def test_percentile_matches_numpy(rng: np.random.Generator) -> None:
    xs = list(rng.normal(size=37))
    for q in (0, 50, 95, 100):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))
    assert np.isnan(percentile([], 50))


def _one_caption(shown_at_s: float = 4.25) -> list:
    late = [
        {**e, "shown_wall": ORIGIN + shown_at_s} if e["type"] == "updated" else e
        for e in _receiver_log()
    ]
    caps = broadcast_captions(_broadcast_log(), ORIGIN)
    return build_timings(caps, AIRED, shown_captions(late, ORIGIN), SENTENCES, channel=5)


def test_stage_summary_covers_every_stage() -> None:
    timings = _one_caption() + _one_caption(shown_at_s=4.75)
    summary = stage_summary(timings)
    assert set(STAGES) <= set(summary)
    assert summary["latency"]["n"] == 2
    assert summary["latency"]["p50_s"] == pytest.approx((1.25 + 1.75) / 2)


def test_timeline_plot_writes_a_png(tmp_path: Path, rng: np.random.Generator) -> None:
    from harness.timeline import plot_timeline

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
        AIRED,
        [DecodedTrigger(5, 7, 2.0, 2.25, 2.3)],
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


def test_the_table_shows_what_was_said_and_the_error_rate() -> None:
    import io

    from rich.console import Console

    from jimaku.demo.report import BUNDLED_WHY, print_timings

    (t,) = _one_caption()  # caption "hello" for the sentence "first": 5 edits over 5 characters
    assert t.spoken == "first" and t.cer == pytest.approx(1.0)
    buf = io.StringIO()
    print_timings([t], 0.0, Console(file=buf, width=200), bundled=True)
    out = buf.getvalue()
    assert "what was said" in out and "first" in out and "100%" in out
    assert "median 100% over 1 captions" in out
    assert " ".join(BUNDLED_WHY.split()[:6]) in " ".join(out.split())
    buf = io.StringIO()
    print_timings([t], 0.0, Console(file=buf, width=200), bundled=False)
    assert "espeak-ng" not in buf.getvalue()
