"""Bad input to the broadcaster: each case is a clear error (or warning) and loses nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from broadcaster.errors import ConfigError, InputFormatError, ModelLoadError
from broadcaster.ports import FileSink, RawSink, RawSource
from broadcaster.settings import BroadcastSettings
from jimaku.cli import main as jimaku_main


def _settings(tmp_path: Path, **kw: Any) -> BroadcastSettings:
    return BroadcastSettings(
        archive_url="http://127.0.0.1:9", channel=1, state_dir=tmp_path / "state", **kw
    )


def _engine(tmp_path: Path, rate: int = 48000, **kw: Any) -> Any:
    from broadcaster.engine import Broadcaster

    return Broadcaster(
        _settings(tmp_path, **kw),
        sample_rate_hz=rate,
        channels=1,
        client=None,
        emit=lambda e: None,
        lockstep=True,
    )


def test_rate_below_speech_recognition_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="8000 Hz is below the 16000 Hz"):
        _engine(tmp_path, rate=8000)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no model at"):
        _engine(tmp_path, model=str(tmp_path / "no-such-model"))


@pytest.mark.vosk
def test_broken_model_dir_maps_vosk_exception(tmp_path: Path) -> None:
    broken = tmp_path / "vosk-model-small-ko-broken"
    for rel in ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"):
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        (broken / rel).write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="vosk could not load the model"):
        _engine(tmp_path, model=str(broken))


def test_cli_reports_missing_model_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = tmp_path / "in.wav"
    sf.write(wav, np.zeros(48000, np.float32), 48000)
    rc = jimaku_main(
        [
            "broadcast",
            "--input",
            str(wav),
            "--output",
            str(tmp_path / "o.wav"),
            "--archive",
            "http://127.0.0.1:9",
            "--channel",
            "1",
            "--json",
            "--model",
            str(tmp_path / "nope"),
            "--state-dir",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 2
    errors = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert errors[-1]["type"] == "error" and "no model at" in errors[-1]["message"]


def test_settings_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must start with http"):
        BroadcastSettings(archive_url="127.0.0.1:8000")
    with pytest.raises(ConfigError, match="repeat_interval_s = 0"):
        _settings(tmp_path, repeat_interval_s=0)


def test_raw_pcm_source_decodes_and_rejects_empty_input() -> None:
    x = np.array([[0, 16384], [-32768, 32767]], "<i2")
    src = RawSource(io.BytesIO(x.tobytes() + b"\x01"), 48000, 2, "s16le", 0.1)
    blocks = list(src.blocks())
    np.testing.assert_array_equal(np.concatenate(blocks), x / 32768.0)
    with pytest.raises(InputFormatError, match="ended without any audio"):
        list(RawSource(io.BytesIO(b""), 48000, 1, "s16le", 0.1).blocks())
    with pytest.raises(InputFormatError, match="PCM format 'u8'"):
        RawSource(io.BytesIO(b""), 48000, 1, "u8", 0.1)


def test_raw_sink_round_trips_the_source_format() -> None:
    x = np.array([[0.0], [0.5], [-1.0], [0.999969482421875]], np.float32)
    buf = io.BytesIO()
    RawSink(buf, "s16le").write(x)
    back = np.frombuffer(buf.getvalue(), "<i2") / 32768.0
    np.testing.assert_array_equal(back, x[:, 0])


def test_file_sink_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"unsupported suffix '.mp3'"):
        FileSink(str(tmp_path / "out.mp3"), 48000, 1)


def test_a_device_that_does_not_exist_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = jimaku_main(
        [
            "broadcast",
            "--input",
            "9999",
            "--output",
            str(tmp_path / "o.wav"),
            "--archive",
            "http://127.0.0.1:9",
            "--channel",
            "1",
            "--json",
            "--device-retries",
            "1",
            "--device-retry-s",
            "0",
            "--state-dir",
            str(tmp_path / "s"),
        ]
    )
    # no device 9999 at the first open: a wrong flag, exit 2 without the device retries (kept
    # for a device that was open and went)
    assert rc == 2
    evs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    errors = [e for e in evs if e["type"] == "error"]
    assert [e["kind"] for e in errors] == ["fatal"]
    assert "device 9999" in errors[0]["message"] and "--list-devices" in errors[0]["message"]


def test_every_issued_token_can_be_given_as_token_option(tmp_path: Path) -> None:
    """One plain token_urlsafe in 64 starts with '-': `--token -x...` was then read as a missing
    argument and the daemon exited 2 at start (the stop tests' broken pipe on stdin)."""
    from archive_server.store import new_token
    from jimaku.cli import build_parser

    tokens = [new_token() for _ in range(2000)]  # a plain draw gives ~31 with a leading '-'
    assert not [t for t in tokens if t.startswith("-")]
    assert len(set(tokens)) == len(tokens) and {len(t) for t in tokens} == {43}
    parser = build_parser()
    for t in tokens[:50]:
        args = parser.parse_args(["broadcast", "--input", "-", "--output", "-", "--token", t])
        assert args.token == t
