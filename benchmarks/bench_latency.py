"""Caption latency through the whole chain, as a viewer of a live broadcast would experience it.

Runs the real chain (archive server on loopback, broadcaster with the real vosk model, channel_sim's
living room, receiver) on a programme of >= 50 utterances made by re-placing the bundled announcer
sentences (random order, gaps, tempo and level; fixed seed), twice:

- **live mode**: time from the end of each utterance's speech (where the programme maker placed
  it) to its caption shown on the phone; target p95 <= 1.5 s with a local archive;
- **synchronous mode** (``--delay 2.5`` as the issue quotes, and 5 s): caption shown minus speech
  start on air; target |error| <= 0.3 s. A caption exists only when vosk ends the utterance, so
  the delay must exceed the longest utterance plus ~1.5 s; the 5 s run shows what that buys;

Both run in real time side by side (``run_chain``'s real-time mode): the broadcaster fed the
programme at its own pace, the receiver listening to the phone recording at its own pace, so every
time is a component's own stamp on one wall clock (docs/demo.md), never rebuilt. A run is long:
each mode takes the programme's length (~4 min for 50 utterances) plus a rehearsal. The table says
how far the programme feed lagged real time (a broadcaster that cannot keep up on a loaded
machine delays its own captions by that much), with the breakdown by stage (ASR endpoint,
upload, trigger wait, trigger airtime, decode, fetch, display), all on the programme clock
defined in :mod:`jimaku.demo.timing` / ``docs/demo.md``.
Prints a table and writes ``bench-out/latency.json``.

Usage::

    .venv/bin/python benchmarks/bench_latency.py              # 50 utterances, both modes
    .venv/bin/python benchmarks/bench_latency.py --utterances 12 --modes live   # quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

# the dev-only harness (plots) lives at the repository root, beside this folder
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jimaku.demo.chain import ChainResult, ChainSettings, result_summary, run_chain
from jimaku.demo.report import stage_summary
from jimaku.demo.timing import STAGES
from jimaku.events import EventFormatError, Warning, parse_broadcast_event

__all__ = ["main"]

LIVE_P95_TARGET_S = 1.5
SYNC_TARGET_S = 0.3
SYNC_DELAY_S = 2.5


def _mode_report(result: ChainResult) -> dict[str, Any]:
    summary = stage_summary(result.timings)
    n_made = len(result.captions)
    shown_seqs = [s.seq for s in result.shown if s.channel == result.channel]
    delivered = sum(1 for c in result.captions if c.seq in shown_seqs)
    in_order = shown_seqs == [c.seq for c in result.captions if c.seq in shown_seqs]
    programme_s = result.programme.duration_s
    late = 0
    for line in result.paths["broadcaster_log"].read_text(encoding="utf-8").splitlines():
        try:
            ev = parse_broadcast_event(line)
        except EventFormatError:
            continue  # not an event line
        late += int(isinstance(ev, Warning) and ev.kind == "late_trigger")
    return {
        "late_triggers": late,
        "feed_lag_s": result.feed_lag_s,
        "onair_matches": result.onair_matches,
        "delay_s": result.settings.delay_s,
        "programme_s": round(programme_s, 2),
        "sentences": len(result.programme.sentences),
        "captions_made": n_made,
        "captions_shown": delivered,
        "duplicates_shown": len(shown_seqs) - len(set(shown_seqs)),
        "shown_in_order": in_order,
        "sentences_captioned": len({t.sentence for t in result.timings if t.sentence}),
        "stages": summary,
        # CPU per programme second: each process must stay well under 1 to keep up live
        "cpu_per_programme_s": {k: round(v / programme_s, 4) for k, v in result.cpu_s.items()},
        "wall_s": {k: round(v, 2) for k, v in result.wall_s.items()},
        "captions": result_summary(result)["captions"],
    }


def _print_table(reports: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    if not con.is_terminal:
        con = Console(width=100)  # a log file: keep the tables on one line each
    for mode, rep in reports.items():
        st = rep["stages"]
        table = Table(
            title=f"{mode} mode (delay {rep['delay_s']:g} s): {rep['sentences']} sentences, "
            f"{rep['programme_s']:.0f} s programme, {rep['captions_shown']}/"
            f"{rep['captions_made']} captions shown",
            title_justify="left",
        )
        for col in ("stage", "n", "p50 (s)", "p95 (s)", "max (s)"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        names = [*STAGES, "first_text", "latency"]
        if mode != "live":
            names += ["sync_error", "abs_sync_error"]
        for name in names:
            if name in st:
                s = st[name]
                bold = "latency" if mode == "live" else "abs_sync_error"
                style = "bold" if name == bold else None
                table.add_row(
                    name,
                    str(s["n"]),
                    f"{s['p50_s']:.3f}",
                    f"{s['p95_s']:.3f}",
                    f"{s['max_s']:.3f}",
                    style=style,
                )
        con.print(table)
        if rep["late_triggers"]:
            con.print(
                f"  broadcaster warned of {rep['late_triggers']} late triggers "
                "(recognition took longer than the delay)"
            )
        cpu = ", ".join(f"{k} {v:.3f}" for k, v in rep["cpu_per_programme_s"].items())
        con.print(f"  CPU s per programme s: {cpu}")
        if rep["feed_lag_s"] is not None:
            con.print(
                f"  programme feed lagged real time by up to {rep['feed_lag_s']:.2f} s "
                f"(on-air audio as rehearsed: {rep['onair_matches']})"
            )
        if mode == "live" and "latency" in st:
            ok = st["latency"]["p95_s"] <= LIVE_P95_TARGET_S
            con.print(
                f"  latency p95 {st['latency']['p95_s']:.3f} s vs target "
                f"<= {LIVE_P95_TARGET_S} s: {'MET' if ok else 'NOT MET'}"
            )
        if mode.startswith("sync") and "abs_sync_error" in st:
            ok = st["abs_sync_error"]["max_s"] <= SYNC_TARGET_S
            con.print(
                f"  |sync error| p95 {st['abs_sync_error']['p95_s']:.3f} s, max "
                f"{st['abs_sync_error']['max_s']:.3f} s vs target <= {SYNC_TARGET_S} s: "
                f"{'MET' if ok else 'NOT MET'}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=50, help="sentences per programme")
    parser.add_argument("--modes", default="live,sync", help="comma list of live,sync")
    parser.add_argument(
        "--delays",
        default=f"{SYNC_DELAY_S:g},5",
        help="comma list of synchronous-mode delays (s) to run (default 2.5,5: "
        "the issue's figure, and one longer than the longest sentence + 1.5 s)",
    )
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--room", default="near-tv", help="room (near-tv or a channel_sim preset)")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument(
        "--plot",
        action="store_true",
        help="draw each mode's timeline (harness/timeline.py) as latency-MODE/timeline.png",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="run broadcaster and receiver as fast as they go, one after the other: delivery "
        "only, no viewer-side latency (the shown times are not measured then)",
    )
    parser.add_argument(
        "--receiver-arg",
        action="append",
        default=[],
        help="extra flag for jimaku receive (repeatable)",
    )
    parser.add_argument(
        "--broadcaster-arg",
        action="append",
        default=[],
        help="extra flag for jimaku broadcast (repeatable), e.g. "
        "--broadcaster-arg=--endpoint-silence=0",
    )
    args = parser.parse_args(argv)
    if args.utterances < 1:
        parser.error(f"--utterances must be >= 1, got {args.utterances}")
    wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in wanted if m not in ("live", "sync")]
    if bad:
        parser.error(f"unknown mode(s) {bad}; use live and/or sync")
    try:
        delays = [float(d) for d in args.delays.split(",") if d.strip()]
    except ValueError:
        parser.error(f"--delays must be numbers separated by commas, got {args.delays!r}")
    modes: list[tuple[str, float]] = [("live", 0.0)] if "live" in wanted else []
    if "sync" in wanted:
        modes += [(f"sync@{d:g}s", d) for d in delays]
    args.out.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    for mode, delay in modes:
        settings = ChainSettings(
            out_dir=args.out / f"latency-{mode}",
            delay_s=delay,
            n_utterances=args.utterances,
            seed=args.seed,
            room_preset=args.room,
            channel_name=f"bench {mode}",
            receiver_args=tuple(args.receiver_arg),
            broadcaster_args=tuple(args.broadcaster_arg),
            realtime=not args.fast,
        )
        print(f"[{mode}] running the chain on {args.utterances} utterances ...", file=sys.stderr)
        result = run_chain(settings)
        reports[mode] = _mode_report(result)
        if args.plot:
            from harness.timeline import plot_chain_result

            plot_chain_result(result, settings.out_dir / "timeline.png")
    _print_table(reports)
    doc = {
        "bench": "latency",
        "utterances": args.utterances,
        "seed": args.seed,
        "room": args.room,
        "realtime": not args.fast,
        "broadcaster_args": args.broadcaster_arg,
        "targets": {
            "live_p95_s": LIVE_P95_TARGET_S,
            "sync_abs_error_s": SYNC_TARGET_S,
            "sync_delay_s": SYNC_DELAY_S,
        },
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "elapsed_s": round(time.monotonic() - t0, 1),
        "modes": reports,
    }
    path = args.out / "latency.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
