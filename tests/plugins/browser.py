"""Debian's Chromium driven by Playwright, with a WAV file as its microphone (no browser download).

``launch_chromium(pw, wav=None, fake_ui=True, loop=False)``
    A headless Chromium (``/usr/bin/chromium``) whose fake microphone plays ``wav`` once
    (``%noloop``) from the moment a page opens it; ``fake_ui`` grants the microphone without a
    prompt, ``fake_ui=False`` denies every permission prompt (the "microphone blocked" case);
    ``loop=True`` plays it over and over instead.
``PageErrors(page)``
    Collects console errors, uncaught page errors and CSP violations of a page.
Fixtures (``pytest_plugins`` in tests/conftest.py registers them): ``pw``, a Playwright instance,
and ``browser``, a Chromium without a microphone recording, one of each per test module.
Import the other names you use from here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "PageErrors", "browser", "launch_chromium", "pw", "until"]

CHROMIUM = Path("/usr/bin/chromium")
BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


def launch_chromium(
    pw: Any,
    wav: Path | None = None,
    fake_ui: bool = True,
    extra_args: tuple[str, ...] = (),
    loop: bool = False,
) -> Any:
    """Launch headless Chromium with a fake microphone playing ``wav`` once (see module doc)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (`bash tools/ensure-system-deps.sh`)",
            pytrace=False,
        )
    args = [*BASE_ARGS, "--use-fake-device-for-media-stream"]
    args.append("--use-fake-ui-for-media-stream" if fake_ui else "--deny-permission-prompts")
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}" + ("" if loop else "%noloop"))
    args.extend(extra_args)
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    """A Playwright (sync API) for the test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Any) -> Iterator[Any]:
    """A headless Chromium without a recording (fake microphone of silence) for the module."""
    b = launch_chromium(pw, None)
    yield b
    b.close()


class PageErrors:
    """Console errors, page errors and CSP violations seen on a page (``.all``)."""

    def __init__(self, page: Any) -> None:
        self.all: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.all.append(f"pageerror: {e}"))

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.all.append(f"console: {msg.text}")


def until(page: Any, js: str, timeout_s: float = 30.0) -> Any:
    """Poll an (async) expression of the page until it is truthy; return its value.

    Playwright's ``wait_for_function`` treats the Promise an async function returns as truthy at
    once, hence this loop. Raises :class:`AssertionError` after ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        v = page.evaluate(js)
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {js}")
        page.wait_for_timeout(50)
