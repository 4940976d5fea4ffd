"""``jimaku decode`` / ``encode`` / ``embed`` through the real console script (subprocess).

Expected triggers come from ``audio_fixtures/manifest.json`` (what make_fixtures.py placed) or from
the arguments the test itself passes to ``encode``/``embed``. The many bad-argument variants run
through :func:`jimaku.cli.main` in-process (the same code the script runs) to keep the suite fast;
each kind of bad input is also run once through the script.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from audio_io import read_audio, write_audio
from jimaku.cli import main
from trigger_codec import encode

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "audio_fixtures"
MANIFEST = {e["file"]: e for e in json.loads((FIXTURES / "manifest.json").read_text())["files"]}
JIMAKU = Path(sys.executable).with_name("jimaku")
TOL_S = 0.030


def jimaku(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JIMAKU), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def expected(name: str) -> list[tuple[int, int, str, float]]:
    return [
        (t["channel"], t["seq"], t["profile"], t["start_s"])
        for t in MANIFEST[name]["triggers"]
        if t["must_decode"]
    ]


def assert_matches(
    got: list[dict[str, Any]], want: list[tuple[int, int, str, float]], file: str
) -> None:
    rows = [r for r in got if r["file"] == file]
    assert len(rows) == len(want), (rows, want)
    for (ch, seq, prof, start), r in zip(sorted(want, key=lambda w: w[3]), rows, strict=True):
        assert (r["channel"], r["seq"], r["profile"]) == (ch, seq, prof)
        assert abs(r["start_s"] - start) <= TOL_S, (r, start)


# ----------------------------------------------------------------------------- decode
def test_decode_table_lists_triggers_and_says_when_none() -> None:
    good, neg = "audio_fixtures/speech_hf_48k.flac", "audio_fixtures/neg_speech_48k.flac"
    proc = jimaku("decode", good, neg)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["file", "start_s", "channel", "seq", "profile", "snr_db"]
    rows = [ln.split() for ln in lines[1:] if ln.startswith(good)]
    want = expected("speech_hf_48k.flac")
    assert [(int(r[2]), int(r[3]), r[4]) for r in rows] == [w[:3] for w in want]
    for r, w in zip(rows, want, strict=True):
        assert abs(float(r[1]) - w[3]) <= TOL_S
        float(r[5])  # an SNR figure
    assert f"{neg}: no triggers found" in proc.stdout
    assert "2 triggers in 2 files" in proc.stdout


def test_decode_json_stereo_and_pyav_formats_with_progress() -> None:
    files = ["stereo_hf_48k.wav", "speech_hf_aac192_48k.m4a", "speech_robust_mp3128_44k.mp3"]
    proc = jimaku("decode", "--json", "--progress", *(FIXTURES / f for f in files))
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)  # stdout holds nothing but JSON lines
    assert set(rows[0]) == {"file", "start_s", "end_s", "channel", "seq", "profile", "snr_db"}
    for f in files:
        assert_matches(rows, expected(f), str(FIXTURES / f))


def _check_png(path: Path) -> None:
    assert path.stat().st_size > 20_000
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size[0] >= 800 and img.size[1] >= 400
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    assert float(pixels.std()) > 20.0  # a picture, not a blank canvas


def test_decode_plot_draws_both_bands(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    files = [FIXTURES / "back_to_back_hf_48k.flac", FIXTURES / "neg_tones_48k.flac"]
    proc = jimaku("decode", *files, "--plot", out)
    assert proc.returncode == 0, proc.stderr
    # several files: one plot each, named after the file
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "plot-back_to_back_hf_48k.png",
        "plot-neg_tones_48k.png",
    ]
    for p in tmp_path.iterdir():
        _check_png(p)


def test_decode_plot_single_file_name(tmp_path: Path) -> None:
    out = tmp_path / "one.png"
    assert main(["decode", str(FIXTURES / "music_robust_48k.flac"), "--plot", str(out)]) == 0
    _check_png(out)


# ----------------------------------------------------------------------------- encode
def test_encode_decode_round_trip(tmp_path: Path) -> None:
    hf, rob = tmp_path / "hf.wav", tmp_path / "robust.flac"
    p1 = jimaku("encode", "--channel", "4095", "--seq", "1048575", "-o", hf, "--pad", "0.25")
    p2 = jimaku(
        "encode",
        "--channel",
        "0",
        "--seq",
        "17",
        "--profile",
        "robust",
        "--sample-rate",
        "44100",
        "-o",
        rob,
    )
    assert p1.returncode == 0 and p2.returncode == 0, (p1.stderr, p2.stderr)
    assert "wrote" in p1.stdout
    assert sf.info(str(hf)).samplerate == 48000 and sf.info(str(rob)).samplerate == 44100
    assert sf.info(str(hf)).subtype == "PCM_16"
    proc = jimaku("decode", "--json", hf, rob)
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert_matches(rows, [(4095, 1048575, "hf", 0.25)], str(hf))
    assert_matches(rows, [(0, 17, "robust", 0.0)], str(rob))


# ----------------------------------------------------------------------------- embed
def test_embed_decode_round_trip_mono_and_stereo(tmp_path: Path) -> None:
    mono_in = FIXTURES / "neg_music_48k.flac"
    speech, _ = read_audio(FIXTURES / "neg_speech_48k.flac")
    music, _ = read_audio(mono_in)
    stereo_in = tmp_path / "stereo_in.wav"
    write_audio(stereo_in, np.concatenate([speech, music], axis=1), 48000)
    clipped = FIXTURES / "neg_clipped_44k.flac"  # 44.1 kHz, clipped speech

    out1, out2, out3 = tmp_path / "m.flac", tmp_path / "s.wav", tmp_path / "c.wav"
    # 0:00.5 is M:SS syntax; the 0.7 s trigger would overlap the first, so it is moved
    p1 = jimaku(
        "embed",
        mono_in,
        "--profile",
        "robust",
        "--at",
        "0:00.5:7:123",
        "--at",
        "0.7:8:456",
        "--at",
        "3.0:9:789",
        "--json",
        "-o",
        out1,
    )
    p2 = jimaku("embed", stereo_in, "--at", "0.4:100:1", "--at", "2.5:100:2", "-o", out2)
    p3 = jimaku("embed", clipped, "--at", "3.8:5:5", "--at", "1:5:4", "--json", "-o", out3)
    for p in (p1, p2, p3):
        assert p.returncode == 0, p.stderr
    placed = json.loads(p1.stdout)
    assert [(p["channel"], p["seq"], p["start_s"]) for p in placed] == [
        (7, 123, 0.5),
        (8, 456, 0.98),
        (9, 789, 3.0),  # moved to right after 0.5 + 0.48
    ]
    assert all(p["profile"] == "robust" and p["complete"] for p in placed)
    assert "wrote" in p2.stdout and "0.400 s" in p2.stdout
    placed3 = json.loads(p3.stdout)
    assert [(p["seq"], p["complete"]) for p in placed3] == [(4, True), (5, False)]  # cut off

    assert sf.info(str(out1)).channels == 1 and sf.info(str(out1)).samplerate == 48000
    assert sf.info(str(out2)).channels == 2 and sf.info(str(out2)).samplerate == 48000
    assert sf.info(str(out3)).samplerate == 44100
    assert sf.info(str(out2)).frames == speech.shape[0]
    # both channels carry the trigger: the difference to the input is the same in L and R
    y, _ = read_audio(out2)
    x, _ = read_audio(stereo_in)
    d = y - x
    assert np.max(np.abs(d[:, 0] - d[:, 1])) < 2e-4 and np.max(np.abs(d)) > 0.05

    proc = jimaku("decode", "--json", out1, out2, out3)
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert_matches(
        rows,
        [(7, 123, "robust", 0.5), (8, 456, "robust", 0.98), (9, 789, "robust", 3.0)],
        str(out1),
    )
    assert_matches(rows, [(100, 1, "hf", 0.4), (100, 2, "hf", 2.5)], str(out2))
    assert_matches(rows, [(5, 4, "hf", 1.0)], str(out3))


# ----------------------------------------------------------------------------- bad input
@pytest.fixture
def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "readme.wav"
    text.write_text("not audio\n" * 100)
    text_mp3 = tmp_path / "readme.mp3"
    text_mp3.write_text("not audio\n" * 100)
    low = tmp_path / "phone_8k.wav"
    write_audio(low, np.zeros(8000, dtype=np.float32), 8000)
    nan = tmp_path / "nan.wav"  # a trigger at 0.3 s, then a NaN at 1.5 s
    x = np.zeros(48000 * 2, dtype=np.float32)
    w = encode(12, 34, 48000, "hf")
    x[14400 : 14400 + w.size] = w
    x[72000] = np.nan
    sf.write(str(nan), x, 48000, subtype="FLOAT")
    return {
        "missing": tmp_path / "missing.wav",
        "empty": empty,
        "not audio": text,
        "not audio mp3": text_mp3,
        "8 kHz": low,
        "NaN": nan,
    }


#: what the one-line message must say for each bad input
BAD_MESSAGES = {
    "missing": "no such file",
    "empty": "empty",
    "not audio": "not a readable audio file",
    "not audio mp3": "not a readable audio file",
    "8 kHz": "8000 Hz is too low",
    "NaN": "t = 1.500 s) is not a finite number",
}


def test_decode_bad_files_do_not_stop_the_others(bad_inputs: dict[str, Path]) -> None:
    good = FIXTURES / "hf_alone_48k.flac"
    proc = jimaku("decode", "--json", *bad_inputs.values(), good)
    assert_clean_error(proc)
    errors = proc.stderr.splitlines()
    assert len(errors) == len(bad_inputs)  # one line per bad file
    for (case, path), line in zip(bad_inputs.items(), errors, strict=True):
        assert str(path) in line and BAD_MESSAGES[case] in line, (case, line)
    rows = json_lines(proc.stdout)
    assert_matches(rows, expected("hf_alone_48k.flac"), str(good))
    # what was decoded before the NaN is still reported
    assert_matches(rows, [(12, 34, "hf", 0.3)], str(bad_inputs["NaN"]))


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_decode_each_bad_file_exits_2(
    bad_inputs: dict[str, Path], case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", str(bad_inputs[case])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and BAD_MESSAGES[case] in err[0] and str(bad_inputs[case]) in err[0]


def test_encode_out_of_range_channel_exits_2(tmp_path: Path) -> None:
    proc = jimaku("encode", "--channel", "4096", "--seq", "1", "-o", tmp_path / "x.wav")
    assert_clean_error(proc, "4096")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--channel", "1", "--seq", "1048576"], "1048576"),
        (["--channel", "-1", "--seq", "0"], "-1"),
        (["--channel", "1", "--seq", "1", "--sample-rate", "8000"], "8000 Hz is too low"),
        (["--channel", "1", "--seq", "1", "--sample-rate", "44101"], "44101"),
        (["--channel", "1", "--seq", "1", "--pad", "-1"], "padding"),
        (["--channel", "1", "--seq", "1", "-o", "x.mp3"], ".mp3"),
    ],
)
def test_encode_bad_values_exit_2(
    tmp_path: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "x.wav")]
    else:
        args = [*args[:-1], str(tmp_path / args[-1])]
    assert main(["encode", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_embed_bad_at_exits_2(tmp_path: Path) -> None:
    proc = jimaku(
        "embed", FIXTURES / "neg_speech_48k.flac", "--at", "soon:1:2", "-o", tmp_path / "o.wav"
    )
    assert_clean_error(proc, "'soon'")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize(
    ("at", "needle"),
    [
        ("1:2", "expected TIME:CHANNEL:SEQ"),
        ("1.5", "expected TIME:CHANNEL:SEQ"),
        ("1::2", "expected TIME:CHANNEL:SEQ"),
        ("-1:2:3", "is not a time"),
        ("1:x:3", "channel 'x'"),
        ("1:2:3.5", "seq '3.5'"),
        ("1:4096:3", "4096"),
        ("1:2:1048576", "1048576"),
        ("60:1:2", "beyond the end of the programme (4.000 s)"),
    ],
)
def test_embed_bad_values_exit_2(
    tmp_path: Path, at: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.wav"
    rc = main(["embed", str(FIXTURES / "neg_speech_48k.flac"), f"--at={at}", "-o", str(out)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file left


@pytest.mark.parametrize("case", ["missing", "8 kHz", "NaN"])
def test_embed_bad_programme_exits_2(
    bad_inputs: dict[str, Path], case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "o.wav"
    out.parent.mkdir()
    assert main(["embed", str(bad_inputs[case]), "--at", "0.1:1:2", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and BAD_MESSAGES[case] in err[0], err
    assert list(out.parent.iterdir()) == []


# ----------------------------------------------------------------------------- long files
def test_decode_streams_a_long_file_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    from jimaku.offline import OfflineSettings, decode_file
    from jimaku.offline.plot import BandSpectrogram

    sr, minutes = 48000, 3
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(3)
    wave = encode(321, 654, sr, "robust")
    at_s = (5, 95, 175)
    with sf.SoundFile(str(path), "w", sr, 1, "PCM_16") as f:
        for s in range(minutes * 60 // 5):  # 5 s chunks: the test itself stays small too
            x = rng.normal(0.0, 0.003, 5 * sr).astype(np.float32)
            for t in at_s:
                if s * 5 <= t < (s + 1) * 5:
                    i = (t - s * 5) * sr
                    x[i : i + wave.size] += wave
            f.write(x)
    cfg = OfflineSettings(plot_max_columns=500)
    spec = BandSpectrogram(sr, cfg.plot_nfft, cfg.plot_max_columns)
    tracemalloc.start()
    try:
        result = decode_file(path, cfg, spectrogram=spec)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(d.channel, d.seq, d.profile) for d in result.detections] == [(321, 654, "robust")] * 3
    assert [d.start_s for d in result.detections] == pytest.approx(at_s, abs=TOL_S)
    assert result.duration_s == minutes * 60
    whole_file_bytes = minutes * 60 * sr * 4  # the file as float32: 34.6 MB
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB for a {whole_file_bytes / 1e6:.1f} MB file"
    img = spec.image_db()
    assert img.shape[1] <= cfg.plot_max_columns + 1
    assert img.shape[1] * spec.seconds_per_column == pytest.approx(minutes * 60, rel=0.02)


def test_decode_stops_quietly_when_the_reader_goes_away() -> None:
    files = sorted(str(p) for p in FIXTURES.glob("*.flac") if not p.name.startswith("neg_"))
    with subprocess.Popen(
        [str(JIMAKU), "decode", "--json", *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = json.loads(proc.stdout.readline())  # like `| head -1`
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0
    assert first["file"] == files[0]
    assert "Traceback" not in err and "BrokenPipe" not in err


# ----------------------------------------------------------------------------- Python API
def test_package_exports_and_error_tree(tmp_path: Path) -> None:
    import jimaku.offline as off
    from audio_io import AudioFileError
    from trigger_codec import CodecError

    assert sorted(off.__all__) == sorted(
        [
            "ArgumentError",
            "DecodeResult",
            "InputError",
            "OfflineError",
            "OfflineSettings",
            "Placement",
            "decode_file",
            "embed_file",
            "encode_file",
            "parse_at",
        ]
    )
    assert all(hasattr(off, name) for name in off.__all__)
    assert issubclass(off.InputError, off.OfflineError)
    assert issubclass(off.ArgumentError, off.OfflineError)
    # third-party / other packages' errors are mapped at the boundary, with the cause kept
    with pytest.raises(off.InputError) as exc_info:
        off.decode_file(tmp_path / "missing.wav")
    assert isinstance(exc_info.value.__cause__, AudioFileError)
    with pytest.raises(off.ArgumentError) as arg_info:
        off.encode_file(tmp_path / "x.wav", 1, 1, profile="loud")
    assert isinstance(arg_info.value.__cause__, CodecError)
    assert off.parse_at("1:02.5:7:123") == off.Placement(62.5, 7, 123)
    assert off.parse_at("1:00:00:1:2").time_s == 3600.0
    with pytest.raises(ValueError, match="block_frames"):
        off.OfflineSettings(block_frames=0)


def _write_aac(path: Path, x: np.ndarray, sr: int, fmt: str) -> None:
    import av

    planar = np.ascontiguousarray(np.stack([x, x]).astype(np.float32))
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("aac", rate=sr)
        stream.bit_rate = 192_000
        stream.layout = "stereo"
        for i in range(0, x.size, 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, i : i + 4096]), format="fltp", layout="stereo"
            )
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_decode_mpeg_ts_and_mp4(tmp_path: Path, rng: np.random.Generator) -> None:
    sr, at = 48000, 0.5
    x = rng.normal(0.0, 1e-3, 2 * sr).astype(np.float32)
    w = encode(9, 99, sr, "hf")
    x[round(at * sr) : round(at * sr) + w.size] += w
    ts, mp4 = tmp_path / "broadcast.ts", tmp_path / "clip.mp4"
    _write_aac(ts, x, sr, "mpegts")
    _write_aac(mp4, x, sr, "mp4")
    proc = jimaku("decode", "--json", ts, mp4)
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    # the AAC encoder's 1024 priming samples (21 ms) are inside the 30 ms tolerance whether or
    # not the container trims them
    assert_matches(rows, [(9, 99, "hf", at)], str(ts))
    assert_matches(rows, [(9, 99, "hf", at)], str(mp4))
