"""The daemon on a real (virtual) sound card: PulseAudio null sink, its monitor as the input.

The test plays two sentences into the null sink once the daemon says it is listening (its
``ready`` event); ``jimaku broadcast --input pulse`` records the monitor in real time (the
programme never waits for recognition), writes the on-air audio to a file and stores the
captions; SIGTERM ends it cleanly (the summary is still printed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, correlate, resample_poly, sosfiltfilt

from archive_client import ArchiveClient
from tests.plugins.archive import ArchiveHandle
from tests.plugins.process import EventReader
from tests.plugins.pulse import PulseServer
from tests.plugins.waiting import wait_until

pytestmark = [pytest.mark.audio_device, pytest.mark.vosk]
ROOT = Path(__file__).resolve().parents[1]
ANNOUNCER = ROOT / "audio_fixtures" / "announcer" / "announcer.flac"
MANIFEST = json.loads((ANNOUNCER.parent / "manifest.json").read_text())


#: length of the programme pieces looked for on air (s)
_PIECE_S = 1.0
RATE = 48000


def _low(x: np.ndarray) -> np.ndarray:
    """Programme below 8 kHz, far below the trigger bands: what the daemon passes on unchanged.

    Kept at 48 kHz: decimated, a piece found a fraction of a sample off would correlate worse.
    """
    sos = butter(8, 8000, fs=RATE, output="sos")
    return np.asarray(sosfiltfilt(sos, np.asarray(x, np.float64)))


def _found_at(onair: np.ndarray, piece: np.ndarray) -> tuple[int, float]:
    """Where ``piece`` lies in ``onair``: (start sample, normalised correlation there)."""
    c = correlate(onair, piece, mode="valid", method="fft")
    run = np.concatenate([[0.0], np.cumsum(onair**2)])
    energy = np.sqrt(np.maximum(run[len(piece) :] - run[: -len(piece)], 0.0))
    norm = float(np.linalg.norm(piece))
    # near-silent stretches (FFT rounding over digital silence) cannot be the piece
    score = np.where(energy > 0.01 * norm, c / np.maximum(energy * norm, 1e-30), 0.0)
    i = int(np.argmax(score))
    return i, float(score[i])


def test_device_input_real_time(
    pulse_server: PulseServer, tmp_path: Path, archive_server: ArchiveHandle
) -> None:
    """Everything played into the card while the daemon listens is on air, without a gap.

    The test plays only after the daemon's ``ready`` event (model loaded, first block read
    from the card); it stops the daemon once both captions exist. The played speech must be on
    air whole: its first and last second are found at offsets exactly one played duration apart
    (within 50 ms; a lost block is 21 ms, 1024 frames, so one lost or repeated block shows as
    the offsets disagreeing with the speech's length), and the on-air file holds every input
    sample the daemon took (summary ``input_s``).
    """
    archive = archive_server
    data, rate = sf.read(str(ANNOUNCER), dtype="float64")
    speech = resample_poly(data[: int((MANIFEST["sentences"][1]["end_s"] + 1.5) * rate)], 3, 1)
    played_wav = tmp_path / "played.wav"
    sf.write(played_wav, speech, RATE, subtype="FLOAT")
    env = {**os.environ, "PULSE_SERVER": pulse_server.server, "JIMAKU_TOKEN": archive.token}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jimaku"),
            "broadcast",
            "--input",
            "pulse",
            "--output",
            str(tmp_path / "onair.wav"),
            "--archive",
            archive.url,
            "--channel",
            str(archive.channel),
            "--json",
            "--state-dir",
            str(tmp_path / "state"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    daemon = EventReader(proc)
    try:
        # a cold model load takes many seconds: wait for the daemon's word, not a guess
        daemon.wait_for("ready event", lambda ev: any(e["type"] == "ready" for e in ev), 180)
        # played by PulseAudio's own client (it buffers seconds ahead): a player inside this
        # busy test process could fall behind and leave gaps the daemon never heard
        subprocess.run(
            ["paplay", "--device", pulse_server.sink, str(played_wav)],
            env=env,
            check=True,
            timeout=60,
        )
        daemon.wait_for("two captions", lambda ev: sum(e["type"] == "caption" for e in ev) >= 2, 60)
        status = daemon.stop(timeout=60)
    except BaseException:
        daemon.kill()
        archive.stop()
        raise
    assert status == 143, daemon.stderr[-2000:]
    summary = daemon.of_type("summary")
    assert summary, daemon.stderr[-2000:]
    caps = summary[0]["captions"]
    assert len(caps) == 2, caps
    assert not daemon.of_type("xruns"), daemon.of_type("xruns")
    client = ArchiveClient(archive.url, token=archive.token)
    try:
        for c in caps:
            got = client.get_caption(archive.channel, c["seq"])
            assert got is not None and got.text == c["text"]
    finally:
        archive.stop()
    onair, onair_rate = sf.read(str(tmp_path / "onair.wav"), dtype="float64")
    assert onair_rate == RATE and onair.ndim == 1
    # every input sample the daemon took is on air (none lost at the stop)
    assert abs(len(onair) / RATE - summary[0]["input_s"]) <= 0.05
    # the first second of the first sentence and the last second of the second one, where the
    # fixture put them (manifest): found on air exactly as far apart as they were played
    low, played = _low(onair), _low(speech)
    n = round(_PIECE_S * RATE)
    a = round(MANIFEST["sentences"][0]["start_s"] * RATE)
    b = round(MANIFEST["sentences"][1]["end_s"] * RATE)
    first_at, first_score = _found_at(low, played[a : a + n])
    last_at, last_score = _found_at(low, played[b - n : b])
    assert first_score > 0.99 and last_score > 0.99, (first_score, last_score)
    on_air_s, played_s = (last_at - first_at) / RATE, (b - n - a) / RATE
    assert on_air_s == pytest.approx(played_s, abs=0.05), (first_at, last_at)


def test_stopping_hands_over_what_the_device_recorded(pulse_server: PulseServer) -> None:
    """At a stop the blocks the card delivered but the daemon had not read yet still go out."""
    from broadcaster.ports import DeviceSource

    src = DeviceSource("pulse", RATE, 1, 1024)
    try:
        blocks = src.blocks()
        assert next(blocks).shape == (1024, 1)  # recording: the connection is up
        # the reader pauses (a busy moment); the card goes on delivering into the queue
        wait_until("the card to queue 10 blocks", lambda: src.stream._queue.qsize() >= 10, 20)
        queued = src.stream._queue.qsize()
        drained = list(src.drain())
        assert len(drained) >= queued and all(b.shape == (1024, 1) for b in drained)
        assert src.xruns == 0
    finally:
        src.close()
