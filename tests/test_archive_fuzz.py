"""Fuzz the real server from its own served OpenAPI document (schemathesis 4 CLI, every check).

Every check schemathesis has runs (its default; a ``--checks`` flag would override the phase
setting below): no server error, every status code, content type and header documented, response
bodies match their schemas, schema-violating requests refused, schema-valid requests accepted,
``Allow`` headers right, and the stateful phase follows the API links (PUT -> GET of the same
caption, history, exports). ``tests/schemathesis.toml`` holds the two documented adjustments (413
for bodies over the size limit; the coverage phase does not judge the cross-field rules the schema
can only describe, which ``tests/schemathesis_hooks.py`` keeps out of the other phases' valid
data).

The default run uses ``JIMAKU_FUZZ_EXAMPLES`` examples per operation (default 200; ~2 min on a
loaded 2-core machine). The bigger run::

    JIMAKU_FUZZ_EXAMPLES=1000 .venv/bin/pytest tests/test_archive_fuzz.py -q
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.plugins.archive import ArchiveHandle

ST = Path(sys.executable).parent / "schemathesis"
HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("JIMAKU_FUZZ_EXAMPLES", "200"))


@pytest.mark.timeout(300 + 2 * EXAMPLES)
def test_schemathesis_every_check_is_clean(archive_factory: Callable[..., ArchiveHandle]) -> None:
    # Limits out of the fuzzer's way: 429s would hide what the requests behind them do, and
    # long-polls would wait their full ?wait= (up to 30 s) for captions that never come.
    archive = archive_factory(
        start=False,
        env={
            "JIMAKU_ARCHIVE_WRITE_RATE_PER_S": "1000000",
            "JIMAKU_ARCHIVE_WRITE_BURST": "1000000",
            "JIMAKU_ARCHIVE_WAIT_RATE_PER_S": "1000000",
            "JIMAKU_ARCHIVE_WAIT_BURST": "1000000",
            "JIMAKU_ARCHIVE_MAX_WAIT_S": "0.2",
        },
    )
    _, token = archive.add_channel("fuzz", id=0)
    archive.start()
    out = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{archive.url}/openapi.json",
            "--max-examples",
            str(EXAMPLES),
            "--header",
            f"Authorization: Bearer {token}",
            "--request-timeout",
            "20",
            "--seed",
            "20261203",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=HERE.parent,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"},
    )
    report = out.stdout[-6000:] + out.stderr[-2000:]
    assert "Loaded specification" in out.stdout, report
    assert "Stateful" in out.stdout and "API Links" in out.stdout, report
    assert out.returncode == 0, report
    assert "No issues found" in out.stdout, report

    metrics = httpx.get(archive.url + "/metrics").text
    # route labels contain braces ("{channel}"): match up to the last "} " of the line
    counts = re.findall(r"^archive_requests_total\{(.*)\} (\S+)$", metrics, flags=re.M)
    served = sum(float(v) for _, v in counts)
    # operations with few inputs (/healthz) run out of distinct examples early: not 8 x EXAMPLES
    assert served > 3 * EXAMPLES, f"the fuzzer barely reached the server ({served:.0f})"
    print(out.stdout[-1800:], f"requests served: {served:.0f}", sep="\n")  # shown with -s
    created = sum(float(v) for k, v in counts if 'method="PUT"' in k and 'status="201"' in k)
    assert created > 0, "no caption was ever stored: the valid-data checks tested nothing"
    fives = [k for k, _ in counts if re.search(r'status="5\d\d"', k)]
    assert not fives, f"server errors under fuzzing: {fives}"


# ---- the rules the document states hold on the server ----------------------------------------


def test_text_pattern_in_the_document_is_the_servers_rule_on_every_code_point() -> None:
    import json as _json

    from pydantic import ValidationError

    from archive_server.app import create_app
    from archive_server.models import CaptionIn
    from archive_server.settings import ArchiveSettings

    doc = create_app(ArchiveSettings(db="sqlite+aiosqlite:///unused.db")).openapi()
    pattern = doc["components"]["schemas"]["CaptionIn"]["properties"]["text"]["pattern"]
    rx = re.compile(pattern)
    disagree = []
    for cp in range(0x110000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue  # not Unicode scalar values: no JSON Schema string holds them
        documented = rx.fullmatch(f"a{ch}b") is not None
        try:
            CaptionIn(text=f"a{ch}b")
            accepted = True
        except ValidationError:
            accepted = False
        if documented != accepted:
            disagree.append(f"U+{cp:04X}")
    assert not disagree, disagree[:20]
    # a lone surrogate (a JSON "\ud800" escape) is refused too
    with pytest.raises(ValidationError):
        CaptionIn.model_validate_json(_json.dumps({"text": "a\ud800b"}))


def test_nonsense_times_are_refused_with_a_reason() -> None:
    from pydantic import ValidationError

    from archive_server.models import CaptionIn

    ok = {"text": "x", "start_at": "2026-11-28T06:00:00Z", "end_at": "2026-11-28T06:00:02Z"}
    CaptionIn.model_validate(ok)
    cases = {
        "is before start_at": {**ok, "end_at": "0091-01-01T00:00:00Z"},
        "at most 3600 s": {**ok, "end_at": "2026-11-28T08:00:00Z"},
        "not an ISO-8601 date-time": {**ok, "start_at": 0.5},
        "ends (0.5 s) before it starts (2.0 s)": {
            **ok,
            "words": [{"word": "w", "start": 2.0, "end": 0.5, "conf": 1}],
        },
        "valid boolean": {**ok, "final": 1},
    }
    for says, body in cases.items():
        with pytest.raises(ValidationError, match=re.escape(says)):
            CaptionIn.model_validate(body)
