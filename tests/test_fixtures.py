"""Every audio fixture decodes to exactly what its manifest says was placed in it.

The expected values come from ``audio_fixtures/manifest.json``, which ``make_fixtures.py`` writes
from what it placed (mixer start sample + known chain delays), never from decoding.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from audio_io import audio_info
from jimaku.offline import decode_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "audio_fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
ENTRIES: list[dict[str, Any]] = MANIFEST["files"]
#: a detection's start must be within this of the placed start, s
START_TOL_S = 0.030
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".ogg", ".ts", ".mp4"}


def test_manifest_lists_every_fixture_file_and_nothing_else() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES}
    listed = [e["file"] for e in ENTRIES]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert set(listed) == on_disk


def test_fixtures_are_small() -> None:
    total = sum((FIXTURES / e["file"]).stat().st_size for e in ENTRIES)
    assert total < 15e6, f"audio fixtures take {total / 1e6:.1f} MB (limit 15 MB)"


def test_manifest_covers_the_required_cases() -> None:
    made = " ".join(json.dumps(e["made"]) for e in ENTRIES)
    profiles_rates = {(t["profile"], e["sample_rate"]) for e in ENTRIES for t in e["triggers"]}
    assert {("hf", 44100), ("hf", 48000), ("robust", 44100), ("robust", 48000)} <= profiles_rates
    for needle in ("aac128", "aac192", "room", "pink@"):
        assert needle in made, needle
    assert any(not t["must_decode"] for e in ENTRIES for t in e["triggers"]), "cut-off trigger"
    assert any(e["channels"] == 2 for e in ENTRIES), "a stereo file"
    assert {"mp3", "m4a"} <= {e["format"] for e in ENTRIES}
    negatives = {e["made"]["programme"] for e in ENTRIES if e["negative"]}
    assert {"speech", "music", "clipped", "silence", "tones", "white_noise"} <= negatives
    for e in ENTRIES:
        assert e["negative"] == (not e["triggers"]), e["file"]


def _gaps_s(entry: dict[str, Any]) -> list[float]:
    starts = sorted(t["start_s"] for t in entry["triggers"])
    return [b - a for a, b in itertools.pairwise(starts)]


def test_back_to_back_fixture_is_0_1_s_apart() -> None:
    entry = next(e for e in ENTRIES if e["file"].startswith("back_to_back"))
    assert _gaps_s(entry) == [pytest.approx(0.48 + 0.1, abs=1e-3)]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_fixture_header_matches_manifest(entry: dict[str, Any]) -> None:
    info = audio_info(FIXTURES / entry["file"])
    assert info.sample_rate == entry["sample_rate"]
    assert info.channels == entry["channels"]
    if entry["format"] in ("wav", "flac"):  # PyAV containers give an estimate only
        assert info.duration_s == pytest.approx(entry["duration_s"], abs=1e-6)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_fixture_decodes_as_manifest(entry: dict[str, Any]) -> None:
    result = decode_file(FIXTURES / entry["file"])
    assert result.sample_rate == entry["sample_rate"]
    assert result.duration_s == pytest.approx(entry["duration_s"], abs=0.05)
    found = [(d.channel, d.seq, d.profile, d.start_s) for d in result.detections]
    if entry["negative"]:
        assert found == [], f"false trigger(s) in a trigger-free file: {found}"
        return
    unmatched = list(found)
    for t in entry["triggers"]:
        hits = [
            f
            for f in unmatched
            if f[:3] == (t["channel"], t["seq"], t["profile"])
            and abs(f[3] - t["start_s"]) <= START_TOL_S
        ]
        assert len(hits) <= 1, f"{t} reported {len(hits)} times"
        if t["must_decode"]:
            assert hits, f"trigger {t} not found; decoded {found}"
        for h in hits:
            unmatched.remove(h)
    assert unmatched == [], f"detections not in the manifest: {unmatched}"


# ----------------------------------------------------------------- make_fixtures.py itself
def _load_maker(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = "make_fixtures_under_test"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def maker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """make_fixtures.py writing into tmp_path, with two quick recipes (real code otherwise)."""
    mod = _load_maker(monkeypatch)
    monkeypatch.setattr(mod, "HERE", tmp_path)
    monkeypatch.setattr(mod, "MANIFEST", tmp_path / "manifest.json")
    monkeypatch.setattr(mod, "RECIPES", [mod.alone("hf", 48000), mod.negative("silence", 44100)])
    return mod


def test_make_fixtures_keeps_hand_recorded_entries(maker: ModuleType, tmp_path: Path) -> None:
    recorded_bytes = b"not regenerated"
    (tmp_path / "phone_tv_1.m4a").write_bytes(recorded_bytes)
    recorded = {
        "file": "phone_tv_1.m4a",
        "recorded": True,
        "negative": False,
        "triggers": [
            {"channel": 7, "seq": 1, "profile": "hf", "start_s": 2.0, "must_decode": True}
        ],
    }
    stale = {"file": "old_generated.flac", "recorded": False, "negative": True, "triggers": []}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": [recorded, stale]}))
    assert maker.main([]) == 0
    files = json.loads((tmp_path / "manifest.json").read_text())["files"]
    names = [e["file"] for e in files]
    assert names == ["hf_alone_48k.flac", "neg_silence_44k.flac", "phone_tv_1.m4a"]
    assert files[-1] == recorded
    assert (tmp_path / "phone_tv_1.m4a").read_bytes() == recorded_bytes


def test_make_fixtures_is_deterministic(maker: ModuleType, tmp_path: Path) -> None:
    assert maker.main([]) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert maker.main([]) == 0
    second = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert first == second


def test_align_finds_where_the_played_file_starts_in_a_recording(
    maker: ModuleType, tmp_path: Path, rng: Any
) -> None:
    from scipy.signal import resample_poly

    from audio_io import read_audio, write_audio

    played = FIXTURES / "speech_hf_48k.flac"
    x, sr = read_audio(played)
    delay_s = 1.25
    # a "phone recording": starts 1.25 s early, 44.1 kHz, with some hiss
    y = np.concatenate([np.zeros(round(delay_s * sr), np.float32), x[:, 0], np.zeros(sr)])
    rec = resample_poly(y, 147, 160)
    rec = rec + rng.normal(0.0, 0.01, rec.size)
    write_audio(tmp_path / "rec.wav", rec.astype(np.float32), 44100)
    assert maker.align(tmp_path / "rec.wav", played) == pytest.approx(delay_s, abs=1e-3)
