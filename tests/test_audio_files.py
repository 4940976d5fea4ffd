"""audio_io's files API: formats, stereo, sample types, PyAV formats, bad files, streaming."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_io import (
    AudioFileError,
    AudioIOError,
    audio_info,
    iter_audio_blocks,
    mono,
    read_audio,
    write_audio,
)

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"
MANIFEST = {e["file"]: e for e in json.loads((FIXTURES / "manifest.json").read_text())["files"]}


def _signal(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    return rng.uniform(-0.9, 0.9, (n, channels)).astype(np.float32)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".wav", ".flac"])
@pytest.mark.parametrize("channels", [1, 2])
def test_pcm16_round_trip(
    tmp_path: Path, rng: np.random.Generator, suffix: str, channels: int
) -> None:
    x = _signal(rng, 4801, channels)
    path = tmp_path / f"x{suffix}"
    write_audio(path, x if channels > 1 else x[:, 0], 44100)
    y, sr = read_audio(path)
    assert sr == 44100
    assert y.dtype == np.float32 and y.shape == (4801, channels)
    assert np.max(np.abs(y - x)) <= 1.0 / 32768 + 1e-7  # one 16-bit step
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (44100, channels, 4801)
    assert info.duration_s == pytest.approx(4801 / 44100)


def test_int16_input_is_scaled_to_unit_range(tmp_path: Path) -> None:
    x = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    write_audio(tmp_path / "i.wav", x, 48000)
    y, _ = read_audio(tmp_path / "i.wav")
    assert y[:, 0].tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])


def test_float_subtype_keeps_samples_exactly(tmp_path: Path, rng: np.random.Generator) -> None:
    x = _signal(rng, 1000, 2) * 1.5  # beyond full scale, as a float file may be
    write_audio(tmp_path / "f.wav", x, 48000, subtype="FLOAT")
    y, _ = read_audio(tmp_path / "f.wav")
    np.testing.assert_array_equal(y, x)


def test_ogg_vorbis_round_trip(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    write_audio(tmp_path / "o.ogg", x, 48000)
    y, sr = read_audio(tmp_path / "o.ogg")
    assert sr == 48000 and y.shape[1] == 1
    assert abs(y.shape[0] - 48000) < 2048
    rms = float(np.sqrt(np.mean(y[4000:40000, 0] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


@pytest.mark.parametrize("name", ["speech_hf_aac192_48k.m4a", "speech_robust_mp3128_44k.mp3"])
def test_compressed_formats_read_through_pyav(name: str) -> None:
    entry = MANIFEST[name]
    data, sr = read_audio(FIXTURES / name)
    assert sr == entry["sample_rate"]
    assert data.dtype == np.float32 and data.shape[1] == entry["channels"] == 2
    assert data.shape[0] / sr == pytest.approx(entry["duration_s"], abs=1e-6)
    assert 0.01 < float(np.max(np.abs(data))) <= 1.0
    info = audio_info(FIXTURES / name)
    assert (info.sample_rate, info.channels) == (sr, 2)
    assert info.duration_s == pytest.approx(entry["duration_s"], abs=0.1)


def test_mono_mixdown() -> None:
    x = np.array([[1.0, 0.0], [0.5, -0.5], [0.2, 0.4]], dtype=np.float32)
    assert mono(x).tolist() == pytest.approx([0.5, 0.0, 0.3])
    assert mono(x[:, 0]).tolist() == pytest.approx([1.0, 0.5, 0.2])
    assert mono(x).dtype == np.float32


# ----------------------------------------------------------------------------- bad files
def _bad_files(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    text_mp3 = tmp_path / "notes.mp3"
    text_mp3.write_text("this is not audio either\n" * 50)
    good = tmp_path / "good.wav"
    write_audio(good, np.zeros(48000, dtype=np.float32), 48000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])  # cut inside the header
    header_only = tmp_path / "header_only.wav"
    write_audio(header_only, np.zeros(1, dtype=np.float32), 48000)
    header_only.write_bytes(header_only.read_bytes()[:44])  # a valid header, 0 frames
    return {
        "missing": tmp_path / "missing.flac",
        "directory": tmp_path,
        "empty": empty,
        "text": text,
        "text_mp3": text_mp3,
        "truncated": truncated,
        "no_samples": header_only,
    }


@pytest.mark.parametrize(
    "case", ["missing", "directory", "empty", "text", "text_mp3", "truncated", "no_samples"]
)
def test_bad_files_raise_audio_file_error_naming_the_file(tmp_path: Path, case: str) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(AudioFileError) as exc_info:
        read_audio(path)
    assert str(path) in str(exc_info.value)
    assert isinstance(exc_info.value, AudioIOError)
    with pytest.raises(AudioFileError, match=str(path.name)):
        list(iter_audio_blocks(path, 1024))


@pytest.mark.parametrize("case", ["missing", "empty", "text", "text_mp3"])
def test_audio_info_bad_files(tmp_path: Path, case: str) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(AudioFileError, match=path.name):
        audio_info(path)


def test_write_refuses_bad_requests(tmp_path: Path) -> None:
    x = np.zeros(100, dtype=np.float32)
    with pytest.raises(AudioFileError, match=r"\.mp3"):
        write_audio(tmp_path / "x.mp3", x, 48000)
    with pytest.raises(AudioFileError, match="not positive"):
        write_audio(tmp_path / "x.wav", x, 0)
    with pytest.raises(AudioFileError, match="NaN"):
        write_audio(tmp_path / "x.wav", np.array([0.0, np.nan], dtype=np.float32), 48000)
    with pytest.raises(AudioFileError, match="nothing to write"):
        write_audio(tmp_path / "x.wav", np.zeros(0, dtype=np.float32), 48000)
    with pytest.raises(AudioFileError, match="cannot write"):
        write_audio(tmp_path / "no_such_dir" / "x.wav", x, 48000)
    assert not (tmp_path / "x.wav").exists()


# ----------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("block", [1, 1000, 4096, 100000])
def test_iter_blocks_sizes_and_content(
    tmp_path: Path, rng: np.random.Generator, block: int
) -> None:
    n = 10000
    x = _signal(rng, n, 2)
    write_audio(tmp_path / "s.flac", x, 48000)
    whole, _ = read_audio(tmp_path / "s.flac")
    blocks = list(iter_audio_blocks(tmp_path / "s.flac", block, sample_rate=48000))
    sizes = [b.shape[0] for b in blocks]
    assert sizes[:-1] == [block] * (len(sizes) - 1)
    assert 0 < sizes[-1] <= block and sum(sizes) == n
    assert all(b.shape[1] == 2 and b.dtype == np.float32 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_iter_blocks_checks_the_expected_rate(tmp_path: Path) -> None:
    write_audio(tmp_path / "r.wav", np.zeros(100, dtype=np.float32), 44100)
    with pytest.raises(AudioFileError, match="44100 Hz, expected 48000"):
        list(iter_audio_blocks(tmp_path / "r.wav", 10, sample_rate=48000))
    with pytest.raises(AudioFileError, match="positive"):
        list(iter_audio_blocks(tmp_path / "r.wav", 0))


def test_iter_blocks_pyav_matches_read_audio() -> None:
    path = FIXTURES / "speech_hf_aac192_48k.m4a"
    whole, _ = read_audio(path)
    blocks = list(iter_audio_blocks(path, 4096, sample_rate=48000))
    assert len(blocks) > 1
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_iter_blocks_raw_pcm() -> None:
    x = (np.arange(2 * 2500) - 2500).astype("<i2")
    raw = x.tobytes() + b"\x01"  # a torn last frame is dropped
    blocks = list(
        iter_audio_blocks(io.BytesIO(raw), 1000, sample_rate=48000, channels=2, dtype="int16")
    )
    assert [b.shape for b in blocks] == [(1000, 2), (1000, 2), (500, 2)]
    np.testing.assert_array_equal(np.concatenate(blocks).ravel() * 32768.0, x.astype(np.float32))
    with pytest.raises(AudioFileError, match="sample rate and channel count"):
        list(iter_audio_blocks(io.BytesIO(raw), 1000))
    with pytest.raises(AudioFileError, match="unknown"):
        list(iter_audio_blocks(io.BytesIO(raw), 1000, 48000, 2, dtype="int8"))


def test_iter_blocks_memory_is_bounded(tmp_path: Path) -> None:
    # 60 s of 48 kHz stereo: 11.5 MB as 16-bit, 23 MB as float32 in memory
    path = tmp_path / "long.wav"
    frames, block = 48000 * 60, 4096
    with sf.SoundFile(path, "w", 48000, 2, "PCM_16") as f:
        chunk = np.full((48000, 2), 0.25, dtype=np.float32)
        for _ in range(60):
            f.write(chunk)
    tracemalloc.start()
    try:
        total = 0
        for b in iter_audio_blocks(path, block):
            total += b.shape[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == frames
    block_bytes = block * 2 * 4
    assert peak < 8 * block_bytes, f"peak {peak} B while streaming {block_bytes} B blocks"
