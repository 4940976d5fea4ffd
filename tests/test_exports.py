"""The WebVTT and SubRip exports read back as the captions, through independent parsers.

``webvtt-py`` parses the WebVTT file (its ``.text`` drops tags, as a renderer would; character
references are decoded with :func:`html.unescape`, as a browser does); ``srt`` parses SubRip. The
expected text of every cue is the caption text itself (split at its line breaks, blank lines
dropped), so an unescaped ``<b>`` (read as a tag and lost), an unescaped ``&amp;`` (shown as
``&``), a ``-->`` read as a timing line or a blank line that ends a cue early all fail.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from pathlib import Path

import pytest
import srt
import webvtt

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from archive_server.models import Caption
from archive_server.subtitles import to_srt, to_vtt

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)

#: 2,000 characters (the API's maximum) mixing every character WebVTT treats specially
LONG = ("A < B & C > D --> 字幕 &amp; <i>x</i> " * 60)[:2000]

TEXTS = [
    "A < B & C > D",
    "<b>bold</b> tag",
    "a --> b",
    "-->",
    "00:00:01.000 --> 00:00:02.000",
    "   leading spaces",
    "&amp; is already an entity, &lt; too",
    "&",
    "NOTE not a comment",
    "WEBVTT",
    "42",
    "こんにちは、世界。字幕のテストです",
    "안녕하세요 <오늘의> 뉴스 & 날씨",
    "<c.yellow>not a class</c> <v Bob>not a voice",
    LONG,
]


def _cap(seq: int, text: str, start_s: float, dur_s: float = 2.0) -> Caption:
    start = T0 + dt.timedelta(seconds=start_s)
    return Caption(
        channel=7,
        seq=seq,
        text=text,
        final=True,
        revision=1,
        language="ko",
        start_at=start,
        end_at=start + dt.timedelta(seconds=dur_s),
        words=None,
        created_at=start,
        updated_at=start,
    )


def _expected(text: str) -> str:
    return "\n".join(ln for ln in text.split("\n") if ln.strip())


def _vtt_cues(body: str) -> list[tuple[str, float, float, str]]:
    cues = webvtt.from_string(body)
    return [
        (c.identifier, c.start_in_seconds, c.end_in_seconds, html.unescape(c.text)) for c in cues
    ]


@pytest.mark.parametrize("text", TEXTS, ids=[t[:24] for t in TEXTS])
def test_vtt_reads_back_as_the_caption(text: str) -> None:
    caps = [_cap(1, "before", 0.0), _cap(2, text, 3.0), _cap(3, "after", 6.0)]
    cues = _vtt_cues(to_vtt(caps))
    assert cues == [
        ("7-1", 0.0, 2.0, "before"),
        ("7-2", 3.0, 5.0, _expected(text)),
        ("7-3", 6.0, 8.0, "after"),
    ]


@pytest.mark.parametrize("text", TEXTS, ids=[t[:24] for t in TEXTS])
def test_srt_reads_back_as_the_caption(text: str) -> None:
    caps = [_cap(1, "before", 0.0), _cap(2, text, 3.0), _cap(3, "after", 6.0)]
    subs = list(srt.parse(to_srt(caps)))
    got = [(s.index, s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs]
    assert got == [
        (1, 0.0, 2.0, "before"),
        (2, 3.0, 5.0, _expected(text)),
        (3, 6.0, 8.0, "after"),
    ]


def test_line_breaks_and_blank_lines_stay_inside_one_cue() -> None:
    # The API refuses line breaks; rows written before that rule may hold them (the response
    # model Caption, unlike CaptionIn, does not check text).
    text = "first line\n\n\nsecond line\n   \nthird"
    caps = [_cap(1, text, 0.0), _cap(2, "next", 3.0)]
    assert _vtt_cues(to_vtt(caps))[0][3] == "first line\nsecond line\nthird"
    assert [s.content for s in srt.parse(to_srt(caps))] == [
        "first line\nsecond line\nthird",
        "next",
    ]


def test_a_caption_without_visible_text_has_no_cue_and_numbering_has_no_gap() -> None:
    caps = [_cap(1, "one", 0.0), _cap(2, "", 2.0), _cap(3, "   ", 4.0), _cap(4, "two", 6.0)]
    assert [c[0] for c in _vtt_cues(to_vtt(caps))] == ["7-1", "7-4"]
    assert [(s.index, s.content) for s in srt.parse(to_srt(caps))] == [(1, "one"), (2, "two")]


def test_times_count_from_the_earliest_caption_not_the_first_listed() -> None:
    # listed by seq; seq 1 aired after seq 2 (a correction of an earlier line)
    caps = [_cap(1, "later", 10.0), _cap(2, "earlier", 4.0)]
    assert [(c[1], c[3]) for c in _vtt_cues(to_vtt(caps))] == [(6.0, "later"), (0.0, "earlier")]


def test_the_served_exports_escape_through_the_real_app(tmp_path: Path) -> None:
    import asyncio

    from archive_server.app import create_app
    from archive_server.settings import ArchiveSettings
    from archive_server.store import Store

    db = f"sqlite+aiosqlite:///{tmp_path}/x.db"

    async def setup() -> str:
        st = Store(db)
        await st.migrate()
        _, tok = await st.add_channel("seven", 7)
        await st.close()
        return tok

    tok = asyncio.run(setup())
    with TestClient(create_app(ArchiveSettings(db=db))) as tc:
        for i, text in enumerate(TEXTS):
            start = T0 + dt.timedelta(seconds=3 * i)
            r = tc.put(
                f"/v1/channels/7/captions/{i}",
                headers={"Authorization": f"Bearer {tok}"},
                json={
                    "text": text,
                    "start_at": start.isoformat(),
                    "end_at": (start + dt.timedelta(seconds=2)).isoformat(),
                },
            )
            assert r.status_code == 201, r.text
        vtt = tc.get("/v1/channels/7/captions.vtt")
        srt_body = tc.get("/v1/channels/7/captions.srt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert srt_body.headers["content-type"].startswith("application/x-subrip")
    assert [c[3] for c in _vtt_cues(vtt.text)] == TEXTS
    assert [c[1] for c in _vtt_cues(vtt.text)] == [3.0 * i for i in range(len(TEXTS))]
    assert [s.content for s in srt.parse(srt_body.text)] == TEXTS


_TRACK_PAGE = """<!doctype html><meta charset="utf-8">
<video muted><track id="t" default kind="subtitles" srclang="ja" src="c.vtt"></video>
<pre id="out">pending</pre>
<script>
const t = document.getElementById("t");
t.track.mode = "hidden";
t.addEventListener("load", () => {
  const cues = Array.from(t.track.cues).map(
    (c) => [c.id, c.startTime, c.endTime, c.getCueAsHTML().textContent]);
  document.getElementById("out").textContent = JSON.stringify(cues);
});
t.addEventListener("error", () => { document.getElementById("out").textContent = "error"; });
</script>
"""


@pytest.mark.browser
def test_chromium_track_element_reads_the_vtt_as_the_captions(tmp_path: Path) -> None:
    import functools
    import http.server
    import json
    import re
    import shutil
    import subprocess
    import threading

    caps = [_cap(i, text, 3.0 * i) for i, text in enumerate(TEXTS)]
    (tmp_path / "c.vtt").write_text(to_vtt(caps), encoding="utf-8")
    (tmp_path / "index.html").write_text(_TRACK_PAGE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("chromium missing: apt-get install chromium (tools/ensure-system-deps.sh)")
    try:
        dom = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'chrome'}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_address[1]}/index.html",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        ).stdout
    finally:
        server.shutdown()
        server.server_close()
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-2000:]
    cues = json.loads(html.unescape(found.group(1)))
    assert [c[3] for c in cues] == TEXTS
    assert [(c[0], c[1], c[2]) for c in cues] == [
        (f"7-{i}", 3.0 * i, 3.0 * i + 2.0) for i in range(len(TEXTS))
    ]
