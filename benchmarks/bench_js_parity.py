"""Parity of the JavaScript decoder with trigger_codec on the channel_sim parity corpus.

Decodes every capture of ``benchmarks/make_parity_corpus.py``'s corpus with the Python decoder
(``trigger_codec.Decoder``, 4096-sample blocks) and the JS CLI (``node trigger_codec/js/decode.mjs
--json``) and compares them trigger by trigger. A trigger is *agreed* when both decoders miss it,
or both report it with the same ID and profile, start_s within 1 ms and snr_db within 0.5 dB.
Every disagreement is printed with its cause (found by one decoder only, start or SNR apart, a
wrong ID, a false trigger in trigger-free programme). Targets: agreement on >= 99.5 % of
triggers, no wrong IDs from JS, 0 JS false triggers.

Usage::

    .venv/bin/python benchmarks/make_parity_corpus.py        # once (cached in bench-out/)
    .venv/bin/python benchmarks/bench_js_parity.py [--corpus bench-out/parity-corpus]

Prints a table and writes ``bench-out/js_parity.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from trigger_codec import Decoder

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "trigger_codec" / "js" / "decode.mjs"
#: a detection belongs to a placed trigger if its ID matches and its start is this close (as in
#: the channel bench)
MATCH_S = 0.3
START_TOL_S = 0.001
SNR_TOL_DB = 0.5
BLOCK = 4096


def python_decode(path: Path) -> tuple[list[dict[str, Any]], float]:
    """Return trigger_codec's detections in a file as CLI-style rows, and the CPU seconds taken."""
    x, sr = sf.read(path, dtype="int16")
    t0 = time.process_time()
    dec = Decoder(sr)
    dets = []
    for i in range(0, x.size, BLOCK):
        dets += dec.feed(x[i : i + BLOCK])
    dets += dec.flush()
    cpu = time.process_time() - t0
    rows = [
        {
            "start_s": d.start_s,
            "channel": d.channel,
            "seq": d.seq,
            "profile": d.profile,
            "snr_db": d.snr_db,
        }
        for d in dets
    ]
    return rows, cpu


def js_decode(paths: list[Path]) -> tuple[dict[str, list[dict[str, Any]]], float]:
    """Return the JS CLI's detections per file name, and the wall time of the run."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["node", str(CLI), "--json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_js_parity: the JS CLI failed: {proc.stderr.strip()}")
    out: dict[str, list[dict[str, Any]]] = {p.name: [] for p in paths}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        out[Path(r["file"]).name].append(r)
    return out, wall


def _match(rows: list[dict[str, Any]], t: dict[str, Any]) -> dict[str, Any] | None:
    for r in rows:
        same = (r["channel"], r["seq"], r["profile"]) == (t["channel"], t["seq"], t["profile"])
        if same and abs(r["start_s"] - t["start_s"]) < MATCH_S:
            return r
    return None


def compare(entry: dict[str, Any], py: list[dict[str, Any]], js: list[dict[str, Any]]) -> Any:
    """Return (agreed, disagreements, wrong_py, wrong_js) for one capture."""
    agreed, issues = 0, []
    used_py: list[int] = []
    used_js: list[int] = []
    for t in entry["triggers"]:
        p, j = _match(py, t), _match(js, t)
        if p is not None:
            used_py.append(id(p))
        if j is not None:
            used_js.append(id(j))
        what = f"{entry['file']} {t['profile']} {t['channel']}/{t['seq']} at {t['start_s']:.3f} s"
        if p is None and j is None:
            agreed += 1
        elif p is None:
            issues.append(f"{what}: found by JS only (snr {j['snr_db']} dB)")  # type: ignore[index]
        elif j is None:
            issues.append(f"{what}: found by Python only (snr {p['snr_db']} dB)")
        elif abs(p["start_s"] - j["start_s"]) > START_TOL_S + 5e-4:  # JS rounds to 1 ms
            issues.append(f"{what}: start Python {p['start_s']:.4f} / JS {j['start_s']:.3f} s")
        elif abs(p["snr_db"] - j["snr_db"]) > SNR_TOL_DB:
            issues.append(f"{what}: snr Python {p['snr_db']} / JS {j['snr_db']} dB")
        else:
            agreed += 1
    wrong_py = [r for r in py if id(r) not in used_py]
    wrong_js = [r for r in js if id(r) not in used_js]
    for who, rows in (("Python", wrong_py), ("JS", wrong_js)):
        kind = "false trigger" if not entry["triggers"] else "wrong ID / unplaced detection"
        issues += [
            f"{entry['file']}: {who} {kind} {r['profile']} {r['channel']}/{r['seq']} at "
            f"{r['start_s']:.3f} s (snr {r['snr_db']} dB)"
            for r in rows
        ]
    return agreed, issues, wrong_py, wrong_js


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table and every disagreement."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="bench-out/parity-corpus")
    ap.add_argument("--out", default="bench-out/js_parity.json")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    index = corpus / "index.json"
    if not index.exists():
        raise SystemExit(
            f"bench_js_parity: no corpus at {corpus}; run benchmarks/make_parity_corpus.py"
        )
    names = json.loads(index.read_text())["files"]
    entries = [json.loads((corpus / (n + ".json")).read_text()) for n in names]
    paths = [corpus / e["file"] for e in entries]
    js, js_wall = js_decode(paths)
    cells: dict[str, dict[str, Any]] = {}
    issues: list[str] = []
    py_cpu = audio_s = 0.0
    for e, path in zip(entries, paths, strict=True):
        py, cpu = python_decode(path)
        py_cpu += cpu
        audio_s += sf.info(path).duration
        agreed, iss, wrong_py, wrong_js = compare(e, py, js[e["file"]])
        key = (
            f"{e['recipe']['profile']} {e['recipe']['chain']} {e['snr_db']:+g} dB"
            if e["triggers"]
            else f"trigger-free {e['recipe']['chain']}"
        )
        c = cells.setdefault(
            key,
            {"triggers": 0, "agreed": 0, "py_found": 0, "js_found": 0, "wrong_py": 0,
             "wrong_js": 0, "audio_s": 0.0},
        )  # fmt: skip
        c["triggers"] += len(e["triggers"])
        c["agreed"] += agreed
        c["py_found"] += sum(_match(py, t) is not None for t in e["triggers"])
        c["js_found"] += sum(_match(js[e["file"]], t) is not None for t in e["triggers"])
        c["either_found"] = c.get("either_found", 0) + sum(
            _match(py, t) is not None or _match(js[e["file"]], t) is not None for t in e["triggers"]
        )
        c["wrong_py"] += len(wrong_py)
        c["wrong_js"] += len(wrong_js)
        c["audio_s"] += sf.info(path).duration
        issues += iss
    print(f"{'cell':28} {'triggers':>8} {'agreed':>7} {'py_found':>8} {'js_found':>8} "
          f"{'wrong/false py':>14} {'js':>4}")  # fmt: skip
    for key, c in cells.items():
        print(
            f"{key:28} {c['triggers']:8d} {c['agreed']:7d} {c['py_found']:8d} {c['js_found']:8d} "
            f"{c['wrong_py']:14d} {c['wrong_js']:4d}"
        )
    n = sum(c["triggers"] for c in cells.values())
    agreed = sum(c["agreed"] for c in cells.values())
    free_h = sum(c["audio_s"] for k, c in cells.items() if k.startswith("trigger-free")) / 3600
    js_false = sum(c["wrong_js"] for k, c in cells.items() if k.startswith("trigger-free"))
    js_wrong = sum(c["wrong_js"] for k, c in cells.items() if not k.startswith("trigger-free"))
    rate = agreed / n if n else float("nan")
    either = sum(c.get("either_found", 0) for c in cells.values())
    both = either - (n - agreed) if n else 0  # a disagreement is a trigger found by one only
    # or found by both with a different start / SNR
    print(
        f"\nagreement {agreed}/{n} = {100 * rate:.2f} % (target >= 99.5 %); JS wrong IDs "
        f"{js_wrong} (target 0); JS false triggers {js_false} in {free_h:.2f} h (target 0)"
    )
    print(
        f"of the {either} triggers found by either decoder, {both} were found by both with the "
        "same ID, start (1 ms) and SNR (0.5 dB); the others are missed by both (e.g. hf through "
        "AAC 128k / MP3 128k, whose low-pass removes the band)"
    )
    print(
        f"CPU: Python decoder {1000 * py_cpu / audio_s:.2f} ms per audio s (process time); JS CLI "
        f"{1000 * js_wall / audio_s:.2f} ms per audio s (wall, incl. WAV parsing), "
        f"{audio_s / 3600:.2f} h of audio; loaded shared machine"
    )
    print(f"\n{len(issues)} disagreement(s)" + (":" if issues else ""))
    for line in issues:
        print("  " + line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "cells": cells,
                "agreement": rate,
                "agreed": agreed,
                "found_by_either": either,
                "agreed_found_by_both": both,
                "triggers": n,
                "js_wrong_ids": js_wrong,
                "js_false_triggers": js_false,
                "trigger_free_hours": free_h,
                "disagreements": issues,
                "python_cpu_ms_per_s": 1000 * py_cpu / audio_s,
                "js_cli_wall_ms_per_s": 1000 * js_wall / audio_s,
                "audio_s": audio_s,
                "numpy": np.__version__,
            },
            indent=1,
        )
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
