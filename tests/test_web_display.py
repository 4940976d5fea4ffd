"""The page's display rules (web_receiver/static/display.mjs) run under node's test runner.

The node tests hold the JavaScript engine to tests/data/display_cases.json, the same cases
tests/test_receiver_display.py holds receiver_app/display.py to.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "web_receiver" / "static"


def test_node_tests_of_the_page_modules_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: install Debian's nodejs (tools/ensure-system-deps.sh)")
    out = subprocess.run(
        [node, "--test", str(STATIC / "tests")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout
    # the shared cases really ran (not an empty folder)
    cases = (Path(__file__).parent / "data" / "display_cases.json").read_text(encoding="utf-8")
    assert out.stdout.count("ok ") >= cases.count('"name"')
