"""Channel bench: trigger detection through simulated broadcast -> TV -> room -> phone chains.

Prints tables and writes ``bench-out/channel.json``. Measures, per profile (jimaku ``hf`` and
``robust``, ggwave's ultrasound protocols side by side) and chain:

* detection rate vs in-band SNR (definition in :mod:`channel_sim.noise`), wrong-ID detections;
* detection latency (audio after the trigger's last sample at the microphone until ``feed``
  returned it, 10 ms blocks), decode CPU per audio second (process time);
* false triggers in hours of trigger-free programme through the same chains (a few minutes of
  varied programme per chain go through the chain once, then many distinct variants are streamed
  through the decoder: random chunk order, gain, polarity, clipping and fresh low-level noise);
* airtime per trigger.

Every trigger is sent at the same RMS level (``--trigger-dbfs``, over its airtime), with programme
at about -20 dBFS RMS underneath, so jimaku and ggwave get the same trigger power.

Usage::

    .venv/bin/python benchmarks/bench_channel.py --quick          # ~minutes
    nohup .venv/bin/python benchmarks/bench_channel.py --full > bench-out/channel.log 2>&1 &
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channel_ggwave import GGWAVE_PROTOCOLS, GgwaveDecoder, gg_encode

from channel_sim import (
    Agc,
    BroadcastCodec,
    Chain,
    Mic,
    Noise,
    Quantise,
    Room,
    Speaker,
    apply_chain_detailed,
    make_programme,
    occupied_band,
)
from channel_sim.chain import ChainResult
from channel_sim.room import SPEED_OF_SOUND_M_S

__all__ = ["main"]

SR_TX = 48000
SR_RX = 44100
#: (rt60_s, distance_m) per segment, cycled: covers RT60 0.2-0.7 s and 0.5-4 m
ROOMS = [
    (0.2, 0.5),
    (0.4, 2.0),
    (0.7, 4.0),
    (0.3, 1.0),
    (0.5, 3.0),
    (0.6, 2.5),
    (0.25, 1.5),
    (0.45, 3.5),
    (0.35, 0.8),
    (0.55, 2.0),
]
#: --rooms choices: "all" as above; "near" (phone within 1 m of the TV: direct sound dominates);
#: "none" (no room stage at all: codec + speaker + noise + mic only)
ROOM_SETS: dict[str, list[tuple[float, float]]] = {
    "all": ROOMS,
    "near": [(0.2, 0.5), (0.4, 0.5), (0.7, 0.5), (0.3, 0.8), (0.5, 0.8), (0.6, 1.0)],
    "none": [(0.0, 0.0)],
}
NOISES = ["pink", "babble+white", "white"]


def noise_stages(kind: str, snr_db: float, band: tuple[float, float]) -> tuple[Noise, ...]:
    """Build the noise stages of a segment.

    Babble (if named) is added at a conversational -30 dBFS, and the named stationary noise at
    the in-band SNR: babble alone has almost no energy in the trigger bands, so an in-band SNR
    for it would mean clipping-loud babble.
    """
    stages: list[Noise] = []
    for part in kind.split("+"):
        if part == "babble":
            stages.append(Noise("babble", snr_db=None, level_dbfs=-30.0))
        else:
            stages.append(Noise(part, snr_db=snr_db, band_hz=band))
    return tuple(stages)


PROGRAMMES = ["speech", "music", "speechlike", "silence", "noise"]
#: chain name -> broadcast codec stage; every chain is codec + TV speaker + room + noise + mic
#: (44.1 kHz, clock error uniform in +-200 ppm) + AGC (20 dB range) + 16-bit quantisation
CODECS = {
    "aac192": BroadcastCodec("aac", 192),
    "aac128": BroadcastCodec("aac", 128),
    "mp3-128": BroadcastCodec("mp3", 128),
    "aac256": BroadcastCodec("aac", 256),
}
GAP_S = 0.5  # silence-of-trigger between triggers (the room tail of the previous one decays)


@dataclass
class Cell:
    """Counts for one (profile, chain, snr) cell."""

    sent: int = 0
    found: int = 0
    wrong: int = 0
    duplicates: int = 0
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    audio_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies_s) if self.latencies_s else None
        return {
            "sent": self.sent,
            "found": self.found,
            "rate": self.found / self.sent if self.sent else None,
            "wrong_id": self.wrong,
            "duplicates": self.duplicates,
            "latency_median_ms": None if lat is None else float(np.median(lat) * 1000),
            "latency_p95_ms": None if lat is None else float(np.percentile(lat, 95) * 1000),
            "latency_max_ms": None if lat is None else float(np.max(lat) * 1000),
            "cpu_ms_per_audio_s": 1000 * self.cpu_s / self.audio_s if self.audio_s else None,
        }


# ----------------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class Profile:
    """A trigger scheme under test: how to make a waveform and a decoder."""

    name: str
    make_wave: Callable[[int, int], np.ndarray]  # (channel, seq) -> float32 at SR_TX
    make_decoder: Callable[[], Any]
    decoder_sr: int
    family: str  # "jimaku" | "ggwave"


def jimaku_profiles() -> tuple[list[Profile], str | None]:
    """Return the trigger_codec profiles, or none and the reason if trigger_codec is not usable."""
    try:
        from trigger_codec import PROFILES, Decoder, encode
    except ImportError as exc:
        return [], f"trigger_codec not importable: {exc}"

    def wave(channel: int, seq: int, profile: str) -> np.ndarray:
        return np.asarray(
            encode(channel=channel, seq=seq, sample_rate=SR_TX, profile=profile), dtype=np.float32
        )

    def decoder() -> Any:
        return Decoder(sample_rate=SR_RX)

    names = [p for p in ("hf", "robust") if p in PROFILES]
    return [
        Profile(name, functools.partial(wave, profile=name), decoder, SR_RX, "jimaku")
        for name in names
    ], None


def ggwave_profiles(names: Sequence[str]) -> list[Profile]:
    """GGwave ultrasound protocols (decoded at 48 kHz after polyphase resampling)."""

    def decoder() -> Any:
        return GgwaveDecoder(48000)

    def wave(channel: int, seq: int, protocol_id: int) -> np.ndarray:
        return gg_encode(channel, seq, SR_TX, protocol_id)

    return [
        Profile(
            name,
            functools.partial(wave, protocol_id=GGWAVE_PROTOCOLS[name]),
            decoder,
            48000,
            "ggwave",
        )
        for name in names
    ]


# ------------------------------------------------------------------------------------ helpers
def _codec_revision() -> str:
    """Return the last commit touching trigger_codec/, with "+dirty" for uncommitted edits."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", "trigger_codec"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "--", "trigger_codec"], cwd=root, check=False, timeout=10
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def _h(name: str) -> int:
    """Return a stable small integer per name (str hash() is salted per process)."""
    return zlib.crc32(name.encode()) % 100000


def active_end(wave: np.ndarray) -> int:
    """Index after the last sample above -60 dB of the peak (ggwave pads its waveform)."""
    idx = np.nonzero(np.abs(wave) > 1e-3 * np.max(np.abs(wave)))[0]
    return int(idx[-1]) + 1 if len(idx) else len(wave)


def to_rx_decoder_rate(x: np.ndarray, sr: int, target: int) -> np.ndarray:
    """Resample the microphone signal to the decoder's rate (ggwave wants 48 kHz)."""
    if sr == target:
        return x
    g = gcd(sr, target)
    return np.asarray(resample_poly(x, target // g, sr // g), dtype=np.float32)


def rms_normalise(wave: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale to an RMS of ``dbfs`` over the samples where the wave is not silent."""
    active = np.abs(wave) > 1e-4 * np.max(np.abs(wave))
    rms = float(np.sqrt(np.mean(wave[active].astype(np.float64) ** 2)))
    return (wave * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def decode_stream(
    profile: Profile, audio: np.ndarray, sr: int, block_s: float
) -> tuple[list[Any], list[float], float]:
    """Feed ``audio`` in blocks; return detections, the stream time each was returned, CPU s."""
    x = to_rx_decoder_rate(audio, sr, profile.decoder_sr)
    t0 = time.process_time()
    dec = profile.make_decoder()
    block = max(1, int(block_s * profile.decoder_sr))
    dets: list[Any] = []
    when: list[float] = []
    for i in range(0, len(x), block):
        got = dec.feed(x[i : i + block])
        dets += got
        when += [min(i + block, len(x)) / profile.decoder_sr] * len(got)
    got = dec.flush()
    dets += got
    when += [len(x) / profile.decoder_sr] * len(got)
    cpu = time.process_time() - t0
    if hasattr(dec, "close"):
        dec.close()
    return dets, when, cpu


# ------------------------------------------------------------------------------ detection run
@dataclass
class Segment:
    """One stream of a detection cell: triggers in programme, through codec, TV and room.

    The noise, microphone and AGC stages (:meth:`at_snr`) come after, once per SNR, drawing from
    the same ``rng``: the draws are in a fixed order, so a seed reproduces every cell.
    """

    rng: np.random.Generator
    ids: list[tuple[int, int]]  # (channel, seq) per trigger
    waves: list[np.ndarray]  # each trigger at SR_TX
    starts: list[int]  # each trigger's first sample in the stream (SR_TX)
    programme: np.ndarray  # the programme alone (SR_TX)
    prog_kind: str
    rt60_s: float
    distance_m: float
    noise_kind: str
    band_hz: tuple[float, float]  # the triggers' occupied band
    pre: ChainResult  # after codec + TV speaker + room

    @classmethod
    def make(
        cls,
        profile: Profile,
        chain_name: str,
        seg: int,
        k: int,
        trigger_dbfs: float,
        seed: int,
        rooms: Sequence[tuple[float, float]] = ROOMS,
    ) -> Segment:
        """Build segment ``seg`` (``k`` triggers) of the cell ``(profile, chain_name)``."""
        rng = np.random.default_rng([seed, seg, _h(chain_name), _h(profile.name)])
        ids = [
            (int(rng.integers(0, 4096)), int(s)) for s in rng.choice(1 << 20, size=k, replace=False)
        ]
        waves = [rms_normalise(profile.make_wave(c, s), trigger_dbfs) for c, s in ids]
        lead = int(0.7 * SR_TX)
        starts, pos = [], lead
        for w in waves:
            starts.append(pos)
            pos += len(w) + int(GAP_S * SR_TX * rng.uniform(1.0, 1.5))
        total = pos + int(0.8 * SR_TX)
        prog_kind = PROGRAMMES[seg % 3]  # speech / music / speechlike under triggers
        programme = make_programme(prog_kind, total / SR_TX, SR_TX, rng)
        ref = np.zeros(total, dtype=np.float32)
        for st, w in zip(starts, waves, strict=True):
            ref[st : st + len(w)] += w
        mix = np.clip(programme + ref, -1.0, 1.0)
        rt60, dist = rooms[seg % len(rooms)]
        room_stage = (Room(rt60, dist, seed=seg % 16),) if dist > 0 else ()
        pre = Chain((CODECS[chain_name], Speaker(), *room_stage))
        pre_res = apply_chain_detailed(mix, SR_TX, pre, rng, reference=ref)
        return cls(
            rng=rng,
            ids=ids,
            waves=waves,
            starts=starts,
            programme=programme,
            prog_kind=prog_kind,
            rt60_s=rt60,
            distance_m=dist,
            noise_kind=NOISES[seg % len(NOISES)],
            band_hz=occupied_band(ref, SR_TX),
            pre=pre_res,
        )

    def at_snr(self, snr: float, max_ppm: float) -> ChainResult:
        """Return the segment as the receiver hears it.

        Adds noise at ``snr`` dB in-band, a microphone at SR_RX with a random clock offset up to
        ``max_ppm``, AGC and 16-bit quantisation.
        """
        post = Chain(
            (
                *noise_stages(self.noise_kind, snr, self.band_hz),
                Mic(SR_RX, clock_ppm=None, max_ppm=max_ppm),
                Agc(20.0, 1.5),
                Quantise(16),
            )
        )
        return apply_chain_detailed(
            self.pre.audio,
            SR_TX,
            post,
            self.rng,
            reference=self.pre.reference,
            reference_after_noise=False,
        )


def run_detection(
    profile: Profile,
    chain_name: str,
    snrs: Sequence[float],
    n_per_cell: int,
    per_segment: int,
    trigger_dbfs: float,
    max_ppm: float,
    seed: int,
    log: Callable[[str], None],
    rooms: Sequence[tuple[float, float]] = ROOMS,
) -> tuple[dict[float, Cell], list[dict[str, Any]]]:
    """Measure the detection cells for one profile and chain over all SNRs.

    Returns the cells and one record per segment (room, programme, noise, found per SNR).
    """
    cells = {snr: Cell() for snr in snrs}
    segments: list[dict[str, Any]] = []
    n_segments = int(np.ceil(n_per_cell / per_segment))
    for seg in range(n_segments):
        k = min(per_segment, n_per_cell - seg * per_segment)
        sg = Segment.make(profile, chain_name, seg, k, trigger_dbfs, seed, rooms)
        ids, waves, starts = sg.ids, sg.waves, sg.starts
        prog_kind, noise_kind, rt60, dist = sg.prog_kind, sg.noise_kind, sg.rt60_s, sg.distance_m
        seg_found: dict[str, int] = {}
        for snr in snrs:
            res = sg.at_snr(snr, max_ppm)
            dets, when, cpu = decode_stream(profile, res.audio, res.sample_rate_hz, 0.01)
            cell = cells[snr]
            cell.sent += k
            cell.cpu_s += cpu
            cell.audio_s += len(res.audio) / res.sample_rate_hz
            delay_s = dist / SPEED_OF_SOUND_M_S
            exp = [
                (
                    (st / SR_TX + delay_s) * res.time_scale,
                    ((st + active_end(w)) / SR_TX + delay_s) * res.time_scale,
                )
                for st, w in zip(starts, waves, strict=True)
            ]
            seen: set[int] = set()
            for det, t_ret in zip(dets, when, strict=True):
                match = None
                for i, ((c, s), (t0, t1)) in enumerate(zip(ids, exp, strict=True)):
                    if det.channel == c and det.seq == s:
                        tol_ok = (
                            abs(det.start_s - t0) < 0.3
                            if profile.family == "jimaku"
                            else t0 - 0.1 < det.end_s < t1 + 1.0
                        )
                        if tol_ok:
                            match = i
                            break
                if match is None:
                    cell.wrong += 1
                elif match in seen:
                    cell.duplicates += 1
                else:
                    seen.add(match)
                    cell.found += 1
                    seg_found[f"{snr:g}"] = seg_found.get(f"{snr:g}", 0) + 1
                    cell.latencies_s.append(t_ret - exp[match][1])
        log(
            f"  {profile.name:13s} {chain_name:8s} seg {seg + 1}/{n_segments} "
            f"({prog_kind}, {noise_kind}, RT60 {rt60} s, {dist} m): "
            + " ".join(f"{s:+g}dB:{seg_found.get(f'{s:g}', 0)}/{k}" for s in snrs)
        )
        segments.append(
            {
                "rt60_s": rt60,
                "distance_m": dist,
                "programme": prog_kind,
                "noise": noise_kind,
                "sent": k,
                "found": {f"{s:g}": seg_found.get(f"{s:g}", 0) for s in snrs},
            }
        )
    return cells, segments


# --------------------------------------------------------------------------- false triggers
def false_material(chain_name: str, minutes: float, seed: int) -> np.ndarray:
    """Trigger-free programme through the chain once (at SR_RX)."""
    rng = np.random.default_rng([seed, 99, _h(chain_name)])
    parts = []
    per = minutes * 60 / len(PROGRAMMES)
    for i, kind in enumerate(PROGRAMMES):
        prog = make_programme(kind, per, SR_TX, rng)
        rt60, dist = ROOMS[i % len(ROOMS)]
        chain = Chain(
            (
                CODECS[chain_name],
                Speaker(),
                Room(rt60, dist, seed=i),
                Noise("babble" if i % 2 else "pink", snr_db=None, level_dbfs=-45.0 + 5 * i),
                Mic(SR_RX, clock_ppm=None, max_ppm=200),
                Agc(20.0, 1.5),
                Quantise(16),
            )
        )
        out, _ = apply_chain_detailed(prog, SR_TX, chain, rng).audio, SR_RX
        parts.append(out)
    return np.concatenate(parts)


def variant(material: np.ndarray, sr: int, length_s: float, rng: np.random.Generator) -> np.ndarray:
    """Cut a distinct stream from ``material``: random chunks, gains, polarity, clipping, noise."""
    n = int(length_s * sr)
    out = np.empty(n, dtype=np.float32)
    pos = 0
    fade = int(0.005 * sr)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    while pos < n:
        m = min(int(rng.uniform(1.0, 6.0) * sr), n - pos, len(material) - 1)
        st = int(rng.integers(0, len(material) - m))
        chunk = material[st : st + m] * np.float32(10 ** (rng.uniform(-20, 12) / 20))
        if rng.random() < 0.5:
            chunk = -chunk
        if m > 2 * fade:
            chunk[:fade] *= ramp
            chunk[-fade:] *= ramp[::-1]
        np.clip(chunk, -1.0, 1.0, out=chunk)  # loud chunks clip like an overdriven input
        out[pos : pos + m] = chunk
        pos += m
    out += rng.standard_normal(n, dtype=np.float32) * np.float32(10 ** (rng.uniform(-80, -55) / 20))
    return out


def run_false(
    profile_groups: dict[str, list[Profile]],
    chains: Sequence[str],
    hours: dict[str, float],
    minutes: float,
    seed: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Count false triggers per decoder family over ``hours[family]`` split across ``chains``."""
    results: dict[str, Any] = {}
    materials = {c: false_material(c, minutes, seed) for c in chains}
    for family, profiles in profile_groups.items():
        if not profiles or hours.get(family, 0) <= 0:
            continue
        prof = profiles[0]  # one decoder listens for every profile of its family
        per_chain_s = hours[family] * 3600 / len(chains)
        total_s, cpu, false_dets = 0.0, 0.0, []
        for c in chains:
            mat = to_rx_decoder_rate(materials[c], SR_RX, prof.decoder_sr)
            rng = np.random.default_rng([seed, 7, _h(c), _h(family)])
            done = 0.0
            while done < per_chain_s:
                length = min(600.0, per_chain_s - done)
                x = variant(mat, prof.decoder_sr, length, rng)
                dets, _, c_cpu = decode_stream(prof, x, prof.decoder_sr, 0.1)
                cpu += c_cpu
                done += length
                false_dets += [
                    {"chain": c, "channel": d.channel, "seq": d.seq, "profile": d.profile}
                    for d in dets
                ]
            total_s += done
            log(f"  false {family:7s} {c:8s}: {done / 3600:.2f} h, {len(false_dets)} false so far")
        results[family] = {
            "hours": total_s / 3600,
            "false_triggers": len(false_dets),
            "per_hour": len(false_dets) / (total_s / 3600),
            "cpu_ms_per_audio_s": 1000 * cpu / total_s,
            "examples": false_dets[:20],
            "material_minutes_per_chain": minutes,
        }
    return results


# ----------------------------------------------------------------------------------- main
def print_tables(out: dict[str, Any]) -> None:
    """Print the detection, airtime and false-trigger tables of a result dict."""
    args = out["args"]
    detection = out["detection"]
    snr_keys = sorted({k for p in detection.values() for c in p.values() for k in c}, key=float)
    print()
    print("Detection rate (found/sent) vs in-band SNR; chain = codec + TV speaker + room + noise +")
    print(
        f"mic 44.1 kHz (+-{args['max_ppm']:g} ppm) + AGC 20 dB + 16-bit; "
        f"trigger RMS {args['trigger_dbfs']:g} dBFS; latency/CPU over all SNRs"
    )
    head = (
        f"{'profile':13s} {'chain':8s} "
        + " ".join(f"{float(s):>+8g}dB" for s in snr_keys)
        + "  wrong  lat50  lat95  cpu ms/s"
    )
    print(head)
    print("-" * len(head))
    for pname, per_chain in detection.items():
        for c, d in per_chain.items():
            rates = " ".join(
                f"{100 * d[s]['rate']:9.1f}%" if s in d else f"{'-':>10s}" for s in snr_keys
            )
            cells = [d[s] for s in snr_keys if s in d]
            wrong = sum(x["wrong_id"] for x in cells)
            lat = [x["latency_median_ms"] for x in cells if x["found"]]
            l95 = [x["latency_p95_ms"] for x in cells if x["found"]]
            cpu = float(np.mean([x["cpu_ms_per_audio_s"] for x in cells]))
            lat50 = float(np.median(lat)) if lat else float("nan")
            lat95 = float(np.max(l95)) if l95 else float("nan")
            print(f"{pname:13s} {c:8s} {rates}  {wrong:5d} {lat50:6.0f} {lat95:6.0f} {cpu:9.2f}")
    segs = out.get("segments", {})
    if segs:
        rooms = next(iter(next(iter(segs.values())).values()))
        print()
        print("Found per room (of sent) at the highest SNR; rooms as RT60 s / distance m")
        print(
            f"{'profile':13s} {'chain':8s} "
            + " ".join(f"{r['rt60_s']:>4g}/{r['distance_m']:<4g}" for r in rooms)
        )
        top = snr_keys[-1]
        for pname, per_chain in segs.items():
            for c, rs in per_chain.items():
                cells_txt = " ".join(f"{r['found'].get(top, 0):>3d}/{r['sent']:<5d}" for r in rs)
                print(f"{pname:13s} {c:8s} {cells_txt}")
    print()
    print(f"trigger_codec revision: {out.get('trigger_codec_rev', 'unknown')}")
    print(f"{'profile':13s} airtime s")
    for name, a in out["airtime_s"].items():
        print(f"{name:13s} {a:.3f}")
    print()
    print(
        "False triggers in trigger-free programme "
        "(speech, music, speech-like, silence, noise; variants)"
    )
    for fam, r in out["false_triggers"].items():
        print(
            f"{fam:8s} {r['hours']:.2f} h: {r['false_triggers']} false triggers "
            f"({r['per_hour']:.3f}/h), decoder CPU {r['cpu_ms_per_audio_s']:.2f} ms per audio s"
        )


def merge(paths: Sequence[str], out_path: str) -> int:
    """Merge result files of partial runs (e.g. jimaku and ggwave run separately)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    out = dict(parts[0])
    for key in ("airtime_s", "detection", "false_triggers", "chains", "segments"):
        out[key] = {k: v for part in parts for k, v in part.get(key, {}).items()}
    out["merged_from"] = list(paths)
    out["wall_s"] = sum(p["wall_s"] for p in parts)
    out["cpu_s"] = sum(p["cpu_s"] for p in parts)
    print_tables(out)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {out_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench (see module docstring)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small run (default)")
    mode.add_argument(
        "--full", action="store_true", help=">= 200 triggers per cell, 10 h false-trigger run"
    )
    ap.add_argument("--n", type=int, help="triggers per cell")
    ap.add_argument("--snr", type=float, nargs="+", help="in-band SNRs in dB")
    ap.add_argument("--chains", nargs="+", choices=sorted(CODECS), help="chains (by codec)")
    ap.add_argument(
        "--profiles", nargs="+", help="profiles: hf robust gg-U-normal gg-U-fast gg-U-fastest"
    )
    ap.add_argument("--false-hours", type=float, help="hours of trigger-free audio for jimaku")
    ap.add_argument("--gg-false-hours", type=float, help="hours of trigger-free audio for ggwave")
    ap.add_argument("--trigger-dbfs", type=float, default=-26.0, help="trigger RMS level, dBFS")
    ap.add_argument("--max-ppm", type=float, default=200.0, help="receiver clock error bound, ppm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rooms", choices=sorted(ROOM_SETS), default="all", help="room set")
    ap.add_argument("--out", default="bench-out/channel.json")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="merge partial results into --out")
    args = ap.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)

    full = bool(args.full)
    n = args.n or (200 if full else 20)
    snrs = args.snr or ([-9.0, -6.0, -3.0, 0.0, 3.0, 6.0, 10.0] if full else [-3.0, 0.0, 6.0])
    chains = args.chains or ["aac192", "aac128", "mp3-128"]
    false_hours = args.false_hours if args.false_hours is not None else (10.0 if full else 0.5)
    gg_false_hours = (
        args.gg_false_hours if args.gg_false_hours is not None else (2.0 if full else 0.2)
    )
    minutes = 5.0 if full else 1.0

    def log(msg: str) -> None:
        print(msg, flush=True)

    codec_rev = _codec_revision()
    jprofs, why = jimaku_profiles()
    if why:
        log(f"NOTE: {why}; benchmarking ggwave only")
    gprofs = ggwave_profiles(list(GGWAVE_PROTOCOLS) if full else ["gg-U-fastest"])
    profiles = jprofs + gprofs
    if args.profiles:
        profiles = [p for p in profiles if p.name in args.profiles]
    log(
        f"channel bench: {'full' if full else 'quick'}, {n} triggers/cell, SNR {snrs} dB, "
        f"chains {chains}, "
        f"profiles {[p.name for p in profiles]}"
    )
    t_start = time.time()

    airtime = {p.name: active_end(p.make_wave(1, 1)) / SR_TX for p in profiles}
    detection: dict[str, dict[str, dict[str, Any]]] = {}
    segments: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in profiles:
        for c in chains:
            cells, segs = run_detection(
                p,
                c,
                snrs,
                n,
                20,
                args.trigger_dbfs,
                args.max_ppm,
                args.seed,
                log,
                ROOM_SETS[args.rooms],
            )
            detection.setdefault(p.name, {})[c] = {f"{s:g}": cells[s].as_dict() for s in snrs}
            segments.setdefault(p.name, {})[c] = segs

    groups = {
        "jimaku": [p for p in profiles if p.family == "jimaku"],
        "ggwave": [p for p in profiles if p.family == "ggwave"],
    }
    false = run_false(
        groups, chains, {"jimaku": false_hours, "ggwave": gg_false_hours}, minutes, args.seed, log
    )

    out = {
        "mode": "full" if full else "quick",
        "args": vars(args),
        "snr_definition": "in-band: trigger power (active span) / noise power, both "
        "band-passed to the "
        "trigger's 99 % power band, measured at the microphone before mic/AGC/quantisation",
        "chains": {
            c: f"{CODECS[c].label}+tv+room(RT60 0.2-0.7 s, 0.5-4 m)+noise(pink/babble/white)+"
            f"mic44.1k(+-{args.max_ppm:g}ppm)+agc20dB+q16"
            for c in chains
        },
        "airtime_s": airtime,
        "detection": detection,
        "segments": segments,
        "false_triggers": false,
        "wall_s": time.time() - t_start,
        "cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "trigger_codec_rev": codec_rev,
    }
    print_tables(out)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"\nwrote {path}  ({out['wall_s']:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
