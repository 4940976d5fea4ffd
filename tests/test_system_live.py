"""``jimaku demo --live`` through a real (virtual) sound card: PulseAudio's null sink is the
speaker, its monitor the microphone (tests/plugins/pulse.py).

The broadcaster plays the first two announcer sentences on the sink in real time while the
receiver listens on the monitor; the demo must end with exit code 0 and every caption the
broadcaster stored shown once, in order, ending with the archive's final text. What is right
comes from the archive (its WebVTT export) and the broadcaster's log, never from the receiver.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.pulse import PulseServer

pytestmark = [pytest.mark.audio_device, pytest.mark.vosk, pytest.mark.timeout(180)]

JIMAKU = str(Path(sys.executable).parent / "jimaku")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_live_demo_through_the_virtual_sound_card(
    pulse_server: PulseServer, tmp_path: Path
) -> None:
    out = tmp_path / "demo-out"
    p = subprocess.run(
        [
            JIMAKU,
            "demo",
            "--live",
            "--utterances",
            "2",
            "--output-device",
            "pulse",
            "--input-device",
            "pulse",
            "--out",
            str(out),
        ],
        env=pulse_server.env(),
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
    made = [e for e in _jsonl(out / "broadcaster.jsonl") if e.get("type") == "caption"]
    assert len(made) == 2, made  # two sentences, two captions
    vtt = (out / "captions.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    for c in made:
        assert c["text"] in vtt
    lines = [e for e in _jsonl(out / "receiver.jsonl") if "seq" in e]
    shown = [e for e in lines if e.get("type") == "shown"]
    # each caption appeared once, in order (with its first words when the trigger came while
    # the sentence was still spoken) ...
    assert [e["seq"] for e in shown] == [c["seq"] for c in made]
    assert not any(e["stale"] for e in lines)
    # ... and ended on screen with the stored final text (an in-place update when it was shown
    # with partial text first)
    last = {e["seq"]: (e["text"], e["final"]) for e in lines}
    assert last == {c["seq"]: (c["text"], True) for c in made}
    # the table printed each caption with its latency (speech end -> final text on screen)
    assert "speech end → final text shown" in p.stdout
    assert "median, first words:" in p.stdout and "median, final text:" in p.stdout
