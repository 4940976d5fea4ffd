"""The receiver's --web view: served by websockets itself, checked in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from receiver_app.display import CaptionDisplay, CaptionItem
from receiver_app.errors import SettingsError
from receiver_app.settings import DisplayRules
from receiver_app.web import WebView

KO = "오늘 서울의 날씨는 맑고 기온은 영하 오도까지 내려가겠습니다"


@pytest.fixture
def web() -> Iterator[WebView]:
    view = WebView(port=0, max_lines=2)
    view.start()
    yield view
    view.stop()


def _show(view: WebView, *items: CaptionItem) -> None:
    d = CaptionDisplay(DisplayRules(min_display_s=0, display_s_per_char=0))
    for i, it in enumerate(items):
        d.offer(it, float(i))
    view.screen(d.screen)


def test_page_and_socket(web: WebView) -> None:
    _show(web, CaptionItem(3, 7, KO))
    web.status("listening")
    with urllib.request.urlopen(web.url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/html")
        page = r.read().decode()
    assert "__MAX_LINES__" not in page and "new WebSocket" in page
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(web.url + "nope", timeout=5)
    assert info.value.code == 404
    info.value.close()

    async def first_message() -> dict[str, object]:
        from websockets.asyncio.client import connect

        async with connect(web.url.replace("http", "ws") + "ws") as ws:
            return dict(json.loads(await asyncio.wait_for(ws.recv(), 5)))

    msg = asyncio.run(first_message())
    assert msg["status"] == "listening"
    texts = [ln["text"] for ln in msg["lines"]]  # type: ignore[attr-defined]
    assert texts == ["오늘 서울의 날씨는 맑고 기온은", "영하 오도까지 내려가겠습니다"]


def test_only_loopback() -> None:
    with pytest.raises(SettingsError, match="loopback only"):
        WebView(host="0.0.0.0")


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_every_theme_meets_wcag_aa() -> None:
    css = resources.files("receiver_app").joinpath("static/index.html").read_text()
    themes = re.findall(r"--fg: (#[0-9a-f]{6}); --bg: (#[0-9a-f]{6}); --dim: (#[0-9a-f]{6})", css)
    assert len(themes) == 3
    for fg, bg, dim in themes:
        assert _contrast(fg, bg) >= 7.0  # captions: AAA even
        assert _contrast(dim, bg) >= 4.5  # status text: AA


def _chromium(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("chromium missing: apt-get install chromium (tools/ensure-system-deps.sh)")
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp / 'chrome'}",
            "--virtual-time-budget=3000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


@pytest.mark.browser
def test_chromium_renders_captions_from_the_socket(web: WebView, tmp_path: Path) -> None:
    _show(web, CaptionItem(3, 7, KO), CaptionItem(3, 8, "녹화", marker="recorded"))
    dom = _chromium(web.url, tmp_path, "--dump-dom").stdout
    lines = re.findall(r'<div class="line[^"]*"[^>]*>(.*?)</div>', dom)
    # Two lines on screen (max_lines=2): the last line of the first caption, then the second.
    assert len(lines) == 2
    assert lines[0] == "영하 오도까지 내려가겠습니다"
    assert "recorded" in lines[1] and "녹화" in lines[1]


@pytest.mark.browser
def test_chromium_screenshot_light_theme(web: WebView, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    _show(web, CaptionItem(3, 7, KO))
    shot = tmp_path / "light.png"
    _chromium(
        web.url + "?theme=light&size=60", tmp_path, f"--screenshot={shot}", "--window-size=900,500"
    )
    img = np.asarray(mpimg.imread(shot))[..., :3]
    # Light theme: the page is white, the caption block near the bottom has black text.
    assert img[5:40, 300:500].mean() > 0.95
    caption_band = img[250:480, :, :]
    dark = (caption_band.max(axis=2) < 0.2).mean()
    assert 0.03 < dark < 0.5
    # The viewer's choice is remembered (localStorage) when the page is opened again ...
    again = tmp_path / "again.png"
    _chromium(web.url, tmp_path, f"--screenshot={again}", "--window-size=900,500")
    assert np.asarray(mpimg.imread(again))[5:40, 300:500, :3].mean() > 0.95
    # ... and the dark theme is white text on black.
    shot2 = tmp_path / "dark.png"
    _chromium(web.url + "?theme=dark", tmp_path, f"--screenshot={shot2}", "--window-size=900,500")
    img2 = np.asarray(mpimg.imread(shot2))[..., :3]
    assert img2[100:200].mean() < 0.05
    assert (img2[250:480].min(axis=2) > 0.8).mean() > 0.02
