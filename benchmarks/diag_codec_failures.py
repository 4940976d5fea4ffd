"""Why does the trigger decoder miss triggers in the channel bench? Counts each failure mode.

Builds the channel bench's segments with ``bench_channel.Segment`` as the bench does (same seeds
and random draws, so the same SNR list reproduces the bench's cells), streams each through a
:class:`trigger_codec.Decoder` (10 ms blocks) observed through its trace
(:mod:`trigger_codec.trace`) and, for every trigger it did not report, looks at the frames
around the trigger's true start:

* ``sync_miss``: no frame phase decoded within +-3 hops of the true start (the preamble metric
  stayed below ``SYNC_MEAN`` there, or, ``sync_skipped``, it passed but the candidate was
  skipped; ``rival``: every phase there was refused by the rival rule);
* ``crc_fail``: decoded at least once there, but the CRC never matched;
* ``z_reject``: the CRC matched (right ID) but ``z < MIN_Z``;
* ``wrong_crc``: the CRC matched a wrong ID (always rejected by ``z`` so far).

For every missed trigger it also decodes at the true phases (+-2 hops) regardless of sync
("oracle") to show what a perfect sync would recover, and reports the programme's in-band level
under the trigger (before the chain), to tell programme interference (cymbals) from noise.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/diag_codec_failures.py --n 200 \
        --snr -9 -6 -3 0 3 6 10 --report 0 10 --chains aac192 --profiles hf
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_channel import CODECS, SR_RX, SR_TX, Segment, jimaku_profiles

from channel_sim import band_power
from channel_sim.room import SPEED_OF_SOUND_M_S
from trigger_codec import PROFILES, Decoder, Detection
from trigger_codec.demod import tone_metrics
from trigger_codec.encoder import LEAD_S
from trigger_codec.framing import MIN_Z, decode_soft, encode_payload
from trigger_codec.grid import PRE_SPAN, Band, Grid, make_bands
from trigger_codec.sync import SYNC_MEAN, sync_metric
from trigger_codec.trace import DecodeAttempt, PhaseDecoded, Recorder

#: --dump: grid rows kept per trigger, from this many frames before the true start frame
_DUMP_BEFORE = 16
_DUMP_ROWS = _DUMP_BEFORE + 2 * 23 + 8


def decode_traced(x: np.ndarray, sr: int, block: int) -> tuple[list[Detection], Recorder]:
    """Stream ``x`` through a traced decoder in ``block``-sample blocks, then flush."""
    rec = Recorder()
    dec = Decoder(sr, trace=rec)
    dets: list[Detection] = []
    for i in range(0, len(x), block):
        dets += dec.feed(x[i : i + block])
    dets += dec.flush()
    return dets, rec


def whole_grid(rec: Recorder, sr: int) -> tuple[Grid, list[Band]]:
    """Return the whole stream's grid (row = absolute frame) from a recorder, and the bands."""
    g = rec.grid()
    bands = make_bands(sr)
    grid = Grid.of_stream(g.power, g.floor, g.share, len(bands))
    pre = np.stack([b.pre for b in bands], axis=1)
    last = grid.rows - PRE_SPAN  # candidates whose preamble frames are all in
    grid.Y[:last] = sync_metric(grid, pre, 0, last)
    return grid, bands


def oracle(grid: Grid, band: Band, frame: int, ident: tuple[int, int]) -> tuple[bool, float]:
    """Decode at frames frame-2..frame+2 regardless of sync: (any accepted right, best z)."""
    ok, best_z = False, -np.inf
    for d in (-2, -1, 0, 1, 2):
        f = frame + d
        if f < 8 or f + 2 * 23 + 2 >= grid.rows:
            continue
        metric, check = tone_metrics(grid, band, f)
        sd = decode_soft(metric, check_energies=check, min_z=-np.inf)
        if sd.crc_ok and sd.found == ident:
            best_z = max(best_z, sd.z)
            ok = ok or sd.z >= MIN_Z
    return ok, best_z


def band_level_db(x: np.ndarray, band_hz: tuple[float, float]) -> float:
    """In-band RMS level of ``x`` (at SR_TX) in dBFS."""
    return float(10 * np.log10(band_power(x, SR_TX, band_hz) + 1e-30))


def run(args: argparse.Namespace) -> dict[str, Any]:
    jprofs, why = jimaku_profiles()
    if why:
        raise SystemExit(why)
    profiles = [p for p in jprofs if p.name in args.profiles]
    report = [float(s) for s in (args.report or args.snr)]
    out: dict[str, Any] = {}
    dump: list[tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, int, int, bool]]] = []
    per_segment = args.per_segment
    for profile in profiles:
        pinfo = PROFILES[profile.name]
        for chain_name in args.chains:
            modes: dict[str, Counter[str]] = {f"{s:g}": Counter() for s in report}
            rows: list[dict[str, Any]] = []
            n_segments = int(np.ceil(args.n / per_segment))
            for seg in range(n_segments):
                k = min(per_segment, args.n - seg * per_segment)
                # the bench's own segment (same seeds and random draws)
                sg = Segment.make(profile, chain_name, seg, k, args.trigger_dbfs, args.seed)
                ids, starts = sg.ids, sg.starts
                prog_kind, noise_kind, rt60, dist = (
                    sg.prog_kind,
                    sg.noise_kind,
                    sg.rt60_s,
                    sg.distance_m,
                )
                # programme level in the trigger band under each trigger, relative to the trigger
                band = (pinfo.f_lo_hz, pinfo.f_hi_hz)
                prog_rel = [
                    band_level_db(sg.programme[st : st + len(w)], band) - band_level_db(w, band)
                    for st, w in zip(starts, sg.waves, strict=True)
                ]
                for snr in args.snr:
                    res = sg.at_snr(snr, args.max_ppm)  # every SNR: keeps the bench's draws
                    if float(snr) not in report:
                        continue
                    # ---- observed decode (10 ms blocks, as the bench)
                    dets, rec = decode_traced(res.audio, SR_RX, int(0.01 * SR_RX))
                    grid, bands = whole_grid(rec, SR_RX)
                    band = next(b for b in bands if b.name == profile.name)
                    phases = [
                        e
                        for e in rec.events
                        if isinstance(e, PhaseDecoded) and e.profile == profile.name
                    ]
                    attempts = [
                        e
                        for e in rec.events
                        if isinstance(e, DecodeAttempt) and e.profile == profile.name
                    ]
                    delay_s = dist / SPEED_OF_SOUND_M_S
                    hop = SR_RX // 100
                    lead_smp = round(LEAD_S * SR_RX)
                    for j, ((c, s), st) in enumerate(zip(ids, starts, strict=True)):
                        t0 = (st / SR_TX + delay_s) * res.time_scale
                        found = any(
                            d.profile == profile.name
                            and (d.channel, d.seq) == (c, s)
                            and abs(d.start_s - t0) < 0.3
                            for d in dets
                        )
                        fpos = (t0 * SR_RX + lead_smp) / hop
                        f0 = round(fpos)
                        near_phases = [e for e in phases if abs(e.frame - f0) <= 3]
                        decoded = [e for e in near_phases if e.outcome != "rival"]
                        near = [e for e in attempts if abs(e.frame - f0) <= 3]
                        words = [w for e in near for w in e.words if w.ident is not None]
                        syncs = [
                            float(grid.Y[f, band.index])
                            if 0 <= f < grid.rows - PRE_SPAN
                            else float("nan")
                            for f in range(f0 - 3, f0 + 4)
                        ]
                        max_sync = float(np.nanmax(syncs))
                        if found:
                            mode = "found"
                        elif not decoded:
                            mode = (
                                "rival"
                                if near_phases
                                else "sync_miss"
                                if max_sync < SYNC_MEAN
                                else "sync_skipped"
                            )
                        elif any(w.ident == (c, s) for w in words):
                            mode = "z_reject"
                        elif words:
                            mode = "wrong_crc"
                        else:
                            mode = "crc_fail"
                        modes[f"{snr:g}"][mode] += 1
                        rec: dict[str, Any] = {
                            "snr": snr,
                            "seg": seg,
                            "rt60": rt60,
                            "dist": dist,
                            "programme": prog_kind,
                            "noise": noise_kind,
                            "trigger": j,
                            "mode": mode,
                            "max_sync": round(max_sync, 3),
                            "prog_in_band_rel_db": round(prog_rel[j], 1),
                            # (hops from the true start, stage, half phase, outcome, z)
                            "attempts": [
                                (
                                    e.frame - f0,
                                    e.stage,
                                    e.half,
                                    e.outcome,
                                    round(z, 2)
                                    if np.isfinite(z := max(e.z, e.viterbi_z))
                                    else None,
                                )
                                for e in near
                            ],
                        }
                        if args.dump:
                            lo = f0 - _DUMP_BEFORE
                            win = slice(lo, lo + _DUMP_ROWS)
                            if lo >= 0 and lo + _DUMP_ROWS <= grid.rows:
                                dump.append(
                                    (
                                        grid.P[win, band.cols],
                                        grid.F[win, band.cols],
                                        encode_payload(c, s),
                                        (snr, seg, j, found),
                                    )
                                )
                        if mode != "found":
                            ok, bz = oracle(grid, band, f0, (c, s))
                            rec["oracle_ok"] = ok
                            rec["oracle_best_z"] = None if not np.isfinite(bz) else round(bz, 2)
                        rows.append(rec)
                print(
                    f"{profile.name} {chain_name} seg {seg} RT60 {rt60} {dist} m {prog_kind} "
                    f"{noise_kind}: "
                    + " ".join(
                        f"{s:g}dB:"
                        + ",".join(
                            f"{r['mode']}"
                            for r in rows
                            if r["seg"] == seg and r["snr"] == s and r["mode"] != "found"
                        )
                        for s in report
                    ),
                    flush=True,
                )
            out[f"{profile.name}/{chain_name}"] = {
                "modes": {s: dict(c) for s, c in modes.items()},
                "triggers": rows,
            }
            print(f"== {profile.name} {chain_name}")
            for key, cnt in modes.items():
                missed = [r for r in rows if r["snr"] == float(key) and r["mode"] != "found"]
                orc = sum(1 for r in missed if r.get("oracle_ok"))
                print(
                    f"  {key:>4s} dB: {dict(cnt)}; oracle decode at true phase +-2 hops "
                    f"recovers {orc} of {len(missed)} missed"
                )
    if args.dump:
        np.savez_compressed(
            args.dump,
            P=np.stack([d[0] for d in dump]),
            F=np.stack([d[1] for d in dump]),
            tones=np.stack([d[2] for d in dump]),
            meta=np.array([d[3] for d in dump], dtype=np.float64),
            profile=np.array([p.name for p in profiles]),
            before=_DUMP_BEFORE,
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--per-segment", type=int, default=20)
    ap.add_argument("--snr", type=float, nargs="+", default=[0.0])
    ap.add_argument("--report", type=float, nargs="+", help="SNRs to analyse (default: all)")
    ap.add_argument("--chains", nargs="+", default=["aac192"], choices=sorted(CODECS))
    ap.add_argument("--profiles", nargs="+", default=["hf"])
    ap.add_argument("--trigger-dbfs", type=float, default=-26.0)
    ap.add_argument("--max-ppm", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--dump", help="also save the band grid around every trigger (npz, offline experiments)"
    )
    ap.add_argument("--out", default="bench-out/diag-codec-failures.json")
    args = ap.parse_args(argv)
    out = run(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
