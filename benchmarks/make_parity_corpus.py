"""Make the JS/Python decoder parity corpus with channel_sim (cached out of git).

Captures as the channel bench builds them (``benchmarks/bench_channel.py``: triggers at -26 dBFS
RMS in speech / music / speech-like programme, broadcast codec, TV speaker, room, noise at an
in-band SNR, microphone at 44.1 kHz with clock error, AGC, 16-bit), per profile, chain and SNR,
plus trigger-free programme through the same chains (the bench's false-trigger material, cut
into distinct variants). Each capture is a 16-bit WAV; ``index.json`` lists what each holds.

Usage::

    .venv/bin/python benchmarks/make_parity_corpus.py                 # 200 per cell, 1 h
    .venv/bin/python benchmarks/make_parity_corpus.py --n 40 --false-hours 0.2   # reduced

Writes ``bench-out/parity-corpus/`` (``--out``); an existing capture with the same recipe is
kept (the recipe and seed are in the index), so a rerun only adds what is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_channel import (
    ROOMS,
    SPEED_OF_SOUND_M_S,
    SR_RX,
    SR_TX,
    Segment,
    active_end,
    false_material,
    jimaku_profiles,
    variant,
)

__all__ = ["main"]

PER_SEGMENT = 20
TRIGGER_DBFS = -26.0
MAX_PPM = 200.0
#: trigger-free streams are cut into files of this length, s
FALSE_FILE_S = 300.0


def _write(path: Path, audio: np.ndarray, sr: int) -> None:
    sf.write(path, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")


def make_triggered(
    out: Path, chains: list[str], snrs: list[float], n: int, seed: int, log: Any
) -> list[dict[str, Any]]:
    """Write the triggered captures; return their index entries."""
    profiles, why = jimaku_profiles()
    if why:
        raise SystemExit(f"make_parity_corpus: {why}")
    entries: list[dict[str, Any]] = []
    for p in profiles:
        for chain in chains:
            for seg in range(-(-n // PER_SEGMENT)):
                k = min(PER_SEGMENT, n - seg * PER_SEGMENT)
                names = [f"{p.name}_{chain}_s{seg:02d}_{snr:+g}dB.wav" for snr in snrs]
                recipe = {"profile": p.name, "chain": chain, "segment": seg, "k": k, "seed": seed}
                index_files = [out / (nm + ".json") for nm in names]
                if all(f.exists() for f in index_files):
                    cached = [json.loads(f.read_text()) for f in index_files]
                    if all(c["recipe"] == recipe for c in cached):
                        entries += cached
                        continue
                sg = Segment.make(p, chain, seg, k, TRIGGER_DBFS, seed, ROOMS)
                delay_s = sg.distance_m / SPEED_OF_SOUND_M_S
                for snr, nm, idx in zip(snrs, names, index_files, strict=True):
                    res = sg.at_snr(snr, MAX_PPM)
                    _write(out / nm, res.audio, res.sample_rate_hz)
                    triggers = [
                        {
                            "channel": c,
                            "seq": s,
                            "profile": p.name,
                            "start_s": (st / SR_TX + delay_s) * res.time_scale,
                            "end_s": ((st + active_end(w)) / SR_TX + delay_s) * res.time_scale,
                        }
                        for (c, s), st, w in zip(sg.ids, sg.starts, sg.waves, strict=True)
                    ]
                    entry = {
                        "file": nm,
                        "recipe": recipe,
                        "snr_db": snr,
                        "programme": sg.prog_kind,
                        "room": [sg.rt60_s, sg.distance_m],
                        "noise": sg.noise_kind,
                        "sample_rate": res.sample_rate_hz,
                        "triggers": triggers,
                    }
                    idx.write_text(json.dumps(entry))
                    entries.append(entry)
                log(f"  {p.name} {chain} segment {seg + 1}: {k} triggers x {len(snrs)} SNRs")
    return entries


def make_free(
    out: Path, chains: list[str], hours: float, minutes: float, seed: int, log: Any
) -> list[dict[str, Any]]:
    """Write the trigger-free streams; return their index entries."""
    entries: list[dict[str, Any]] = []
    per_chain_s = hours * 3600 / len(chains)
    for chain in chains:
        n_files = int(np.ceil(per_chain_s / FALSE_FILE_S))
        recipe = {"chain": chain, "minutes": minutes, "seed": seed}
        names = [f"free_{chain}_{i:03d}.wav" for i in range(n_files)]
        lengths = [min(FALSE_FILE_S, per_chain_s - i * FALSE_FILE_S) for i in range(n_files)]
        todo = []
        for nm, length in zip(names, lengths, strict=True):
            idx = out / (nm + ".json")
            cached = json.loads(idx.read_text()) if idx.exists() else None
            want = {**recipe, "length_s": length}
            if cached and cached["recipe"] == want:
                entries.append(cached)
            else:
                todo.append((nm, length, want))
        if not todo:
            continue
        material = false_material(chain, minutes, seed)
        rng = np.random.default_rng([seed, 7, len(chain), sum(map(ord, chain))])
        for nm, length, want in todo:
            x = variant(material, SR_RX, length, rng)
            _write(out / nm, x, SR_RX)
            entry = {"file": nm, "recipe": want, "sample_rate": SR_RX, "triggers": []}
            (out / (nm + ".json")).write_text(json.dumps(entry))
            entries.append(entry)
        log(f"  trigger-free {chain}: {sum(lengths) / 60:.1f} min")
    return entries


def main(argv: list[str] | None = None) -> int:
    """Build (or complete) the corpus; write its index.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="triggers per profile, chain and SNR")
    ap.add_argument("--snr", type=float, nargs="+", default=[0.0, 3.0], help="in-band SNRs, dB")
    ap.add_argument("--chains", nargs="+", default=["aac192", "aac128", "mp3-128"])
    ap.add_argument("--false-hours", type=float, default=1.0, help="trigger-free hours in all")
    ap.add_argument("--minutes", type=float, default=5.0, help="programme minutes per chain")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="bench-out/parity-corpus")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.time()
    entries = make_triggered(out, args.chains, args.snr, args.n, args.seed, log)
    entries += make_free(out, args.chains, args.false_hours, args.minutes, args.seed, log)
    (out / "index.json").write_text(
        json.dumps({"args": vars(args), "files": [e["file"] for e in entries]}, indent=1)
    )
    n_trig = sum(len(e["triggers"]) for e in entries)
    free_s = sum(e["recipe"].get("length_s", 0.0) for e in entries)
    log(
        f"parity corpus: {len(entries)} files, {n_trig} triggers, {free_s / 3600:.2f} h "
        f"trigger-free, in {out} ({time.time() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
