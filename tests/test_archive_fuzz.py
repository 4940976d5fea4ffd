"""Fuzz the real server from its own served OpenAPI schema (schemathesis CLI): no 5xx.

Slow (~1.5-2.5 min: long-poll examples wait up to 30 s each) but in the default run: it is the
server's check against malformed requests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.plugins.archive import ArchiveHandle

ST = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_no_5xx(archive_server: ArchiveHandle) -> None:
    out = subprocess.run(
        [
            str(ST),
            "run",
            f"{archive_server.url}/openapi.json",
            "--max-examples",
            "5",
            "--checks",
            "not_a_server_error",
            "--request-timeout",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "Loaded specification" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    metrics = httpx.get(archive_server.url + "/metrics").text
    # route labels contain braces ("{channel}"): match up to the last "} " of the line
    served = sum(
        float(v) for v in re.findall(r"^archive_requests_total\{.*\} (\S+)$", metrics, flags=re.M)
    )
    assert served > 20, "the fuzzer barely reached the server"
    fives = re.findall(r'^archive_requests_total\{.*status="5\d\d".*\} (\S+)$', metrics, flags=re.M)
    assert not fives, f"server errors under fuzzing: {fives}\n{out.stdout[-3000:]}"
    assert "Server error" not in out.stdout, out.stdout[-3000:]
