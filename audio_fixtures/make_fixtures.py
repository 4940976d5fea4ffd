"""Make the committed audio fixtures and ``manifest.json`` (deterministic: fixed seeds).

Run from the repository root::

    .venv/bin/python audio_fixtures/make_fixtures.py            # regenerate every file
    .venv/bin/python audio_fixtures/make_fixtures.py --check    # ... and decode each as a check

Every file and its manifest entry come from one recipe below. The manifest's expected triggers
are what the recipe *placed* (the start sample :class:`trigger_codec.TriggerMixer` returned,
plus the known delay of the stages after it: the room's direct path, a container's measured
priming offset); they are never read back from the decoder. ``--check`` decodes the files
afterwards and prints how they compare, which is how the recipes' chains and SNRs were chosen
(ones the codec decodes reliably today), but nothing it prints is written anywhere.

Manifest entries with ``"recorded": true`` (real recordings added by hand, see
``docs/recording-fixtures.md``) are kept as they are, and their files are never touched.

Programme material comes from :mod:`channel_sim` (espeak-ng speech, synthetic music), so this
script needs the ``bench`` extra and the ``espeak-ng`` Debian package.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_io import read_audio, write_audio
from channel_sim import (
    BroadcastCodec,
    Chain,
    Mic,
    Noise,
    Quantise,
    Room,
    apply_chain_detailed,
    make_programme,
)
from trigger_codec import TriggerMixer, airtime_s

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
#: every recipe's rng is seeded with BASE_SEED + its index in RECIPES
BASE_SEED = 20261128
#: the broadcaster's audio callback size; embedding goes through the mixer in these blocks
MIXER_BLOCK = 1024
#: speed of sound used for the room's direct-path delay, m/s (channel_sim's value)
SOUND_M_S = 343.0

Array = npt.NDArray[np.float32]


@dataclass
class Made:
    """One generated fixture before it is written."""

    name: str
    sample_rate: int
    audio: Array  # (n,) or (n, channels)
    made: dict[str, Any]
    triggers: list[dict[str, Any]] = field(default_factory=list)
    negative: bool = False
    writer: str = "soundfile"  # or "aac-m4a" / "mp3"
    bitrate_kbps: int = 0


def _ids(rng: np.random.Generator, k: int) -> list[tuple[int, int]]:
    return [(int(rng.integers(0, 4096)), int(rng.integers(0, 1 << 20))) for _ in range(k)]


def _embed(
    programme: Array, sr: int, profile: str, at: list[tuple[float, int, int]]
) -> tuple[Array, Array, list[dict[str, Any]]]:
    """Mix triggers in with the real-time mixer, block by block; return (mix, trigger-only, list).

    The trigger entries' ``start_s`` is where the mixer says it put them.
    """
    channels = 1 if programme.ndim == 1 else programme.shape[1]
    mixer = TriggerMixer(sr, profile, channels=channels)
    n = programme.shape[0]
    air = round(airtime_s(profile) * sr)
    trig = []
    for t, ch, seq in at:
        start = mixer.schedule(ch, seq, at_sample=round(t * sr))
        trig.append(
            {
                "channel": ch,
                "seq": seq,
                "profile": profile,
                "start_s": round(start / sr, 6),
                "must_decode": start + air <= n,
            }
        )
    mix = np.concatenate(
        [mixer.process(programme[i : i + MIXER_BLOCK]) for i in range(0, n, MIXER_BLOCK)]
    )
    ref = (mix - programme).astype(np.float32)
    return mix, ref if ref.ndim == 1 else ref.mean(axis=1), trig


def _programme(kind: str, dur: float, sr: int, rng: np.random.Generator) -> Array:
    x = make_programme(kind, dur, sr, rng, voice="ko")
    if (
        kind == "speech"
    ):  # espeak-ng: ~ -19 dBFS RMS, 0.8 peaks; halved to a dialogue level with headroom
        x = x * np.float32(0.5)
    return np.asarray(x, dtype=np.float32)


# --------------------------------------------------------------------------- recipes
def alone(profile: str, sr: int, ids: list[tuple[int, int]] | None = None) -> Callable[..., Made]:
    """One trigger of ``profile`` alone (in -66 dBFS hiss) at ``sr``."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        dur = 2.5
        chosen = ids or _ids(rng, 1)
        prog = np.zeros(round(dur * sr), dtype=np.float32)
        mix, _, trig = _embed(prog, sr, profile, [(0.7, *chosen[0])])
        # -66 dBFS hiss so the file is not digitally silent around the trigger
        mix = mix + rng.normal(0.0, 5e-4, mix.size).astype(np.float32)
        return Made(
            f"{profile}_alone_{sr // 1000}k.flac",
            sr,
            mix,
            {
                "programme": "silence + white hiss -66 dBFS",
                "chain": "direct",
                "snr_db": None,
                "seed": seed,
            },
            trig,
        )

    return make


def in_programme(kind: str, profile: str, sr: int) -> Callable[..., Made]:
    """Two triggers mixed into speech or music at the mixer's level rule."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        prog = _programme(kind, 5.0, sr, rng)
        ids = _ids(rng, 2)
        mix, _, trig = _embed(prog, sr, profile, [(0.8, *ids[0]), (3.0, *ids[1])])
        return Made(
            f"{kind}_{profile}_{sr // 1000}k.flac",
            sr,
            mix,
            {
                "programme": kind,
                "chain": "direct (TriggerMixer level rule)",
                "snr_db": None,
                "seed": seed,
            },
            trig,
        )

    return make


def through_codec(profile: str, bitrate: int, kind: str = "music") -> Callable[..., Made]:
    """Two triggers in a programme, then an AAC round trip (channel_sim, delay removed)."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        sr = 48000
        prog = _programme(kind, 5.0, sr, rng)
        ids = _ids(rng, 2)
        mix, ref, trig = _embed(prog, sr, profile, [(0.8, *ids[0]), (3.0, *ids[1])])
        chain = Chain((BroadcastCodec("aac", bitrate, 2),))
        res = apply_chain_detailed(mix, sr, chain, rng, reference=ref)
        # channel_sim removes the codec's delay: the trigger times are unchanged
        return Made(
            f"{kind}_{profile}_aac{bitrate}_48k.flac",
            sr,
            res.audio,
            {
                "programme": kind,
                "chain": chain.label + " (ffmpeg AAC-LC stereo, delay removed)",
                "snr_db": None,
                "seed": seed,
            },
            trig,
        )

    return make


def through_room(profile: str) -> Callable[..., Made]:
    """Two triggers in speech through a room, pink noise at an in-band SNR and a 44.1 kHz mic."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        sr, rt60, dist, snr = 48000, 0.2, 1.0, 10.0
        prog = _programme("speech", 5.0, sr, rng)
        ids = _ids(rng, 2)
        mix, ref, trig = _embed(prog, sr, profile, [(0.8, *ids[0]), (3.0, *ids[1])])
        chain = Chain(
            (
                Room(rt60, dist, seed=seed % 16),
                Noise("pink", snr_db=snr),
                Mic(44100, 0.0),
                Quantise(16),
            )
        )
        res = apply_chain_detailed(mix, sr, chain, rng, reference=ref)
        delay = dist / SOUND_M_S
        for t in trig:  # heard at (sent + direct path) * clock scale (1.0 here)
            t["start_s"] = round((t["start_s"] + delay) * res.time_scale, 6)
        return Made(
            f"room_speech_{profile}_44k.flac",
            res.sample_rate_hz,
            res.audio,
            {
                "programme": "speech",
                "chain": chain.label,
                "snr_db": snr,
                "seed": seed,
                "room": {"rt60_s": rt60, "distance_m": dist, "rir_seed": seed % 16},
                "notes": f"recorded at 44.1 kHz from a 48 kHz mix; start = placed + {delay:.4f} s "
                "direct path",
            },
            trig,
        )

    return make


def back_to_back(rng: np.random.Generator, seed: int) -> Made:
    """Two hf triggers, the second 0.1 s after the first ends."""
    sr, gap = 48000, 0.1
    prog = _programme("speech", 3.0, sr, rng)
    ids = _ids(rng, 2)
    t2 = 0.5 + airtime_s("hf") + gap
    mix, _, trig = _embed(prog, sr, "hf", [(0.5, *ids[0]), (t2, *ids[1])])
    return Made(
        "back_to_back_hf_48k.flac",
        sr,
        mix,
        {
            "programme": "speech",
            "chain": "direct",
            "snr_db": None,
            "seed": seed,
            "notes": f"second trigger starts {gap} s after the first one ends",
        },
        trig,
    )


def cut_off(rng: np.random.Generator, seed: int) -> Made:
    """Make a complete robust trigger and one cut off by the end of the file."""
    sr, dur = 44100, 3.0
    prog = _programme("music", dur, sr, rng)
    ids = _ids(rng, 2)
    mix, _, trig = _embed(prog, sr, "robust", [(0.6, *ids[0]), (dur - 0.2, *ids[1])])
    assert [t["must_decode"] for t in trig] == [True, False]
    return Made(
        "cut_off_robust_44k.flac",
        sr,
        mix,
        {
            "programme": "music",
            "chain": "direct",
            "snr_db": None,
            "seed": seed,
            "notes": "the second trigger starts 0.2 s before the end (0.28 s of it is missing)",
        },
        trig,
    )


def stereo(rng: np.random.Generator, seed: int) -> Made:
    """Make a stereo programme (speech left, music right) with hf triggers in both."""
    sr = 48000
    left = _programme("speech", 4.0, sr, rng)
    right = _programme("music", 4.0, sr, rng)
    prog = np.stack([left, right], axis=1)
    ids = _ids(rng, 2)
    mix, _, trig = _embed(prog, sr, "hf", [(0.6, *ids[0]), (2.5, *ids[1])])
    return Made(
        "stereo_hf_48k.wav",
        sr,
        mix,
        {
            "programme": "stereo: speech left, music right",
            "chain": "direct (trigger in both)",
            "snr_db": None,
            "seed": seed,
        },
        trig,
    )


def compressed(kind: str, profile: str, sr: int, writer: str, bitrate: int) -> Callable[..., Made]:
    """Two triggers in a stereo programme written as an M4A (AAC) or MP3 file with PyAV."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        prog = _programme(kind, 4.0, sr, rng)
        prog2 = np.stack([prog, prog], axis=1)
        ids = _ids(rng, 2)
        mix, _, trig = _embed(prog2, sr, profile, [(0.6, *ids[0]), (2.5, *ids[1])])
        suffix = "m4a" if writer == "aac-m4a" else "mp3"
        codec = "AAC-LC (ffmpeg native)" if writer == "aac-m4a" else "MP3 (libmp3lame)"
        return Made(
            f"{kind}_{profile}_{writer.split('-')[0]}{bitrate}_{sr // 1000}k.{suffix}",
            sr,
            mix,
            {
                "programme": f"{kind} (stereo, both channels equal)",
                "chain": f"{codec} {bitrate} kbit/s file written with PyAV",
                "snr_db": None,
                "seed": seed,
            },
            trig,
            writer=writer,
            bitrate_kbps=bitrate,
        )

    return make


def negative(kind: str, sr: int) -> Callable[..., Made]:
    """Make a trigger-free file: speech, music, clipped speech, silence, high tones, white noise."""

    def make(rng: np.random.Generator, seed: int) -> Made:
        dur = 4.0
        n = round(dur * sr)
        t = np.arange(n) / sr
        notes = ""
        if kind in ("speech", "music"):
            x = _programme(kind, dur, sr, rng)
        elif kind == "clipped":
            x = np.clip(_programme("speech", dur, sr, rng) * 12.0, -1.0, 1.0)
            notes = "espeak-ng speech x12 (+21.6 dB), hard-clipped at full scale"
        elif kind == "silence":
            x = np.zeros(n)
        elif kind == "tones":
            # 18 kHz (hf band) then 14 kHz (robust band) steady sines, both at once, then a
            # 12 -> 20 kHz linear sweep; -20 dBFS peak each (the trigger's level)
            q = n // 4
            x = np.zeros(n)
            x[:q] = 0.1 * np.sin(2 * np.pi * 18000 * t[:q])
            x[q : 2 * q] = 0.1 * np.sin(2 * np.pi * 14000 * t[q : 2 * q])
            x[2 * q : 3 * q] = 0.05 * (
                np.sin(2 * np.pi * 18000 * t[2 * q : 3 * q])
                + np.sin(2 * np.pi * 14000 * t[2 * q : 3 * q])
            )
            ts = t[: n - 3 * q]
            f0, f1 = 12000.0, 20000.0
            x[3 * q :] = 0.1 * np.sin(2 * np.pi * (f0 * ts + (f1 - f0) / (2 * ts[-1]) * ts**2))
            notes = "1 s 18 kHz, 1 s 14 kHz, 1 s both, 1 s sweep 12-20 kHz; -20 dBFS peak"
        elif kind == "white_noise":
            x = rng.normal(0.0, 0.1, n)
            notes = "white Gaussian noise, -20 dBFS RMS"
        else:
            raise ValueError(kind)
        made = {"programme": kind, "chain": "direct", "snr_db": None, "seed": seed}
        if notes:
            made["notes"] = notes
        return Made(
            f"neg_{kind}_{sr // 1000}k.flac", sr, np.asarray(x, np.float32), made, negative=True
        )

    return make


RECIPES: list[Callable[..., Made]] = [
    alone("hf", 44100, [(0, 0)]),
    alone("hf", 48000, [(4095, 1048575)]),
    alone("robust", 44100),
    alone("robust", 48000),
    in_programme("speech", "hf", 48000),
    in_programme("speech", "robust", 44100),
    in_programme("music", "hf", 44100),
    in_programme("music", "robust", 48000),
    through_codec("robust", 128, "speech"),
    through_codec("hf", 192),
    through_room("hf"),
    through_room("robust"),
    back_to_back,
    cut_off,
    stereo,
    compressed("speech", "hf", 48000, "aac-m4a", 192),
    compressed("speech", "robust", 44100, "mp3", 128),
    negative("speech", 48000),
    negative("music", 48000),
    negative("clipped", 44100),
    negative("silence", 44100),
    negative("tones", 48000),
    negative("white_noise", 48000),
]


# --------------------------------------------------------------------------- writing
def _write_av(path: Path, audio: Array, sr: int, writer: str, bitrate_kbps: int) -> None:
    import av

    fmt, enc = ("ipod", "aac") if writer == "aac-m4a" else ("mp3", "libmp3lame")
    stereo = audio.ndim == 2 and audio.shape[1] == 2
    layout = "stereo" if stereo else "mono"
    planar = np.ascontiguousarray(
        (audio.T if audio.ndim == 2 else audio[None, :]).astype(np.float32)
    )
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(enc, rate=sr)
        stream.bit_rate = bitrate_kbps * 1000
        stream.layout = layout
        step = 1152 * 4
        for i in range(0, planar.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, i : i + step]), format="fltp", layout=layout
            )
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    path.write_bytes(buf.getvalue())


def _offset_samples(source: Array, decoded: Array, max_lag: int) -> int:
    """Lag (samples) of ``decoded`` behind ``source`` (cross-correlation of the programme).

    A property of the container/codec (priming samples the demuxer does or does not trim),
    measured on the programme waveform, not on the triggers.
    """
    from scipy.signal import correlate

    a = source if source.ndim == 1 else source.mean(axis=1)
    b = decoded if decoded.ndim == 1 else decoded.mean(axis=1)
    m = min(a.size, b.size) - max_lag
    c = correlate(b[: m + max_lag], a[:m], mode="valid", method="fft")
    return int(np.argmax(c))


def write_fixture(m: Made) -> dict[str, Any]:
    """Write one file and return its manifest entry."""
    path = HERE / m.name
    shift_s = 0.0
    if m.writer == "soundfile":
        write_audio(path, m.audio, m.sample_rate)
    else:
        _write_av(path, m.audio, m.sample_rate, m.writer, m.bitrate_kbps)
        back, _ = read_audio(path)
        lag = _offset_samples(m.audio, back, max_lag=4096)
        shift_s = lag / m.sample_rate
        m.made["container_offset_s"] = round(shift_s, 6)
    data, sr = read_audio(path)
    dur = data.shape[0] / sr
    triggers = []
    for t in m.triggers:
        t = dict(t, start_s=round(t["start_s"] + shift_s, 6))
        t["must_decode"] = bool(t["must_decode"] and t["start_s"] + airtime_s(t["profile"]) <= dur)
        triggers.append(t)
    entry: dict[str, Any] = {
        "file": m.name,
        "format": path.suffix.lstrip("."),
        "sample_rate": sr,
        "channels": int(data.shape[1]),
        "duration_s": round(dur, 6),
        "made": m.made,
        "triggers": triggers,
        "negative": m.negative,
        "recorded": False,
    }
    return entry


def _check(entries: list[dict[str, Any]]) -> int:
    from jimaku.offline import decode_file

    bad = 0
    for e in entries:
        res = decode_file(HERE / e["file"])
        want = {(t["channel"], t["seq"], t["profile"]): t for t in e["triggers"]}
        got = [(d.channel, d.seq, d.profile, d.start_s, d.snr_db) for d in res.detections]
        notes = []
        for ch, seq, prof, start, snr in got:
            t = want.get((ch, seq, prof))
            if t is None:
                notes.append(f"UNEXPECTED {ch}/{seq} {prof} at {start:.3f}")
                bad += 1
            else:
                notes.append(
                    f"{ch}/{seq} {prof} dt={1000 * (start - t['start_s']):+.0f} ms snr={snr:.1f}"
                )
        for key, t in want.items():
            if t["must_decode"] and not any(g[:3] == key for g in got):
                notes.append(f"MISSED {key}")
                bad += 1
        shown = "; ".join(notes) or ("nothing (ok)" if e["negative"] else "nothing")
        print(f"{e['file']:36s} {shown}")
    print("check:", "all as placed" if not bad else f"{bad} problems")
    return 1 if bad else 0


def align(recording: Path, played: Path) -> float:
    """Return where ``played`` starts in ``recording``, s (for a hand-recorded fixture).

    Cross-correlates the two programmes (whole band, the played file resampled to the
    recording's rate); the trigger decoder is not involved, so a recording's expected trigger
    times stay independent of the code under test.
    """
    from math import gcd

    from scipy.signal import correlate, correlation_lags, resample_poly

    rec, sr_rec = read_audio(recording)
    ref, sr_ref = read_audio(played)
    a, b = rec.mean(axis=1), ref.mean(axis=1)
    if sr_ref != sr_rec:
        g = gcd(sr_rec, sr_ref)
        b = resample_poly(b, sr_rec // g, sr_ref // g).astype(np.float32)
    c = correlate(a, b, mode="full", method="fft")
    lags = correlation_lags(a.size, b.size, mode="full")
    return float(lags[int(np.argmax(np.abs(c)))] / sr_rec)


def main(argv: list[str] | None = None) -> int:
    """Regenerate every fixture and the manifest; keep hand-recorded entries."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="decode every file afterwards")
    ap.add_argument(
        "--align",
        nargs=2,
        metavar=("RECORDING", "PLAYED"),
        help="only print where PLAYED starts in RECORDING (s) and exit; see "
        "docs/recording-fixtures.md",
    )
    args = ap.parse_args(argv)
    if args.align:
        offset = align(Path(args.align[0]), Path(args.align[1]))
        print(f"{args.align[1]} starts at {offset:.3f} s in {args.align[0]}")
        return 0
    kept: list[dict[str, Any]] = []
    if MANIFEST.exists():
        old = json.loads(MANIFEST.read_text())
        kept = [e for e in old.get("files", []) if e.get("recorded")]
    kept_names = {e["file"] for e in kept}
    entries: list[dict[str, Any]] = []
    for i, recipe in enumerate(RECIPES):
        seed = BASE_SEED + i
        made = recipe(np.random.default_rng(seed), seed)
        if made.name in kept_names:
            raise SystemExit(f"{made.name} is a hand-recorded fixture; rename the recipe's file")
        entries.append(write_fixture(made))
        print(f"wrote {made.name} ({(HERE / made.name).stat().st_size // 1024} KiB)", flush=True)
    manifest = {
        "about": "Audio fixtures: what each file holds and how it was made. Generated by "
        "audio_fixtures/make_fixtures.py except entries with recorded=true (added by "
        "hand, see docs/recording-fixtures.md). start_s: seconds from the file's first "
        "sample to the trigger waveform's first sample, as placed.",
        "files": entries + kept,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    total = sum((HERE / e["file"]).stat().st_size for e in manifest["files"])
    print(f"manifest: {len(manifest['files'])} files, {total / 1e6:.2f} MB")
    return _check(entries) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
