"""Why does the trigger decoder miss triggers in the channel bench? Counts each failure mode.

Builds the channel bench's segments with ``bench_channel.Segment`` as the bench does (same seeds
and random draws, so the same SNR list reproduces the bench's cells), streams each through an
instrumented :class:`trigger_codec.Decoder` (10 ms blocks) and, for every trigger it did not
report, looks at the frames around the trigger's true start:

* ``sync_miss``: no decode attempt within +-3 hops of the true start (the preamble metric stayed
  below ``SYNC_MEAN`` there, or, ``sync_skipped``, it passed but the candidate was skipped);
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
from trigger_codec import PROFILES
from trigger_codec.decoder import SYNC_MEAN, Decoder
from trigger_codec.framing import MIN_Z, decode_soft, encode_payload
from trigger_codec.profiles import PREAMBLE_SYMBOLS

#: --dump: grid rows kept per trigger, from this many frames before the true start frame
_DUMP_BEFORE = 16
_DUMP_ROWS = _DUMP_BEFORE + 2 * 23 + 8


class TracingDecoder(Decoder):
    """A Decoder that keeps the whole normalised grid and logs every decode attempt."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__(sample_rate)
        self.attempts: list[tuple[str, int, bool, float, tuple[int, int] | None]] = []
        self.all_S: list[np.ndarray] = []
        self.all_P: list[np.ndarray] = []
        self.all_F: list[np.ndarray] = []

    def _frames(self, k: int) -> None:
        super()._frames(k)
        self.all_S.append(self._S[self._rows - k : self._rows].copy())
        self.all_P.append(self._P[self._rows - k : self._rows].copy())
        self.all_F.append(self._F[self._rows - k : self._rows].copy())

    def _demodulate(self, b: Any, row: int, frame: int) -> Any:
        metric, check = self._tone_metric(b, row)
        sd = decode_soft(metric, check_energies=check, min_z=-np.inf)
        ident = None
        if sd.crc_ok:
            ident = sd.found
        self.attempts.append((b.profile.name, frame, sd.crc_ok, sd.z, ident))
        return super()._demodulate(b, row, frame)


def analyse_grid(dec: TracingDecoder) -> Decoder:
    """Return a plain Decoder whose grids hold the whole stream (row = absolute frame)."""
    off = Decoder(dec.sample_rate)
    off._S = np.concatenate(dec.all_S)
    off._P = np.concatenate(dec.all_P)
    off._F = np.concatenate(dec.all_F)
    return off


def sync_metric(off: Decoder, bi: int, frame: int) -> float:
    if frame < 0 or frame + 2 * (PREAMBLE_SYMBOLS - 1) >= off._S.shape[0]:
        return float("nan")
    return float(off._sync_metric(frame, frame + 1)[0, bi])


def oracle(off: Decoder, bi: int, frame: int, ident: tuple[int, int]) -> tuple[bool, float]:
    """Decode at frames frame-2..frame+2 regardless of sync: (any accepted right, best z)."""
    b = off._bands[bi]
    ok, best_z = False, -np.inf
    for d in (-2, -1, 0, 1, 2):
        row = frame + d
        if row < 8 or row + 2 * 23 + 2 >= off._P.shape[0]:
            continue
        metric, check = off._tone_metric(b, row)
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
                    # ---- instrumented decode (10 ms blocks, as the bench)
                    dec = TracingDecoder(SR_RX)
                    x = res.audio
                    block = int(0.01 * SR_RX)
                    dets = []
                    for i in range(0, len(x), block):
                        dets += dec.feed(x[i : i + block])
                    # flush() resets the decoder: keep its last frames first
                    dets += dec.flush()
                    off = analyse_grid(dec)
                    bi = [b.profile.name for b in off._bands].index(profile.name)
                    delay_s = dist / SPEED_OF_SOUND_M_S
                    hop = off._n // 2
                    lead_smp = off._lead
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
                        near = [
                            a for a in dec.attempts if a[0] == profile.name and abs(a[1] - f0) <= 3
                        ]
                        syncs = [sync_metric(off, bi, f0 + d) for d in range(-3, 4)]
                        max_sync = float(np.nanmax(syncs))
                        if found:
                            mode = "found"
                        elif not near:
                            mode = "sync_miss" if max_sync < SYNC_MEAN else "sync_skipped"
                        elif any(a[2] and a[4] == (c, s) for a in near):
                            mode = "z_reject"
                        elif any(a[2] for a in near):
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
                            "attempts": [
                                (a[1] - f0, bool(a[2]), None if np.isnan(a[3]) else round(a[3], 2))
                                for a in near
                            ],
                        }
                        if args.dump:
                            b = off._bands[bi]
                            cols = np.arange(b.offset, b.offset + b.profile.n_slots)
                            lo = f0 - _DUMP_BEFORE
                            win = slice(lo, lo + _DUMP_ROWS)
                            if lo >= 0 and lo + _DUMP_ROWS <= off._P.shape[0]:
                                dump.append(
                                    (
                                        off._P[win][:, cols],
                                        off._F[win][:, cols],
                                        encode_payload(c, s),
                                        (snr, seg, j, found),
                                    )
                                )
                        if mode != "found":
                            ok, bz = oracle(off, bi, f0, (c, s))
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
