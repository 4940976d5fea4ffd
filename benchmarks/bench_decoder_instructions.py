"""Decoder cost as a machine-independent count: CPU instructions per second of audio (callgrind).

CPU time on a shared virtual machine swings by 30-80 % from minute to minute
(``bench_codec_cost.py`` reports the minimum over repeats for that reason). The number of
instructions the decoder executes does not: callgrind counts them, deterministically, so two
revisions can be compared in one run each. It is a proxy, not the target: the target is CPU
time (``bench_codec_cost.py``). Caveats: valgrind counts each byte step of a ``rep movsb``
(glibc's memcpy on this CPU) as an instruction, so large copies weigh more here than in time;
and it runs the decoder ~50x slower.

What is counted: ``Decoder.feed`` over ``--seconds`` of ``bench_codec_cost``'s programme
(speech-like noise, a trigger of each profile every 1.5 s) after one warm-up second;
collection is switched on and off around the feed loop and ``flush()`` (``callgrind_control``),
so imports and the programme's synthesis are not counted.

Usage::

    .venv/bin/python benchmarks/bench_decoder_instructions.py [--rate 44100] [--block 256]
        [--seconds 30] [--tree PATH ...]

``--tree`` (repeatable) is a checkout whose ``trigger_codec`` is measured (default: this one),
e.g. a ``git worktree`` of an older revision. Needs valgrind (Debian package ``valgrind``).
Prints a table and writes ``bench-out/decoder_instructions.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

__all__ = ["main"]

ROOT = pathlib.Path(__file__).resolve().parent.parent

# the child: decode with collection on only around the feed loop
_CHILD = """
import os, subprocess, sys
import numpy as np
sys.path.insert(0, {bench!r})
from bench_codec_cost import programme
from trigger_codec import Decoder
sr, block, seconds = {rate}, {block}, {seconds}
x, placed = programme(sr, seconds + 1.0, np.random.default_rng(1))
dec = Decoder(sr)
found = len(dec.feed(x[:sr]))  # warm-up: first-call set-up is not steady-state cost
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
for i in range(sr, x.size, block):
    found += len(dec.feed(x[i : i + block]))
found += len(dec.flush())
subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True)
print("FOUND", found, placed)
"""


def count(tree: pathlib.Path, rate: int, block: int, seconds: float) -> dict[str, object]:
    """Run the child under callgrind with ``tree`` first on sys.path; return its figures."""
    code = _CHILD.format(bench=str(ROOT / "benchmarks"), rate=rate, block=block, seconds=seconds)
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={tmp}/cg.out",
                sys.executable,
                "-c",
                code,
            ],
            env=env,
            cwd=tmp,  # not this checkout: sys.path[0] of "-c" is the working directory
            capture_output=True,
            text=True,
            check=False,
        )
    m = re.search(r"Collected : (\d+)", out.stderr)
    found = re.search(r"FOUND (\d+) (\d+)", out.stdout)
    if out.returncode or not m or not found:
        raise SystemExit(f"callgrind run failed for {tree}:\n{out.stderr[-2000:]}")
    instr = int(m.group(1))
    return {
        "tree": str(tree),
        "sample_rate": rate,
        "block": block,
        "audio_s": seconds,
        "instructions": instr,
        "minstr_per_audio_s": instr / seconds / 1e6,
        "found": int(found.group(1)),
        "placed": int(found.group(2)),
    }


def main() -> None:
    """Count, print the table, write bench-out/decoder_instructions.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--tree", type=pathlib.Path, action="append", help="checkout(s) to measure")
    args = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("valgrind is not installed: sudo apt-get install valgrind")
    trees = args.tree or [ROOT]
    rows = [count(t.resolve(), args.rate, args.block, args.seconds) for t in trees]
    print(
        f"Decoder instructions (callgrind), {args.rate} Hz, {args.block}-sample blocks, "
        f"{args.seconds:g} s of programme"
    )
    print(f"{'M instr / audio s':>18} {'found/placed':>12}  tree")
    for r in rows:
        print(f"{r['minstr_per_audio_s']:18.2f} {r['found']!s:>6}/{r['placed']!s:<5}  {r['tree']}")
    out = pathlib.Path("bench-out")
    out.mkdir(exist_ok=True)
    (out / "decoder_instructions.json").write_text(json.dumps({"rows": rows}, indent=2))
    print(f"wrote {out / 'decoder_instructions.json'}")


if __name__ == "__main__":
    main()
