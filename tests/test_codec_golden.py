"""The decoder reproduces its golden reference bit for bit (``tests/golden/codec_golden.json``).

The reference was recorded by ``tools/make_golden.py`` from the decoder before its restructuring
into stages; any change of a detection (ID, profile, start sample, SNR to 0.1 dB) at any block
size fails here. A change made on purpose regenerates the file in the same commit, which says
why and gives the channel-bench figures before and after.

Block size 1 runs by default only on the noisy programme (its near-miss paths are where the
analysis schedule matters most); every source at block size 1 needs ``JIMAKU_GOLDEN_FULL=1``
(~7 million one-sample feeds, ~1 min), or ``.venv/bin/python tools/make_golden.py --check``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN: dict[str, Any] = json.loads((ROOT / "tests" / "golden" / "codec_golden.json").read_text())[
    "sources"
]
FULL = os.environ.get("JIMAKU_GOLDEN_FULL") == "1"
#: the source whose block-size-1 run is part of the default tests
DEFAULT_BLOCK_1 = "bench_programme_48000_noisy"


@cache
def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "tools" / "make_golden.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@cache
def _sources() -> dict[str, tuple[np.ndarray, int]]:
    return {name: (x, sr) for name, x, sr in _maker().sources()}


def _cases() -> list[Any]:
    cases = []
    for name, cell in GOLDEN.items():
        for block in cell["by_block"]:
            slow = block == "1" and name != DEFAULT_BLOCK_1
            marks = [pytest.mark.skipif(slow and not FULL, reason="JIMAKU_GOLDEN_FULL=1")]
            cases.append(pytest.param(name, block, id=f"{name}-{block}", marks=marks))
    return cases


def test_the_reference_covers_every_source_and_block_size() -> None:
    maker = _maker()
    manifest = json.loads((ROOT / "audio_fixtures" / "manifest.json").read_text())
    assert {e["file"] for e in manifest["files"]} < set(GOLDEN)
    for cell in GOLDEN.values():
        assert sorted(map(int, cell["by_block"])) == sorted(maker.BLOCKS)


@pytest.mark.parametrize(("name", "block"), _cases())
def test_decoder_reproduces_the_golden_reference(name: str, block: str) -> None:
    x, sr = _sources()[name]
    assert sr == GOLDEN[name]["sample_rate"]
    assert _maker().decode(x, sr, int(block)) == GOLDEN[name]["by_block"][block]
