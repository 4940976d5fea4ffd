"""Parity of the JavaScript decoder (trigger_codec/js) with trigger_codec on every audio fixture.

The JS CLI (``node trigger_codec/js/decode.mjs --json``) runs on each fixture (non-WAV ones
decoded to a float WAV with audio_io first); its detections must match the manifest and the
Python decoder's: channel, seq and profile equal, start_s within 1 ms, snr_db within 0.5 dB.
Also the CLI's error contract (one line on stderr, exit 2). The node:test unit tests run from
``make test`` (``node --test trigger_codec/js/test/``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audio_io import read_audio
from jimaku.offline.decode import decode_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "audio_fixtures"
CLI = ROOT / "trigger_codec" / "js" / "decode.mjs"
ENTRIES: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())["files"]
#: the manifest's own tolerance on start_s (tests/test_fixtures.py)
MANIFEST_TOL_S = 0.030
START_TOL_S = 0.001
SNR_TOL_DB = 0.5


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not installed: run `make system-deps` (tools/ensure-system-deps.sh)"
    return node


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), str(CLI), *args], capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def js_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """JS detections per fixture file name (one CLI run over all fixtures)."""
    tmp = tmp_path_factory.mktemp("js_wav")
    paths: dict[str, str] = {}
    for e in ENTRIES:
        src = FIXTURES / e["file"]
        if e["format"] == "wav":
            paths[str(src)] = e["file"]
            continue
        data, sr = read_audio(src)
        out = tmp / (Path(e["file"]).stem + ".wav")
        sf.write(out, np.asarray(data, dtype=np.float32), sr, subtype="FLOAT")
        paths[str(out)] = e["file"]
    proc = _run("--json", *paths)
    assert proc.returncode == 0, proc.stderr
    rows: dict[str, list[dict[str, Any]]] = {e["file"]: [] for e in ENTRIES}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        assert set(r) == {"file", "start_s", "end_s", "channel", "seq", "profile", "snr_db"}
        rows[paths[r["file"]]].append(r)
    return rows


def _key(r: Any) -> tuple[int, int, str]:
    if isinstance(r, dict):
        return (r["channel"], r["seq"], r["profile"])
    return (r.channel, r.seq, r.profile)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_js_matches_python_and_manifest(
    entry: dict[str, Any], js_rows: dict[str, list[dict[str, Any]]]
) -> None:
    js = sorted(js_rows[entry["file"]], key=lambda r: r["start_s"])
    py = sorted(decode_file(FIXTURES / entry["file"]).detections, key=lambda d: d.start_s)
    assert [_key(r) for r in js] == [_key(d) for d in py], f"JS {js} vs Python {py}"
    for r, d in zip(js, py, strict=True):
        assert abs(r["start_s"] - d.start_s) <= START_TOL_S + 5e-4, (r, d)  # JS rounds to 1 ms
        assert abs(r["end_s"] - r["start_s"] - 0.48) <= 1.5e-3
        assert abs(r["snr_db"] - d.snr_db) <= SNR_TOL_DB, (r, d)
    if entry["negative"]:
        assert js == []
    for t in entry["triggers"]:
        hits = [
            r
            for r in js
            if _key(r) == _key(t) and abs(r["start_s"] - t["start_s"]) <= MANIFEST_TOL_S
        ]
        assert len(hits) <= 1
        if t["must_decode"]:
            assert hits, f"{t} not found by the JS decoder: {js}"


def test_js_cli_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wav"
    flac = FIXTURES / "hf_alone_44k.flac"
    for bad in (missing, flac):
        proc = _run(str(bad))
        assert proc.returncode == 2
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0], proc.stderr
        assert "Error:" not in proc.stderr and "    at " not in proc.stderr  # no stack trace
    low = tmp_path / "low.wav"
    sf.write(low, np.zeros(22050, dtype=np.float32), 22050, subtype="FLOAT")
    proc = _run("--json", str(low), str(FIXTURES / "stereo_hf_48k.wav"))
    assert proc.returncode == 2
    assert "too low" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert len(proc.stdout.splitlines()) == 2  # the good file is still decoded


@pytest.mark.parametrize("rate", [32000, 44150, 96000])
def test_js_matches_python_at_other_rates(rate: int, tmp_path: Path) -> None:
    """Rates the Python decoder accepts besides 44.1/48 kHz (44150: an odd frame length)."""
    from math import gcd

    from scipy.signal import resample_poly

    from trigger_codec import Decoder

    data, sr = read_audio(FIXTURES / "back_to_back_hf_48k.flac")
    robust, sr2 = read_audio(FIXTURES / "robust_alone_48k.flac")
    assert sr == sr2 == 48000
    mono = np.concatenate([data.mean(axis=1), robust.mean(axis=1)])
    g = gcd(rate, sr)
    x = np.asarray(resample_poly(mono, rate // g, sr // g), dtype=np.float32)
    wav = tmp_path / f"resampled_{rate}.wav"
    sf.write(wav, x, rate, subtype="FLOAT")
    dec = Decoder(rate)
    py = [d for i in range(0, x.size, 4096) for d in dec.feed(x[i : i + 4096])] + dec.flush()
    proc = _run("--json", str(wav))
    assert proc.returncode == 0, proc.stderr
    js = [json.loads(line) for line in proc.stdout.splitlines()]
    expect = 1 if rate == 32000 else 3  # at 32 kHz only robust fits below Nyquist
    assert len(py) == expect
    assert [_key(r) for r in js] == [_key(d) for d in py]
    for r, d in zip(js, py, strict=True):
        assert abs(r["start_s"] - d.start_s) <= START_TOL_S + 5e-4
        assert abs(r["snr_db"] - d.snr_db) <= SNR_TOL_DB
