"""Receiver audio sources: files, stdin, pacing, mono mix-down, and their errors."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from receiver_app.errors import AudioInputError
from receiver_app.source import FileSource, to_mono


def test_to_mono_averages_channels() -> None:
    x = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]], np.float32)
    assert to_mono(x).tolist() == [0.5, 0.5, 0.0]
    assert to_mono(x[:, :1]).tolist() == [1.0, 0.5, -1.0]
    assert to_mono(np.arange(3, dtype=np.int64)).dtype == np.float32


def _stdin(monkeypatch: pytest.MonkeyPatch, raw: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))


def test_stdin_wav_is_read_and_cut_into_blocks(
    monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    x = (0.1 * rng.standard_normal((10000, 2))).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 44100, format="WAV", subtype="FLOAT")
    _stdin(monkeypatch, buf.getvalue())
    src = FileSource("-", block_frames=4096, realtime=False)
    assert src.sample_rate == 44100
    blocks = list(src.blocks())
    assert [len(b) for b in blocks] == [4096, 4096, 1808]
    np.testing.assert_allclose(np.concatenate(blocks), x.mean(axis=1), atol=1e-7)


def test_stdin_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b"")
    with pytest.raises(AudioInputError, match="stdin is empty"):
        FileSource("-")
    _stdin(monkeypatch, b"definitely not audio")
    with pytest.raises(AudioInputError, match=r"stdin \(20 bytes\) is not a WAV"):
        FileSource("-")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="does not exist"):
        FileSource(str(tmp_path / "nope.wav"))


def test_realtime_pacing_never_runs_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(4800, np.float32), 48000, format="WAV")
    _stdin(monkeypatch, buf.getvalue())
    src = FileSource("-", block_frames=1200, realtime=True)
    t0 = time.monotonic()
    for i, _ in enumerate(src.blocks(), start=1):
        # A block is handed over only once its last sample would have been heard.
        assert time.monotonic() - t0 >= i * 1200 / 48000 - 0.002
    assert src.start_wall is not None
