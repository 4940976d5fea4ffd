"""Cost and latency of the JavaScript trigger decoder in Node and in headless Chromium.

Usage: ``flock /tmp/jimaku-bench.lock .venv/bin/python benchmarks/bench_js_decoder.py
[--seconds 30] [--repeat 5] [--no-browser]``

* Programmes: bench_codec_cost.py's (speech-like noise + hiss, a trigger of each profile every
  1.5 s) and the same with strong HF content (white noise high-passed at 8 kHz, -26 dBFS RMS,
  under the triggers: every hop sees energy in both bands), at 44.1 and 48 kHz.
* CPU per audio second (target <= 2 ms/s in Chromium) at 128, 256, 1024 and 4096-sample blocks:
  the Python decoder (process time), the JS decoder in Node (process CPU time) and in a module
  Web Worker of headless Debian Chromium driven by Playwright (the CPU time of the browser's
  processes during the run, psutil: wall time on a loaded machine would count other processes'
  turns); the minimum over ``--repeat`` runs (interference only adds time) and the median.
* Detection latency (target <= 100 ms): audio fed after a trigger's last sample until the JS
  decoder's ``feed`` returned it, at each block size (from the Node runs; it is a property of
  the audio, the same in any engine).

Prints a table and writes ``bench-out/js_decoder.json``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import pathlib
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import psutil
from scipy import signal

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from bench_codec_cost import programme

from trigger_codec import Decoder

__all__ = ["main"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
RATES = (44100, 48000)
BLOCKS = (128, 256, 1024, 4096)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def with_hf(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Add white noise high-passed at 8 kHz at -26 dBFS RMS (cymbals, sibilance, hiss)."""
    sos = signal.butter(4, 8000, btype="highpass", fs=sr, output="sos")
    hf = signal.sosfilt(sos, rng.normal(0, 1, x.size))
    hf *= 10 ** (-26 / 20) / np.sqrt(np.mean(hf**2))
    return (x + hf).astype(np.float32)


def trigger_ends(sr: int, n: int, count: int) -> list[float]:
    """Last-sample times (s) of the triggers bench_codec_cost.programme places (every 1.5 s)."""
    w = round(0.48 * sr)
    return [(sr // 2 + k * int(1.5 * sr) + w) / sr for k in range(count)]


def python_cells(x: np.ndarray, sr: int, repeat: int) -> list[dict[str, Any]]:
    costs: dict[int, list[float]] = {b: [] for b in BLOCKS}
    found: dict[int, int] = {}
    for _ in range(repeat):
        for block in BLOCKS:
            dec = Decoder(sr)
            n = 0
            t0 = time.process_time()
            for i in range(0, x.size, block):
                n += len(dec.feed(x[i : i + block]))
            n += len(dec.flush())
            costs[block].append(1000 * (time.process_time() - t0) / (x.size / sr))
            found[block] = n
    return [{"block": b, "msPerS": costs[b], "found": found[b]} for b in BLOCKS]


def node_cells(path: pathlib.Path, sr: int, repeat: int, ends: list[float]) -> Any:
    cmd = ["node", str(ROOT / "benchmarks" / "bench_js_node.mjs"), str(path), str(sr)]
    cmd += [str(repeat), json.dumps(ends), *map(str, BLOCKS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def guess_type(self, path: str | Any) -> str:
        return "text/javascript" if str(path).endswith(".mjs") else super().guess_type(path)


def _browser_cpu_s() -> float:
    """CPU seconds used so far by the Chromium processes Playwright started (renderer included)."""
    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name():
                t = proc.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def browser_cells(jobs: list[dict[str, Any]], repeat: int) -> tuple[list[Any], str]:
    """Run each job's cells in a module Worker of headless Chromium.

    The cost of a run is the CPU time the browser's processes used during it (psutil), so that
    it can be compared with the Node and Python process times on a loaded machine; the minimum
    over ``repeat`` runs, round-robin over the cells, as for the other engines.
    """
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    out = []
    call = """msg => new Promise((resolve) => {
        window.w = window.w || new Worker('/benchmarks/bench_js_worker.mjs', {type: 'module'});
        window.w.onmessage = (ev) => resolve(ev.data);
        window.w.onerror = (ev) => resolve({error: ev.message || 'worker error'});
        window.w.postMessage(msg);
    })"""
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(f"{base}/benchmarks/")
            for job in jobs:
                res = page.evaluate(call, {"load": job["url"]})
                if "error" in res:
                    raise SystemExit(f"bench_js_decoder: the browser worker failed: {res['error']}")
                audio_s = res["loaded"] / job["sampleRate"]
                cells = {b: {"block": b, "msPerS": [], "found": 0, "latencyMs": []} for b in BLOCKS}
                for _ in range(repeat):
                    for b in BLOCKS:
                        msg = {"run": {"sampleRate": job["sampleRate"], "block": b}}
                        msg["run"]["endsS"] = job["endsS"]
                        c0 = _browser_cpu_s()
                        res = page.evaluate(call, msg)
                        cpu = _browser_cpu_s() - c0
                        if "error" in res:
                            raise SystemExit(f"bench_js_decoder: worker failed: {res['error']}")
                        cells[b]["msPerS"].append(1000 * cpu / audio_s)
                        cells[b]["found"] = res["cell"]["found"]
                        cells[b]["latencyMs"] = res["cell"]["latencyMs"]
                out.append(list(cells.values()))
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    return out, version


def _summary(cells: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {
        c["block"]: {
            "min": min(c["msPerS"]),
            "median": statistics.median(c["msPerS"]),
            "found": c["found"],
            **(
                {
                    "latency_median_ms": statistics.median(c["latencyMs"]),
                    "latency_max_ms": max(c["latencyMs"]),
                    "latency_n": len(c["latencyMs"]),
                }
                if c.get("latencyMs")
                else {}
            ),
        }
        for c in cells
    }


def main() -> None:
    """Run the benchmark, print the tables, write bench-out/js_decoder.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="audio per measurement")
    ap.add_argument("--repeat", type=int, default=5, help="runs per cell (min reported)")
    ap.add_argument("--no-browser", action="store_true", help="skip headless Chromium")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    work = ROOT / "bench-out" / "js-bench"
    work.mkdir(parents=True, exist_ok=True)

    progs = []
    for sr in RATES:
        x, count = programme(sr, args.seconds, rng)
        for kind, audio in (("speechlike", x), ("strong-hf", with_hf(x, sr, rng))):
            path = work / f"{kind}_{sr}.f32"
            path.write_bytes(np.ascontiguousarray(audio, dtype="<f4").tobytes())
            progs.append({"kind": kind, "sr": sr, "x": audio, "path": path, "placed": count})

    rows = []
    for p in progs:
        ends = trigger_ends(p["sr"], p["x"].size, p["placed"])
        p["ends"] = ends
        rows.append(
            {
                "programme": p["kind"],
                "sample_rate": p["sr"],
                "placed": p["placed"],
                "python": _summary(python_cells(p["x"], p["sr"], args.repeat)),
                "node": _summary(node_cells(p["path"], p["sr"], args.repeat, ends)),
            }
        )
    chromium = None
    if not args.no_browser:
        jobs = [
            {
                "url": f"/bench-out/js-bench/{p['path'].name}",
                "sampleRate": p["sr"],
                "endsS": p["ends"],
            }
            for p in progs
        ]
        results, chromium = browser_cells(jobs, args.repeat)
        for row, cells in zip(rows, results, strict=True):
            row["chromium"] = _summary(cells)

    print(
        "Decoder CPU per second of audio (ms/s, min of "
        f"{args.repeat} runs; median in brackets); {args.seconds:g} s programmes; "
        "loaded shared machine"
    )
    head = f"{'programme':11} {'rate':>6} {'block':>6} {'python':>14} {'node':>14}"
    print(f"{head} {'chromium':>14} {'found':>9} {'latency med/max ms':>19}")
    for r in rows:
        for b in BLOCKS:
            cells = [r["python"][b], r["node"][b]] + ([r["chromium"][b]] if "chromium" in r else [])
            txt = [f"{c['min']:6.2f} ({c['median']:5.2f})" for c in cells]
            if len(txt) == 2:
                txt.append(f"{'-':>14}")
            nd = r["node"][b]
            lat = (
                f"{nd['latency_median_ms']:8.1f} / {nd['latency_max_ms']:6.1f}"
                if "latency_median_ms" in nd
                else "-"
            )
            found = f"{nd['found']}/{r['placed']}"
            print(
                f"{r['programme']:11} {r['sample_rate']:>6} {b:>6} {txt[0]:>14} {txt[1]:>14} "
                f"{txt[2]:>14} {found:>9} {lat:>19}"
            )
    if chromium:
        print(f"browser: {chromium} (headless, module Worker)")
    out = ROOT / "bench-out" / "js_decoder.json"
    out.write_text(
        json.dumps({"rows": rows, "chromium": chromium, "args": vars(args)}, indent=1, default=str)
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
