"""The caption page under bad conditions, in a real browser against a real archive on loopback.

A caption that never comes, a pinned channel the archive does not have, the archive going away
(retries with a doubling backoff, recovery shown) and the Screen Wake Lock held while listening.
Headless Debian Chromium (Playwright), the archive as a uvicorn subprocess, the page's own modules,
fetches and WebSocket. As in test_web_page.py, a trigger is handed to the page's receiver where
its decoder worker hands one over.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from tests.plugins.archive import ArchiveHandle
from tests.plugins.browser import until
from tests.test_web_page import (
    RECORD_STATUS,
    _caption,
    _hear,
    _module,
    _put,
    _wait_subscribed,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def _archive_js(page: Any, name: str) -> Any:
    """A constant exported by the page's archive.mjs (the instance the page runs)."""
    return page.evaluate(
        "async (name) => (await import(new URL('archive.mjs',"
        " document.querySelector('script[type=module]').src)))[name]",
        name,
    )


def _strings(page: Any, key: str) -> str:
    text: str = page.evaluate(
        "async (key) => (await import(new URL('i18n.mjs',"
        " document.querySelector('script[type=module]').src))).STRINGS.en[key]",
        key,
    )
    return text


# -- a caption that never comes --------------------------------------------------------------------


def test_a_caption_that_never_comes_gets_a_message_and_listening_goes_on(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    ctx = browser.new_context()
    page = ctx.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/captions/80" in r.url else None)
    page.goto(f"{a.url}/?lang=en&sw=0&channel={a.channel}")
    _wait_subscribed(page, a)
    give_up_default = _archive_js(page, "GIVE_UP_S")
    wait_s = _archive_js(page, "WAIT_S")
    rx = f"(await {_module(page)}).app.receiver"
    assert page.evaluate(f"async () => {rx}.giveUpS") == give_up_default == 30  # as documented
    # The test's one seam: the receiver gives up after 1 s instead of 30 (the archive's long-poll
    # still holds the one request for WAIT_S, so the message comes after about WAIT_S).
    page.evaluate(f"async () => {{ {rx}.giveUpS = 1; }}")
    t0 = time.monotonic()
    _hear(page, a.channel, 80)  # the archive never gets a caption #80
    page.wait_for_selector('#alert[data-key="caption_missing"]', timeout=wait_s * 1000 + 15_000)
    took = time.monotonic() - t0
    assert page.inner_text("#alert") == f"No caption came for channel {a.channel} #80."
    assert took < give_up_default, took  # the shortened deadline was the one that counted
    # one long-poll, no spinning on the missing caption
    assert len(asked) == 1 and asked[0].endswith(f"/captions/80?wait={wait_s}"), asked
    assert _caption(page, 80).count() == 0
    # still listening: the next caption shows, and the missing one never does
    _put(a, 81, "the next one")
    _hear(page, a.channel, 81)
    _caption(page, 81).wait_for(timeout=10_000)
    assert page.locator("#history-list li").all_text_contents() == ["the next one"]
    assert len(asked) == 1, asked
    ctx.close()


# -- a channel the archive does not have -----------------------------------------------------------


def test_a_pinned_channel_the_archive_does_not_have_gets_a_message(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    # pinned (not heard): the live WebSocket is what learns that the channel does not exist
    a = archive_server
    ctx = browser.new_context()
    page = ctx.new_page()
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    page.goto(f"{a.url}/?lang=en&sw=0&channel=998")
    page.wait_for_selector('#alert[data-key="unknown_channel"]', timeout=15_000)
    assert page.inner_text("#alert") == _strings(page, "unknown_channel").replace("{ch}", "998")
    # it does not keep reconnecting to a channel that is not there
    assert page.evaluate(f"async () => (await {_module(page)}).app.receiver.live.channel") is None
    # a trigger of that channel costs no request; one of a channel that exists still works
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/" in r.url else None)
    _hear(page, 998, 3)
    page.evaluate(f"async () => (await {_module(page)}).app.receiver.setPin(null)")
    _put(a, 90, "a known channel")
    _hear(page, a.channel, 90)
    _caption(page, 90).wait_for(timeout=10_000)
    _wait_subscribed(page, a)  # the known channel's live socket is open
    assert not [u for u in asked if "/channels/998/" in u], asked
    # in all that time (longer than the first retry's backoff) the page never went back to 998
    sockets = [u for u in opened if "/channels/998/live" in u]
    assert len(sockets) == 1, opened
    ctx.close()


#: Test seam: when the page called fetch (performance.now() ms), by URL; nothing else changes.
FETCH_SPY = """
(() => {
  const real = window.fetch.bind(window);
  window.__fetches = [];
  window.fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    window.__fetches.push([url, performance.now()]);
    return real(input, init);
  };
})();
"""


# -- the archive going away and coming back --------------------------------------------------------


def test_an_unreachable_archive_is_retried_with_backoff_and_its_return_is_shown(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    a = archive_server
    ctx = browser.new_context()
    ctx.add_init_script(FETCH_SPY)
    page = ctx.new_page()
    page.goto(f"{a.url}/?lang=en&sw=0&channel={a.channel}")
    page.evaluate(RECORD_STATUS)
    _wait_subscribed(page, a)
    first_s = _archive_js(page, "RETRY_INITIAL_S")
    max_s = _archive_js(page, "RETRY_MAX_S")
    a.stop()
    page.wait_for_selector('#alert[data-key="archive_down"]', timeout=15_000)
    assert page.inner_text("#alert") == _strings(page, "archive_down").replace(
        "{s}", f"{first_s:g}"
    )
    # its fetch is retried for the whole outage (longer than the default 30 s give-up may be,
    # here: the doublings, two waits at the cap, a restart, one more wait)
    page.evaluate(f"async () => {{ (await {_module(page)}).app.receiver.giveUpS = 300; }}")
    _hear(page, a.channel, 100)  # heard while the archive is down
    # doublings from first_s up to max_s, then at least two waits at the cap
    n_double = 0
    while first_s * 2**n_double < max_s:
        n_double += 1
    want = n_double + 2
    deadline = time.monotonic() + sum(min(max_s, first_s * 2**i) for i in range(want)) + 20
    asked = "window.__fetches.filter(([u]) => u.includes('/captions/100')).map(([, t]) => t / 1000)"
    while len(failed := page.evaluate(asked)) < want + 1:
        assert time.monotonic() < deadline, f"only {len(failed)} retries seen"
        page.wait_for_timeout(100)
    gaps = [b - a_ for a_, b in itertools.pairwise(failed)]
    # Each gap is the backoff plus the refused connection's own time (loopback: milliseconds; on
    # a shared machine a timer may fire late, never early). The backoff doubles up to the cap.
    expected = [min(max_s, first_s * 2**i) for i in range(len(gaps))]
    for got, exp in zip(gaps, expected, strict=True):
        assert exp - 0.005 <= got <= exp + 1.0, (gaps, expected)
    # back: the next retry (or the live socket's) finds it, the page says so, and the caption
    # heard during the outage arrives
    a.start()
    _put(a, 100, "heard during the outage")
    _caption(page, 100).wait_for(timeout=(max_s + 10) * 1000)
    page.wait_for_function("() => !document.querySelector('#alert').dataset.key", timeout=15_000)
    statuses = page.evaluate("window.__statuses")
    assert _strings(page, "archive_back") in statuses, statuses
    ctx.close()


# -- Screen Wake Lock ------------------------------------------------------------------------------

#: Test seam: navigator.wakeLock.request wrapped to count its calls (the real API still answers and
#: its real sentinel is returned); ``__wakeLockRefuse`` makes it refuse as a browser may (battery
#: saver, a policy). No user's page has this script.
WAKE_LOCK_SPY = """
(() => {
  if (!('wakeLock' in navigator)) return;
  const real = navigator.wakeLock.request.bind(navigator.wakeLock);
  window.__wakeLocks = [];
  window.__wakeLockCalls = 0;
  window.__wakeLockRefuse = false;
  navigator.wakeLock.request = (type) => {
    window.__wakeLockCalls += 1;
    if (window.__wakeLockRefuse) {
      window.__wakeLocks.push(null);
      return Promise.reject(new DOMException('refused by the test', 'NotAllowedError'));
    }
    const p = real(type);
    p.then((s) => window.__wakeLocks.push(s));
    return p;
  };
})();
"""

#: Headless Chromium keeps every page visible (CDP Page.setWebLifecycleState, a minimised window
#: or another tab in front change nothing; checked on Chromium 156), so the test shows and hides
#: the page the way the page sees it: document.visibilityState and a visibilitychange event. When
#: a real page is hidden the browser releases its wake lock; the test does that too.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'});
  if (state === 'hidden') for (const s of window.__wakeLocks) s?.release();
  document.dispatchEvent(new Event('visibilitychange'));
  return window.__wakeLockCalls;  // the page's listener asks (or not) before dispatch returns
}"""


def _locks(page: Any) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = page.evaluate(
        "window.__wakeLocks.map((s) => s && {type: s.type, released: s.released})"
    )
    return out


def test_the_screen_is_kept_on_while_listening_and_again_when_visible(
    browser: Any, archive_server: ArchiveHandle
) -> None:
    ctx = browser.new_context()
    ctx.add_init_script(WAKE_LOCK_SPY)
    page = ctx.new_page()
    page.goto(archive_server.url + "/?lang=en&sw=0")
    assert page.evaluate("window.isSecureContext")  # loopback http: the API is there
    assert _locks(page) == []  # not before the viewer starts listening
    page.click("#start")
    until(page, "window.__wakeLocks.length === 1", 15)
    assert _locks(page) == [{"type": "screen", "released": False}]  # held, by the real API
    # hidden (the browser drops the lock): nothing is asked while hidden
    assert page.evaluate(SET_VISIBILITY, "hidden") == 1
    assert _locks(page) == [{"type": "screen", "released": True}]
    # visible again: asked again at once, and held
    page.evaluate(SET_VISIBILITY, "visible")
    until(page, "window.__wakeLocks.length === 2", 10)
    assert _locks(page)[-1] == {"type": "screen", "released": False}
    # stopping listening lets the screen go, and a later return to the page asks nothing
    page.click("#start")
    until(page, "window.__wakeLocks.every((s) => s.released)", 10)
    assert page.get_attribute("#start", "aria-pressed") == "false"
    page.evaluate(SET_VISIBILITY, "hidden")
    assert page.evaluate(SET_VISIBILITY, "visible") == 2
    # a browser that refuses the lock: the viewer is told to keep the screen on
    page.evaluate("window.__wakeLockRefuse = true")
    page.click("#start")
    page.wait_for_function(
        "(want) => document.querySelector('#status').textContent === want",
        arg=_strings(page, "wake_lock"),
        timeout=15_000,
    )
    assert _locks(page)[-1] is None
    assert page.get_attribute("#start", "aria-pressed") == "true"  # still listening
    ctx.close()
