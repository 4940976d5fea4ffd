"""The whole daemon with the real vosk model, a real archive server and the real trigger codec.

Captions must equal what plain vosk returns for the same audio (count, order, times exact; text by
word similarity, see tests/plugins/vosk.py for why), every caption must be on the archive, and
every caption's ID must be decodable from the output audio where the daemon said it aired.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import trigger_codec as tc
from archive_client import ArchiveClient
from broadcaster.engine import Broadcaster
from broadcaster.settings import BroadcastSettings
from jimaku.cli import main as jimaku_main
from tests.plugins.archive import ArchiveHandle
from tests.plugins.process import EventReader
from tests.plugins.vosk import assert_same_captions

pytestmark = pytest.mark.vosk

ROOT = Path(__file__).resolve().parents[1]
ANNOUNCER = ROOT / "audio_fixtures" / "announcer" / "announcer.flac"
MANIFEST = json.loads((ANNOUNCER.parent / "manifest.json").read_text())
JIMAKU = str(Path(sys.executable).parent / "jimaku")
RATE = 48000


@pytest.fixture
def archive(archive_server: ArchiveHandle) -> ArchiveHandle:
    """A real archive server (the shared ``archive_server`` fixture: channel 7, can restart)."""
    return archive_server


def _client(archive: ArchiveHandle) -> ArchiveClient:
    return ArchiveClient(archive.url, token=archive.token)


def _on(archive: ArchiveHandle, state_dir: Path) -> list[str]:
    """Options pointing a ``jimaku broadcast`` run at the test archive and a private state dir."""
    return [
        "--archive",
        archive.url,
        "--channel",
        str(archive.channel),
        "--token",
        archive.token,
        "--state-dir",
        str(state_dir),
    ]


def _speech(seconds: float, channels: int = 1) -> np.ndarray:
    data, rate = sf.read(str(ANNOUNCER), dtype="float64")
    x = resample_poly(data[: int(seconds * rate)], RATE // rate, 1)
    return np.repeat(x[:, None], channels, axis=1)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first three sentences of the announcer recording, 48 kHz mono 16-bit."""
    p = tmp_path_factory.mktemp("speech") / "speech.wav"
    sf.write(p, _speech(MANIFEST["sentences"][2]["end_s"] + 1.5), RATE, subtype="PCM_16")
    return p


def _decode(path: Path) -> list[Any]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    dec = tc.Decoder(sample_rate=rate)
    dets = []
    for i in range(0, len(data), 4800):
        dets += dec.feed(data[i : i + 4800, 0])
    return dets + dec.flush()


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_file_to_file_cli_stores_every_caption_and_airs_its_id(
    archive: ArchiveHandle,
    speech_wav: Path,
    vosk_reference: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    onair = tmp_path / "onair.wav"
    rc = jimaku_main(
        [
            "broadcast",
            "--input",
            str(speech_wav),
            "--output",
            str(onair),
            "--json",
            *_on(archive, tmp_path / "state"),
        ]
    )
    events = _events(capsys.readouterr().out)
    assert rc == 0, events[-3:]
    kinds = [e["type"] for e in events]
    # a file can be read at once: ready right after the start, before the first audio
    assert kinds.index("started") < kinds.index("ready") < kinds.index("level")
    summary = next(e for e in events if e["type"] == "summary")
    caps = summary["captions"]
    # nothing lost, duplicated or reordered: the captions are plain vosk's finals
    assert_same_captions(
        [(c["text"], c["start_s"], c["end_s"]) for c in caps],
        vosk_reference(speech_wav, daemon=True),
    )
    assert [c["seq"] for c in caps] == list(range(len(caps)))
    client = _client(archive)
    for c in caps:
        stored = client.get_caption(archive.channel, c["seq"])
        assert stored is not None and stored.text == c["text"] and stored.final
        assert c["state"] == "stored" and c["stored_at"]
    # output keeps the input's format; every ID decodes where the daemon said it aired
    info, src = sf.info(str(onair)), sf.info(str(speech_wav))
    assert (info.samplerate, info.channels) == (src.samplerate, src.channels)
    assert info.frames >= src.frames
    dets = _decode(onair)
    assert {(d.channel, d.seq) for d in dets} == {(archive.channel, c["seq"]) for c in caps}
    finals = {e["seq"]: e["input_s"] for e in events if e["type"] == "caption"}
    partials: dict[int, float] = {}
    for e in events:
        if e["type"] == "partial":
            partials.setdefault(e["seq"], e["input_s"])
    for c, sentence in zip(caps, MANIFEST["sentences"], strict=False):
        first = c["airings"][0]["seconds"]
        # live mode airs the ID at the utterance's first words (its first partial, lockstep:
        # the next block), long before the final, and after the speech began
        assert sentence["start_s"] < first < finals[c["seq"]], (c, sentence)
        assert abs(first - partials[c["seq"]]) <= 0.1 + 1e-6, (first, partials[c["seq"]])
        found = [d.start_s for d in dets if d.seq == c["seq"]]
        assert min(abs(s - first) for s in found) < 0.05, (c, found)


def test_synchronous_mode_places_trigger_at_speech_start_stereo(
    archive: ArchiveHandle, vosk_reference: Any, tmp_path: Path
) -> None:
    # the trigger is placed at the first partial (~1 s into the speech): 2.5 s is plenty
    delay = 2.5
    x = _speech(MANIFEST["sentences"][1]["end_s"] + 1.5, channels=2).astype(np.float32)
    ref_wav = tmp_path / "in.wav"
    sf.write(ref_wav, x, RATE, subtype="FLOAT")
    events: list[dict[str, Any]] = []
    s = BroadcastSettings(
        archive_url=archive.url,
        channel=archive.channel,
        token=archive.token,
        delay_s=delay,
        state_dir=tmp_path / "state",
    )
    eng = Broadcaster(
        s,
        sample_rate_hz=RATE,
        channels=2,
        client=_client(archive),
        emit=lambda e: events.append(e.to_dict()),
        lockstep=True,
    )
    eng.start()
    out = [eng.process(x[i : i + 4800]) for i in range(0, len(x), 4800)]
    eng.finish()
    out += eng.flush_output()
    summary = eng.close(drain_timeout_s=20)
    y = np.concatenate(out)
    assert y.shape[1] == 2 and len(y) >= len(x) + round(delay * RATE)
    # the programme comes out `delay` late (compare below the trigger band)
    d = round(delay * RATE)
    lp = lambda v: resample_poly(v, 1, 6)  # noqa: E731  (8 kHz: far below any trigger)
    np.testing.assert_allclose(lp(y[d : d + len(x), 0]), lp(x[:, 0]), atol=0.02)
    caps = summary["captions"]
    assert_same_captions(
        [(c["text"], c["start_s"], c["end_s"]) for c in caps], vosk_reference(ref_wav, daemon=True)
    )
    assert summary["all_stored"]
    assert not [e for e in events if e["type"] == "warning" and e["kind"] == "late_trigger"]
    wav = tmp_path / "onair.wav"
    sf.write(wav, y, RATE, subtype="FLOAT")
    dets = _decode(wav)
    assert len(caps) == 2
    for c, sentence in zip(caps, MANIFEST["sentences"][:2], strict=True):
        starts = [e.start_s for e in dets if e.seq == c["seq"]]
        assert starts, c
        # the trigger leads the speech's real start on air (where the fixture put the sentence)
        # by its airtime + 0.06 s, so the caption appears as the speech airs
        lead = tc.airtime_s("hf") + 0.06
        assert abs(min(starts) - (sentence["start_s"] + delay - lead)) < 0.05, (c, sentence)


def test_archive_outage_loses_nothing(
    archive: ArchiveHandle, speech_wav: Path, tmp_path: Path
) -> None:
    x, _ = sf.read(str(speech_wav), dtype="float32", always_2d=True)
    events: list[dict[str, Any]] = []
    spooled = threading.Event()

    def emit(model: Any) -> None:
        e = model.to_dict()
        events.append(e)
        if e["type"] == "upload" and e["state"] == "spooled":
            spooled.set()

    s = BroadcastSettings(
        archive_url=archive.url,
        channel=archive.channel,
        token=archive.token,
        state_dir=tmp_path / "state",
    )
    eng = Broadcaster(
        s,
        sample_rate_hz=RATE,
        channels=1,
        client=_client(archive),
        emit=emit,
        lockstep=True,
    )
    archive.stop()  # down for the first two captions
    eng.start()
    half = round(MANIFEST["sentences"][2]["start_s"] * RATE)
    for i in range(0, half, 4800):
        eng.process(x[i : min(i + 4800, half)])
    assert spooled.wait(10), "no upload attempt while the archive was down"
    assert eng.spool.count() >= 1
    archive.start()
    for i in range(half, len(x), 4800):
        eng.process(x[i : i + 4800])
    eng.finish()
    summary = eng.close(drain_timeout_s=60)
    assert summary["all_stored"] and summary["spooled"] == 0
    client = _client(archive)
    for c in summary["captions"]:
        got = client.get_caption(archive.channel, c["seq"])
        assert got is not None and got.text == c["text"]
    assert any(e["type"] == "archive" and e["healthy"] is False for e in events)


def test_spool_and_counter_survive_a_restart(
    archive: ArchiveHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = tmp_path / "one.wav"
    sf.write(one, _speech(MANIFEST["sentences"][0]["end_s"] + 1.5), RATE, subtype="PCM_16")
    settings = tmp_path / "b.toml"
    settings.write_text(f'drain_timeout_s = 1.0\nstate_dir = "{tmp_path / "state"}"\n')
    args = [
        "broadcast",
        "--input",
        str(one),
        "--output",
        str(tmp_path / "o.wav"),
        "--channel",
        str(archive.channel),
        "--token",
        archive.token,
        "--json",
        "--settings",
        str(settings),
    ]
    archive.stop()
    assert jimaku_main([*args, "--archive", archive.url]) == 3  # finished, caption spooled
    first = _events(capsys.readouterr().out)
    seq0 = [c["seq"] for c in next(e for e in first if e["type"] == "summary")["captions"]]
    assert seq0 == [0]
    archive.start()
    assert jimaku_main([*args, "--archive", archive.url]) == 0
    second = _events(capsys.readouterr().out)
    assert next(e for e in second if e["type"] == "started")["spooled_from_earlier"] == 1
    seq1 = [c["seq"] for c in next(e for e in second if e["type"] == "summary")["captions"]]
    assert seq1 == [1]  # the counter continued: no reuse of 0
    client = _client(archive)
    assert client.get_caption(archive.channel, 0) is not None
    assert client.get_caption(archive.channel, 1) is not None


def test_correct_sends_a_new_revision(
    archive: ArchiveHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from archive_client import CaptionIn

    client = _client(archive)
    client.put_caption(
        archive.channel, 5, CaptionIn(text="오타 있는 자막", final=True, language="ko")
    )
    rc = jimaku_main(
        [
            "broadcast",
            "correct",
            *_on(archive, tmp_path / "s"),
            "--seq",
            "5",
            "--text",
            "고친 자막",
        ]
    )
    assert rc == 0, capsys.readouterr()
    got = client.get_caption(archive.channel, 5)
    assert got is not None and got.text == "고친 자막" and got.revision == 2
    rc = jimaku_main(
        [
            "broadcast",
            "correct",
            *_on(archive, tmp_path / "s"),
            "--seq",
            "999",
            "--text",
            "x",
        ]
    )
    assert rc == 2 and "has no caption 999" in capsys.readouterr().err


def test_stdin_to_stdout_raw_pcm_with_clipped_input_and_archive_down(tmp_path: Path) -> None:
    x = np.clip(_speech(MANIFEST["sentences"][0]["end_s"] + 1.5)[:, 0] * 4.0, -1, 1)
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes()
    settings = tmp_path / "b.toml"
    settings.write_text("drain_timeout_s = 0.5\n")
    proc = subprocess.run(
        [
            JIMAKU,
            "broadcast",
            "--input",
            "-",
            "--output",
            "-",
            "--pcm-rate",
            str(RATE),
            "--archive",
            "http://127.0.0.1:9",
            "--channel",
            "9",
            "--json",
            "--settings",
            str(settings),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        input=pcm,
        capture_output=True,
        timeout=120,
    )
    events = _events(proc.stderr.decode())  # audio on stdout: status goes to stderr
    assert proc.returncode == 3, events[-3:]  # captions kept in the spool, nothing lost
    assert len(proc.stdout) >= len(pcm) and len(proc.stdout) % 2 == 0
    assert any(e["type"] == "warning" and e["kind"] == "clipping" for e in events)
    summary = next(e for e in events if e["type"] == "summary")
    assert summary["spooled"] == len(summary["captions"]) >= 1
    assert all(c["state"] == "spooled" for c in summary["captions"])


@contextlib.contextmanager
def _children_get_default_sigint() -> Iterator[None]:
    """Processes started inside get SIGINT at its default, as a terminal's foreground job has it.

    The test runner may have inherited SIG_IGN (a shell ignores SIGINT in background jobs), and
    an ignored signal stays ignored across exec, while a handled one is reset to the default:
    so the runner handles SIGINT while the child starts. (Not ``preexec_fn``: Python documents
    it as unsafe when the parent has threads, and earlier tests leave threads behind.)
    """
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["sigterm", "ctrl-c"],
)
def test_stopping_a_running_daemon_is_orderly(
    archive: ArchiveHandle, tmp_path: Path, sig: int, code: int, word: str
) -> None:
    """SIGTERM (``systemctl stop``) or Ctrl-C while the daemon waits for more input: an orderly
    shutdown (summary printed, every caption stored), exit status 143 / 130."""
    x = _speech(MANIFEST["sentences"][1]["end_s"] + 1.5)[:, 0]
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes()
    with _children_get_default_sigint():
        proc = subprocess.Popen(
            [
                JIMAKU,
                "broadcast",
                "--input",
                "-",
                "--pcm-rate",
                str(RATE),
                "--output",
                str(tmp_path / "onair.wav"),
                "--json",
                *_on(archive, tmp_path / "state"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    assert proc.stdin is not None
    daemon = EventReader(proc)
    try:
        daemon.wait_for("ready event", lambda ev: any(e["type"] == "ready" for e in ev), 180)
        try:
            proc.stdin.write(pcm)
            proc.stdin.flush()  # and left open: the daemon blocks reading more
        except BrokenPipeError as exc:
            raise daemon.died(exc) from exc
        daemon.wait_for(
            "two stored captions",
            lambda ev: sum(e["type"] == "upload" and e.get("state") == "stored" for e in ev) >= 2,
            90,
        )
    except BaseException:
        daemon.kill()
        raise
    status = daemon.stop(timeout=60, sig=sig)
    assert status == code, daemon.stderr[-2000:]
    assert word in daemon.stderr
    summary = daemon.of_type("summary")[0]
    assert len(summary["captions"]) == 2 and summary["spooled"] == 0, summary
    got = [_client(archive).get_caption(archive.channel, c["seq"]) for c in summary["captions"]]
    assert [g.text if g else None for g in got] == [c["text"] for c in summary["captions"]]
