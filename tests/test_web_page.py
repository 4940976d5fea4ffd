"""The caption page the archive serves (web_receiver), in a real browser against a real archive.

Headless Debian Chromium (Playwright), a real archive server on loopback (uvicorn, SQLite file),
the page's real modules, fetches and WebSocket. Where no recording is played, a trigger is handed
to the page's receiver the way its decoder worker hands one over (the seam between decoding and
the caption logic; the decoding itself is tested with recordings below and in test_web_chain.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from audio_io import read_audio, write_audio
from tests.plugins.archive import ArchiveHandle, NginxFront, metric
from tests.plugins.browser import PageErrors, launch_chromium, until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "audio_fixtures"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
#: Where screenshots go when asked for (JIMAKU_WEB_SCREENSHOTS=dir); else the test's tmp dir.
SHOTS_ENV = "JIMAKU_WEB_SCREENSHOTS"
LONG = {
    "ja": "直ちに高い場所へ避難してください。津波が到達するおそれがあります。"
    "海岸や川の近くには絶対に近づかないでください。（気象庁発表）",
    "ko": "지금 즉시 높은 곳으로 대피하십시오. 해안과 강 근처에는 절대로 가까이 가지 마십시오. "
    "안전이확인될때까지대피를계속하십시오",
    "en": "Evacuate to higher ground immediately; a tsunami warning is in force for the whole "
    "coast. Details: https://example.org/emergency/tsunami-warning-information-page-2026",
}

#: Every text #status shows, in order (a later message may replace one before the test looks).
RECORD_STATUS = """() => {
    const el = document.querySelector('#status');
    window.__statuses = [];
    new MutationObserver(() => window.__statuses.push(el.textContent))
        .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def _put(a: ArchiveHandle, seq: int, text: str, final: bool = True, **kw: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    body = {"text": text, "final": final, "start_at": now, "end_at": now, **kw}
    r = httpx.put(
        f"{a.url}/v1/channels/{a.channel}/captions/{seq}",
        json=body,
        headers={"Authorization": f"Bearer {a.token}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


def _module(page: Any) -> str:
    """JS expression: the page's main module (the same instance the page runs)."""
    return "import(document.querySelector('script[type=module]').src)"


def _hear(page: Any, channel: int, seq: int) -> None:
    page.evaluate(
        f"async () => (await {_module(page)}).app.receiver.onDetection("
        f"{{channel: {channel}, seq: {seq}, profile: 'hf'}})"
    )


def _wait_subscribed(page: Any, a: ArchiveHandle, n: int = 1) -> None:
    for _ in range(200):
        if metric(a.url, "archive_live_subscribers") >= n:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page never subscribed to the live WebSocket")


def _caption(page: Any, seq: int) -> Any:
    return page.locator(f'#captions [data-seq="{seq}"]')


# -- serving ---------------------------------------------------------------------------------------


def test_page_and_assets_are_served_with_caching_and_security_headers(
    archive_server: ArchiveHandle,
) -> None:
    url = archive_server.url
    r = httpx.get(url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache" and r.headers["etag"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "connect-src 'self'" in csp
    assert "microphone=(self)" in r.headers["permissions-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text  # no inline script at all
    assert httpx.get(url + "/", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assets = re.findall(r'(?:src|href)="(/assets/[0-9a-f]{12}/[^"]+)"', r.text)
    assert {Path(a).name for a in assets} >= {"main.mjs", "app.css", "icon.svg"}
    for a in assets:
        ra = httpx.get(url + a, headers={"Accept-Encoding": "gzip"})
        assert ra.status_code == 200, a
        assert ra.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-security-policy" in ra.headers
    version = assets[0].split("/")[2]
    dec = httpx.get(f"{url}/assets/{version}/codec/decoder.mjs")
    assert dec.status_code == 200 and "export class Decoder" in dec.text
    assert httpx.get(f"{url}/assets/000000000000/main.mjs").status_code == 404
    assert httpx.get(f"{url}/assets/{version}/nothing.js").json()["code"] == "not_found"
    man = httpx.get(url + "/manifest.webmanifest")
    assert man.json()["start_url"] == "/" and version in man.text
    sw = httpx.get(url + "/sw.js")
    assert sw.headers["cache-control"] == "no-cache" and version in sw.text
    # the API is untouched and the page is not in its schema
    assert httpx.get(url + "/v1/channels").status_code == 200
    assert "/" not in httpx.get(url + "/openapi.json").json()["paths"]


def test_nginx_caches_the_assets_and_revalidates_the_page(
    archive_server: ArchiveHandle, tmp_path: Path
) -> None:
    ng = NginxFront(archive_server.port, tmp_path)
    ng.start()
    try:
        page = httpx.get(ng.url + "/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
        assert "content-security-policy" in page.headers
        etag = page.headers["etag"]
        assert httpx.get(ng.url + "/", headers={"If-None-Match": etag}).status_code == 304
        asset = re.search(r'src="(/assets/[0-9a-f]{12}/main.mjs)"', page.text).group(1)  # type: ignore[union-attr]
        first = httpx.get(ng.url + asset, headers={"Accept-Encoding": "gzip"})
        again = httpx.get(ng.url + asset, headers={"Accept-Encoding": "gzip"})
        assert first.headers["x-cache-status"] == "MISS"
        assert again.headers["x-cache-status"] == "HIT"
        assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert again.headers["content-encoding"] == "gzip" and again.content == first.content
    finally:
        ng.stop()


# -- in the browser --------------------------------------------------------------------------------


def test_page_loads_clean_and_its_csp_refuses_inline_script(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    page = browser.new_page()
    errors = PageErrors(page)
    page.goto(archive_server.url + "/?lang=en")
    assert page.locator("#start").inner_text() == "Start listening"
    assert page.get_attribute("#captions", "role") == "log"
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation',
                (e) => resolve(e.violatedDirective), {once: true});
            window.__ran = false;
            const s = document.createElement('script');
            s.textContent = 'window.__ran = true';
            document.body.append(s);
            setTimeout(() => resolve(window.__ran ? 'ran' : 'no event'), 2000);
        })"""
    )
    assert blocked.startswith("script-src"), blocked
    assert page.evaluate("window.__ran") is False
    assert errors.all == [] or all("Content Security Policy" in e for e in errors.all)
    page.close()


def test_a_caption_holding_markup_shows_as_text_and_runs_nothing(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(archive_server.url + "/?lang=en")
    nasty = '<img src=x onerror=alert(1)><script>alert(2)</script>&amp; "quotes"'
    _put(archive_server, 11, nasty)
    _hear(page, archive_server.channel, 11)
    cap = _caption(page, 11)
    cap.wait_for(timeout=15_000)
    assert cap.text_content() == " ".join(nasty.split())
    assert page.locator("#captions img, #captions script, #history-list img").count() == 0
    assert page.locator("#history-list li").first.text_content() == " ".join(nasty.split())
    page.wait_for_timeout(300)  # a dialog, had one been opened, would have been reported by now
    assert dialogs == []
    page.close()


def test_partial_then_final_then_correction_in_place(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    page = browser.new_page()
    page.goto(f"{a.url}/?lang=en&channel={a.channel}")
    _wait_subscribed(page, a)
    _put(a, 20, "今日は", final=False)
    until(page, f"(async () => (await {_module(page)}).app.receiver.cache.has('{a.channel}/20'))()")
    _hear(page, a.channel, 20)
    el = _caption(page, 20)
    page.wait_for_selector('#captions [data-seq="20"][data-final="false"]', timeout=10_000)
    assert el.text_content() == "今日は"
    assert el.get_attribute("aria-hidden") == "true"  # kept from the live region until final
    _put(a, 20, "今日は晴れです。", final=True)
    page.wait_for_selector('#captions [data-seq="20"][data-final="true"]', timeout=10_000)
    assert el.count() == 1 and el.text_content() == "今日は晴れです。"
    assert el.get_attribute("aria-hidden") is None
    handle = el.element_handle()
    _put(a, 20, "今日は曇りです。", final=True)
    page.wait_for_function(
        "el => el.textContent === '今日は曇りです。'", arg=handle, timeout=10_000
    )
    assert handle.evaluate("el => el.isConnected")  # the same node, changed in place
    assert el.count() == 1
    assert page.locator("#history-list li").all_text_contents() == ["今日は曇りです。"]
    page.close()


def test_first_caption_after_joining_shows_its_first_words_at_once(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    """Unpinned, the page joins the channel's live socket at the first trigger it hears
    (``from_seq``): that caption's partial, stored before, shows at once, not at its next
    revision (the held GET's answer, or the end of its hold); the final replaces it, once."""
    a = archive_server
    page = browser.new_page()
    errors = PageErrors(page)
    page.goto(f"{a.url}/?lang=en")
    _put(a, 30, "最初の", final=False)  # before the page knows the channel: only a replay brings it
    _hear(page, a.channel, 30)
    el = _caption(page, 30)
    # well inside the GET's 10 s hold (web_receiver/static/archive.mjs WAIT_S), which alone
    # would bring this partial only at the hold's end
    page.wait_for_selector('#captions [data-seq="30"][data-final="false"]', timeout=5_000)
    assert el.text_content() == "最初の"
    _put(a, 30, "最初の言葉です。", final=True)
    page.wait_for_selector('#captions [data-seq="30"][data-final="true"]', timeout=10_000)
    assert el.count() == 1 and el.text_content() == "最初の言葉です。"
    assert page.locator("#history-list li").all_text_contents() == ["最初の言葉です。"]
    assert not errors.all, errors.all
    page.close()


def test_archive_stopping_and_coming_back_loses_nothing(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    page = browser.new_page()
    page.goto(f"{a.url}/?lang=en&channel={a.channel}")
    page.evaluate(RECORD_STATUS)
    _wait_subscribed(page, a)
    _put(a, 30, "before the outage")
    _hear(page, a.channel, 30)
    _caption(page, 30).wait_for(timeout=10_000)
    a.stop()
    page.wait_for_selector('#alert[data-key="archive_down"]', timeout=15_000)
    assert "cannot be reached" in page.inner_text("#alert")
    _hear(page, a.channel, 31)  # heard while the archive is down
    page.wait_for_timeout(500)
    a.start()
    _put(a, 31, "during the outage")
    _caption(page, 31).wait_for(timeout=20_000)
    page.wait_for_function("() => !document.querySelector('#alert').dataset.key", timeout=15_000)
    assert "Connected to the caption server again." in page.evaluate("window.__statuses")
    # the live socket came back too: a correction of a caption on screen arrives by it
    _wait_subscribed(page, a)
    _put(a, 31, "during the outage, corrected")
    page.wait_for_function(
        "() => document.querySelector('#captions [data-seq=\"31\"]')?.textContent"
        " === 'during the outage, corrected'",
        timeout=15_000,
    )
    seqs = page.locator("#history-list li").all_text_contents()
    assert seqs == ["before the outage", "during the outage, corrected"]
    page.close()


def test_unknown_channel_and_stale_caption_get_a_message(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    page = browser.new_page()
    page.goto(f"{a.url}/?lang=en")
    _hear(page, 999, 1)
    _hear(page, 999, 1)  # the repeat: heard once it could be a false ID, and is not told
    page.wait_for_selector('#alert[data-key="unknown_channel"]', timeout=15_000)
    assert "999" in page.inner_text("#alert")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    _put(a, 40, "an old programme", start_at=old, end_at=old)
    _hear(page, a.channel, 40)
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('over 60 s ago')",
        timeout=15_000,
    )
    assert _caption(page, 40).count() == 0
    # asked for, a recorded programme's caption is shown, marked
    page.click("#menu-button")
    page.check("#recorded")
    _put(a, 41, "another old one", start_at=old, end_at=old)
    _hear(page, a.channel, 41)
    _caption(page, 41).wait_for(timeout=10_000)
    assert _caption(page, 41).get_attribute("data-marker") == "recorded"
    page.close()


FALSE_TRIGGER_CASES = json.loads((REPO / "tests/data/false_trigger_cases.json").read_text())

#: every message the page's receiver gives the view, and a short give-up for fetches
RECORD_MESSAGES = f"""async () => {{
    const r = (await {_module(None)}).app.receiver;
    window.__receiver = r;
    window.__messages = [];
    const tell = r.hooks.onMessage;
    r.hooks.onMessage = (m) => {{ window.__messages.push(m); tell(m); }};
    r.giveUpS = 2;
}}"""


@pytest.mark.parametrize("case", FALSE_TRIGGER_CASES["cases"], ids=lambda c: c["name"])
def test_false_trigger_ids_change_nothing_the_viewer_sees(
    browser: Any, archive_factory: Callable[..., ArchiveHandle], case: dict[str, Any]
) -> None:
    """The shared false-ID cases (tests/data/false_trigger_cases.json): the captions shown, in
    order, each within ORDER_HOLD_S of its trigger (a false ID holds nothing); the channels
    messages name; the live sockets opened (a false ID never takes the real channel's away);
    the channel followed; the false IDs counted."""
    a = archive_factory()
    tokens = {ch: a.add_channel(f"ch{ch}", id=ch)[1] for ch in case["channels"]}
    text = {(ch, seq): t for ch, seq, t in case["stored"]}
    for (ch, seq), t in text.items():
        _put_on(a, ch, tokens[ch], seq, t)
    page = browser.new_page()
    sockets: list[int] = []
    page.on(
        "websocket",
        lambda ws: sockets.append(int(re.search(r"/channels/(\d+)/live", ws.url).group(1))),
    )
    page.goto(f"{a.url}/?lang=en")
    page.evaluate(RECORD_MESSAGES)
    history = page.locator("#history-list li")
    count: dict[int, int] = {}
    real: set[int] = set()
    for ch, seq in case["heard"]:
        _hear(page, ch, seq)
        count[ch] = count.get(ch, 0) + 1
        if (ch, seq) not in text:
            continue
        real.add(ch)
        # handed to the display well under ORDER_HOLD_S (3 s): an earlier false ID did not hold
        # it (the display then shows it at its own pace)
        page.wait_for_function(
            f"() => window.__receiver.heard.get('{ch}/{seq}')?.delivered", timeout=2_500
        )
        # the archive has answered for the channels it does not have (after the GET's 10 s hold):
        # still, only a channel heard twice or confirmed by the archive may have been named
        for other in {c for c, _ in case["heard"]} - set(case["channels"]):
            if other in count:
                page.wait_for_function(
                    f"() => [...window.__receiver.heard.values()]"
                    f".some((h) => h.channel === {other} && h.result !== null)",
                    timeout=30_000,
                )
        messages = page.evaluate("window.__messages")
        named = {m["vars"]["ch"] for m in messages if "ch" in m.get("vars", {})}
        assert named <= real | {c for c, n in count.items() if n >= 2}, messages
    want = [text[tuple(k)] for k in case["shown"]]
    page.wait_for_function(
        "want => [...document.querySelectorAll('#history-list li')]"
        ".map((li) => li.textContent).join('|') === want.join('|')",
        arg=want,
        timeout=15_000,
    )
    r = f"(await {_module(page)}).app.receiver"
    if case["unconfirmed"] is not None:
        n = case["unconfirmed"]
        got = (
            until(
                page, f"(async () => {r}.unconfirmedTriggers >= {n} && {r}.unconfirmedTriggers)()"
            )
            if n
            else 0
        )
        assert got == n
    assert history.all_text_contents() == want
    messages = page.evaluate("window.__messages")
    named = {m["vars"]["ch"] for m in messages if "ch" in m.get("vars", {})}
    assert named == set(case["told"]), messages
    assert page.evaluate(f"async () => {r}.channel") == case["following"]
    joined = [ch for i, ch in enumerate(sockets) if i == 0 or sockets[i - 1] != ch]
    assert joined == _joined(case), sockets
    page.close()


def _joined(case: dict[str, Any]) -> list[int]:
    """The live sockets a case opens: the first channel heard at once, then each channel the
    viewer switches to (a stored caption heard, or a channel heard twice)."""
    stored = {(ch, seq) for ch, seq, _ in case["stored"]}
    out: list[int] = []
    count: dict[int, int] = {}
    for ch, seq in case["heard"]:
        count[ch] = count.get(ch, 0) + 1
        if not out or (out[-1] != ch and ((ch, seq) in stored or count[ch] >= 2)):
            out.append(ch)
    return out


def _put_on(a: ArchiveHandle, ch: int, token: str, seq: int, text: str) -> None:
    now = dt.datetime.now(dt.UTC).isoformat()
    r = httpx.put(
        f"{a.url}/v1/channels/{ch}/captions/{seq}",
        json={"text": text, "final": True, "start_at": now, "end_at": now},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize(("width", "height"), [(360, 640), (412, 915)])
def test_no_caption_overflows_a_phone_at_the_largest_size(
    browser: Any, archive_server: ArchiveHandle, tmp_path: Path, width: int, height: int
) -> None:
    a = archive_server
    ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{a.url}/?lang=ja")
    page.click("#menu-button")
    page.select_option("#lines", "5")
    page.click("#menu-button")
    for _ in range(20):
        page.click("#bigger")
    sizes = page.evaluate(f"async () => (await {_module(page)}).SIZES")
    assert page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--size')"
    ) == (f"{sizes[-1]}px")
    for seq, lang in enumerate(("ja", "ko", "en"), start=50):
        _put(a, seq, LONG[lang])
        _hear(page, a.channel, seq)
        _caption(page, seq).wait_for(timeout=10_000)
        shots = Path(os.environ.get(SHOTS_ENV, tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"web-{width}x{height}-{lang}.png"), full_page=True)
        over = page.evaluate(
            """() => [...document.querySelectorAll('#captions .caption')]
                 .filter((e) => e.scrollWidth > e.clientWidth)
                 .map((e) => [e.dataset.seq, e.scrollWidth, e.clientWidth])"""
        )
        assert over == [], over
        doc = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert doc[0] <= doc[1], doc
        # every character is there (nothing cut): the element's text is the caption's
        assert _caption(page, seq).text_content() == " ".join(LONG[lang].split())
    ctx.close()


def test_axe_finds_no_serious_or_critical_violation(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run `npm ci` (the Makefile does)", pytrace=False)
    a = archive_server
    # bypass_csp only so the test can inject axe-core; the page itself is unchanged
    for theme in ("dark", "yellow", "light"):
        ctx = browser.new_context(bypass_csp=True, viewport={"width": 412, "height": 915})
        page = ctx.new_page()
        page.goto(f"{a.url}/?lang=ko")
        page.click("#menu-button")
        page.select_option("#theme", theme)
        page.click("#history-button")
        _put(a, 60, "오늘 서울의 날씨는 맑겠습니다")
        _hear(page, a.channel, 60)
        _caption(page, 60).wait_for(timeout=10_000)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], (theme, bad)
        ctx.close()


def test_settings_are_remembered_and_the_language_follows_the_browser(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    ctx = browser.new_context(locale="ko-KR")
    page = ctx.new_page()
    page.goto(archive_server.url + "/")
    assert page.inner_text("#start") == "듣기 시작"
    assert page.get_attribute("html", "lang") == "ko"
    page.click("#menu-button")
    page.select_option("#theme", "yellow")
    page.select_option("#lang", "ja")
    page.click("#bigger")
    size = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--size')")
    page.reload()
    assert page.get_attribute("body", "data-theme") == "yellow"
    assert page.inner_text("#start") == "聞き取りを開始"
    again = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--size')")
    assert again == size
    ctx.close()


def test_microphone_denied_gets_a_clear_message(pw: Any, archive_server: ArchiveHandle) -> None:
    b = launch_chromium(pw, None, fake_ui=False)
    try:
        page = b.new_page()
        page.goto(archive_server.url + "/?lang=en")
        page.click("#start")
        page.wait_for_selector('#alert[data-key="mic_denied"]', timeout=15_000)
        assert "microphone is blocked" in page.inner_text("#alert")
        assert page.inner_text("#start") == "Start listening"  # can try again
    finally:
        b.close()


def test_an_insecure_address_says_the_microphone_needs_https(
    pw: Any, archive_server: ArchiveHandle
) -> None:
    # a LAN-like name (not loopback) over http: not a secure context, no getUserMedia
    b = launch_chromium(pw, None, extra_args=("--host-resolver-rules=MAP tv.test 127.0.0.1",))
    try:
        page = b.new_page()
        page.goto(f"http://tv.test:{archive_server.port}/?lang=en")
        assert page.evaluate("window.isSecureContext") is False
        page.wait_for_selector('#alert[data-key="insecure"]', timeout=10_000)
        assert "https://" in page.inner_text("#alert")
        page.click("#start")
        assert page.get_attribute("#alert", "data-key") == "insecure"
    finally:
        b.close()


def test_the_service_worker_caches_the_app_shell_but_never_captions(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(a.url + "/?lang=en")
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == a.url + "/"
    page.reload()  # now controlled by the worker
    until(page, "navigator.serviceWorker.controller !== null", 10)
    cached = page.evaluate(
        """async () => { const out = [];
             for (const k of await caches.keys())
               for (const r of await (await caches.open(k)).keys())
                 out.push(new URL(r.url).pathname);
             return out; }"""
    )
    assert "/" in cached and any(p.endswith("/main.mjs") for p in cached), cached
    _put(a, 70, "from the network")
    _hear(page, a.channel, 70)
    _caption(page, 70).wait_for(timeout=10_000)
    cached = page.evaluate(
        "async () => (await Promise.all((await caches.keys()).map(async (k) =>"
        " (await (await caches.open(k)).keys()).map((r) => r.url)))).flat()"
    )
    assert not [u for u in cached if "/v1/" in u], cached
    ctx.close()


# -- with a recording as the microphone ------------------------------------------------------------


def _wav(src: Path, out: Path, lowpass_hz: float | None = None, pad_s: float = 1.0) -> Path:
    data, sr = read_audio(src)
    x = data[:, 0].astype(np.float64)
    if lowpass_hz is not None:
        x = sosfiltfilt(butter(10, lowpass_hz, fs=sr, output="sos"), x)
    # silence after the programme, so the last trigger is past the decoder's look-ahead
    x = np.concatenate([x, np.zeros(int(pad_s * sr))])
    write_audio(out, x.astype(np.float32)[:, None], sr)
    return out


def _listen(
    pw: Any, wav: Path, url: str, until_js: str, timeout_s: float = 30.0, loop: bool = False
) -> Any:
    b = launch_chromium(pw, wav, loop=loop)
    page = b.new_page()
    page.goto(url)
    page.click("#start")
    try:
        until(page, until_js, timeout_s)
    except BaseException:
        b.close()
        raise
    return b, page


def test_low_passed_recording_gets_the_band_warning(
    pw: Any, archive_server: ArchiveHandle, tmp_path: Path
) -> None:
    wav = _wav(FIXTURES / "room_speech_hf_44k.flac", tmp_path / "lp.wav", lowpass_hz=7000)
    b, page = _listen(
        pw,
        wav,
        archive_server.url + "/?lang=en",
        "document.querySelector('#alert').dataset.key === 'band_none'",
    )
    try:
        text = page.inner_text("#alert")
        assert "cannot reach this page" in text
        khz = float(re.search(r"about ([0-9.]+) kHz", text).group(1))  # type: ignore[union-attr]
        assert 6 <= khz <= 8, text
    finally:
        b.close()


@pytest.mark.parametrize("capture", ["worklet", "script"])
def test_the_page_decodes_triggers_from_its_microphone(
    pw: Any, archive_server: ArchiveHandle, tmp_path: Path, capture: str
) -> None:
    # the recording's triggers are of channels this archive does not have: the page says so
    import json

    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["file"] == "room_speech_hf_44k.flac")
    want = [(t["channel"], t["seq"]) for t in entry["triggers"]]
    wav = _wav(FIXTURES / entry["file"], tmp_path / "rec.wav")
    mod = "import(document.querySelector('script[type=module]').src)"
    b, page = _listen(
        pw,
        wav,
        archive_server.url + f"/?lang=en&capture={capture}",
        f"(async () => (await {mod}).app.receiver.heard.size >= {len(want)})()",
        # the fake microphone plays from getUserMedia on, before the page's audio graph is
        # connected (longer on a loaded machine): looped, every trigger comes round again
        loop=True,
    )
    try:
        heard = page.evaluate(
            f"(async () => [...(await {mod}).app.receiver.heard.values()]"
            ".map((h) => [h.channel, h.seq]))()"
        )
        assert sorted(map(tuple, heard)) == sorted(want)
        state = page.evaluate(
            f"(async () => {{ const s = (await {mod}).app.state;"
            " return {pathUsed: s.pathUsed, band: s.band}; })()"
        )
        assert state["pathUsed"] == capture
        # the band report covers the latest audio: during the recording's trailing second of
        # silence (it loops) it says "silent"; while the programme plays it must say "ok"
        until(page, f"(async () => (await {mod}).app.state.band?.verdict === 'ok')()", 15)
        page.wait_for_selector('#alert[data-key="unknown_channel"]', timeout=15_000)
    finally:
        b.close()


def test_browser_present() -> None:
    assert shutil.which("node") is not None
