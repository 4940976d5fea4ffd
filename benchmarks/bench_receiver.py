"""Receiver benchmark: trigger-to-screen latency and CPU per audio-second of `jimaku receive`.

Makes a recording with N triggers (positions known from how it was made), stores their captions
on a real archive server on loopback (archive_server.launch, SQLite), then runs the real
``jimaku receive --input rec.wav --json`` paced in real time, as if listening:

- latency = shown_wall - (stream_start_wall + the trigger's last sample / rate), per trigger;
  p50/p95 with the live WebSocket follower on (default) and off (``--no-live``: every caption is a
  GET ?wait);
- CPU per audio-second = the receiver process's user+sys CPU time (getrusage of the child) /
  the recording's duration — the whole app while listening (decode, fetch, JSON output);
  also for ``--fast`` (decode-bound).

Usage::

    .venv/bin/python benchmarks/bench_receiver.py [--triggers 12] [--gap 2.5] [--room]

Prints a table and writes bench-out/receiver.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from archive_server.launch import ArchiveLauncher

ROOT = Path(__file__).resolve().parents[1]
JIMAKU = str(Path(sys.executable).parent / "jimaku")
RATE = 48000
CHANNEL = 5


def _start_archive(tmp: Path) -> tuple[ArchiveLauncher, str, str]:
    archive = ArchiveLauncher(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", tmp / "archive.log")
    _, token = archive.add_channel("bench", CHANNEL)
    archive.start()
    return archive, archive.url, token


def _recording(path: Path, n: int, gap_s: float, room: bool) -> dict[int, float]:
    """Write the recording; return seq -> the trigger's last sample time in seconds."""
    import trigger_codec as tc

    rng = np.random.default_rng(7)
    from channel_sim import PRESETS, apply_chain, make_programme

    dur = 1.0 + n * gap_s
    prog = make_programme("speechlike", dur, RATE, rng).astype(np.float32) * 0.5
    mixer = tc.TriggerMixer(sample_rate=RATE, profile="hf", channels=1)
    ref = tc.TriggerMixer(sample_rate=RATE, profile="hf", channels=1)
    ends: dict[int, float] = {}
    for i in range(n):
        start = int((0.5 + i * gap_s) * RATE)
        got = mixer.schedule(CHANNEL, i, at_sample=start)
        ref.schedule(CHANNEL, i, at_sample=start)
        length = len(tc.encode(channel=CHANNEL, seq=i, sample_rate=RATE, profile="hf"))
        ends[i] = (int(got) + length) / RATE
    out, trig = [], []
    for j in range(0, len(prog), 4800):
        out.append(mixer.process(prog[j : j + 4800]))
        trig.append(ref.process(np.zeros_like(prog[j : j + 4800])))
    mix = np.concatenate(out).astype(np.float32)
    sr = RATE
    if room:
        # The room delays the sound by ~1.5 ms and the mic resamples; positions stay valid to ms.
        mix, sr = apply_chain(
            mix,
            RATE,
            PRESETS["living-room"],
            rng,
            reference=np.concatenate(trig).astype(np.float32),
        )
    sf.write(path, mix, sr, subtype="PCM_16")
    return ends


def _run(args: list[str]) -> tuple[list[dict[str, Any]], float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(
        [JIMAKU, "receive", "--json", *args], capture_output=True, text=True, timeout=600
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    return lines, cpu, wall, p.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--triggers", type=int, default=12)
    ap.add_argument("--gap", type=float, default=2.5, help="seconds between triggers")
    ap.add_argument("--room", action="store_true", help="through channel_sim's living room")
    opts = ap.parse_args()

    from archive_client import ArchiveClient, CaptionIn

    results: dict[str, Any] = {"triggers": opts.triggers, "gap_s": opts.gap, "room": opts.room}
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        archive, url, token = _start_archive(tmp)
        try:
            client = ArchiveClient(url, token=token)
            now = dt.datetime.now(dt.UTC)
            for i in range(opts.triggers):
                client.put_caption(
                    CHANNEL,
                    i,
                    CaptionIn(
                        text=f"벤치마크 자막 {i}번입니다",
                        final=True,
                        language="ko",
                        start_at=now,
                        end_at=now,
                        words=None,
                    ),
                )
            wav = tmp / "bench.wav"
            ends = _recording(wav, opts.triggers, opts.gap, opts.room)
            audio_s = sf.info(str(wav)).duration
            for name, extra in (
                ("live", []),
                ("no-live", ["--no-live"]),
                ("fast", ["--fast", "--no-live"]),
            ):
                lines, cpu, wall, err = _run(
                    ["--input", str(wav), "--archive", url, "--stale-after", "3600", *extra]
                )
                shown = [r for r in lines if r["type"] == "shown"]
                lat = [
                    r["shown_wall"] - (r["stream_start_wall"] + ends[r["seq"]])
                    for r in shown
                    if r["seq"] in ends and r["stream_start_wall"] is not None
                ]
                row = {
                    "mode": name,
                    "shown": len(shown),
                    "expected": opts.triggers,
                    "latency_p50_ms": float(np.percentile(lat, 50)) * 1000 if lat else None,
                    "latency_p95_ms": float(np.percentile(lat, 95)) * 1000 if lat else None,
                    "cpu_s": cpu,
                    "audio_s": audio_s,
                    "wall_s": wall,
                    "cpu_per_audio_s": cpu / audio_s,
                }
                if name == "fast":  # latency is meaningless when not paced in real time
                    row["latency_p50_ms"] = row["latency_p95_ms"] = None
                if len(shown) != opts.triggers:
                    row["stderr_tail"] = err[-500:]
                rows.append(row)
        finally:
            archive.stop()
    results["rows"] = rows
    print(
        f"{'mode':8} {'shown':>7} {'p50 ms':>8} {'p95 ms':>8} {'CPU s/audio s':>14} "
        f"{'audio s':>8} {'wall s':>7}"
    )
    for r in rows:
        p50 = "-" if r["latency_p50_ms"] is None else f"{r['latency_p50_ms']:.0f}"
        p95 = "-" if r["latency_p95_ms"] is None else f"{r['latency_p95_ms']:.0f}"
        print(
            f"{r['mode']:8} {r['shown']:>3}/{r['expected']:<3} {p50:>8} {p95:>8} "
            f"{r['cpu_per_audio_s']:>14.3f} {r['audio_s']:>8.1f} {r['wall_s']:>7.1f}"
        )
    out = ROOT / "bench-out"
    out.mkdir(exist_ok=True)
    (out / "receiver.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'receiver.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
