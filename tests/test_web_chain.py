"""The whole chain into the browser: a real broadcaster run (real vosk) against a real archive,
channel_sim's living room into a 44.1 kHz phone recording, and that recording as the microphone
of the caption page in headless Chromium, served by a real archive on loopback.

The page's archive is a fresh one on the same channel id, into which this test writes the run's
captions the way the broadcaster did, paced by the recording: each caption's first words just
before its trigger airs, its final text after the trigger; one caption is corrected; the archive
is stopped and started again in the middle. What the page must show comes from the run's own
archive (what the broadcaster stored), never from the page.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from audio_io import read_audio, write_audio
from jimaku.demo.chain import ChainResult, ChainSettings, run_chain
from tests.plugins.archive import ArchiveHandle
from tests.plugins.browser import PageErrors, launch_chromium, until
from trigger_codec import Decoder

pytestmark = [pytest.mark.vosk, pytest.mark.browser, pytest.mark.timeout(600)]

MOD = "import(document.querySelector('script[type=module]').src)"
#: the broadcaster puts a caption's first words when vosk has them, as its trigger goes on air
PARTIAL_LEAD_S = 0.4
#: ... and the final text when the utterance ends, after the trigger
FINAL_AFTER_TRIGGER_S = 0.8
CORRECTION = " (정정)"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainResult]:
    out = tmp_path_factory.mktemp("webchain")
    yield run_chain(ChainSettings(out_dir=out, delay_s=0.0, realtime=False))


def _put(
    a: ArchiveHandle,
    seq: int,
    text: str,
    final: bool,
    stop: threading.Event,
    done: dict[Any, float],
) -> None:
    """PUT until the archive takes it (it may be down on purpose), as the broadcaster's spool;
    notes when it was stored in ``done[(seq, final)]`` (wall clock, s)."""
    while not stop.is_set():
        try:
            r = httpx.put(
                f"{a.url}/v1/channels/{a.channel}/captions/{seq}",
                json={"text": text, "final": final},
                headers={"Authorization": f"Bearer {a.token}"},
                timeout=5,
            )
        except httpx.TransportError:
            stop.wait(0.1)
            continue
        if r.status_code >= 500:  # the archive starting up again
            stop.wait(0.1)
            continue
        if r.status_code not in (200, 201):
            done[("refused", seq, final)] = float(r.status_code)
            return
        done.setdefault((seq, final), time.time())
        return


def test_the_page_shows_the_runs_captions_from_its_phone_recording(
    run: ChainResult, archive_factory: Callable[..., ArchiveHandle], tmp_path: Path, pw: Any
) -> None:
    made = [c.seq for c in run.captions]
    stored = {int(c["seq"]): c for c in run.archive_captions}
    assert made and sorted(made) == sorted(stored)
    # where each caption's trigger is in the phone recording (its clock), from the Python decoder
    rec, sr = read_audio(run.paths["phone"])
    dec = Decoder(sample_rate=sr)
    heard_py = [*dec.feed(rec[:, 0]), *dec.flush()]
    first_heard: dict[int, Any] = {}
    for d in sorted(heard_py, key=lambda d: d.start_s):
        if d.channel == run.channel:
            first_heard.setdefault(d.seq, d)
    assert set(first_heard) == set(made)
    corrected = made[1] if len(made) > 1 else made[0]
    want = {s: stored[s]["text"] + (CORRECTION if s == corrected else "") for s in made}
    outage_after = made[len(made) // 2]

    a = archive_factory(start=False)
    a.channel, a.token = a.add_channel("web chain", id=run.channel)
    a.start()
    wav = tmp_path / "phone.wav"
    write_audio(wav, np.concatenate([rec[:, :1], np.zeros((int(1.5 * sr), 1), np.float32)]), sr)

    b = launch_chromium(pw, wav)
    stop = threading.Event()
    try:
        page = b.new_page()
        errors = PageErrors(page)
        page.goto(a.url + "/?lang=en&sw=0")
        page.click("#start")
        t0_ms = until(page, f"(async () => (await {MOD}).app.state.audioStartMs)()", 20)

        stored_at: dict[Any, float] = {}
        outage: list[float] = []

        def restart() -> None:
            outage.append(time.time())
            a.stop()
            threading.Thread(target=lambda: (a.start(), outage.append(time.time()))).start()

        # the broadcaster's spool: writes in order, each retried until the archive takes it
        spooled: queue.Queue[tuple[int, str, bool] | None] = queue.Queue()

        def spooler() -> None:
            while (item := spooled.get()) is not None:
                _put(a, *item, stop, stored_at)

        threading.Thread(target=spooler, daemon=True).start()

        def spool(s: int, text: str, final: bool) -> Callable[[], None]:
            return lambda: spooled.put((s, text, final))

        plan: list[tuple[float, Callable[[], None]]] = []
        for s in made:
            d = first_heard[s]
            text = stored[s]["text"]
            words = text.split()
            first = " ".join(words[: max(1, len(words) // 2)])
            fin = d.end_s + FINAL_AFTER_TRIGGER_S
            plan.append((d.start_s - PARTIAL_LEAD_S, spool(s, first, False)))
            plan.append((fin, spool(s, text, True)))
            if s == corrected:
                plan.append((fin + 0.5, spool(s, want[s], True)))
            if s == outage_after:
                plan.append((fin + 0.3, restart))
        plan.sort(key=lambda p: p[0])
        n = len(made)
        all_final = f"""(async () => {{ const r = (await {MOD}).app.receiver;
                 const h = r.display.history;
                 return h.length >= {n} && h.every((x) => x.item.final)
                   && h.some((x) => x.item.text.endsWith({CORRECTION!r})); }})()"""
        heard_js = f"""(async () => (await {MOD}).app.detections.filter((d) => d.lastSampleMs
                 !== null).map((d) => [d.channel, d.seq, d.endS, d.lastSampleMs]))()"""
        ends: dict[int, list[float]] = {}  # where each trigger airing ends in the recording
        for d in heard_py:
            if d.channel == run.channel:
                ends.setdefault(d.seq, []).append(d.end_s)
        # The programme runs in real time on the recording's clock. Its origin is first taken as
        # the page's first audio block; the fake microphone may have played (unheard) before the
        # page's audio graph was connected, so at the page's first detection the origin is
        # re-taken from that airing's end in the recording and when the page heard its last
        # sample. The airing is the first one at or after the page's own stream position (the
        # unheard head is shorter than the 2.5 s between repeats).
        origin_s = t0_ms / 1000
        anchored = False
        limit_s = len(rec) / sr + 40
        deadline = time.monotonic() + limit_s
        try:
            while True:
                if not anchored:
                    for ch, seq, end_s, last_ms in page.evaluate(heard_js):
                        later = [
                            e for e in ends.get(seq, []) if ch == run.channel and e >= end_s - 0.05
                        ]
                        if later:
                            origin_s = last_ms / 1000 - min(later)
                            anchored = True
                            break
                while plan and origin_s + plan[0][0] <= time.time():
                    plan.pop(0)[1]()
                if not plan and page.evaluate(all_final):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"not all captions final within {len(rec) / sr + 40:.0f} s"
                    )
                page.wait_for_timeout(20)  # poll step of the programme's clock and the page
        except AssertionError as exc:
            got = page.evaluate(
                f"(async () => {{ const m = await {MOD}; return {{t: m.app.timings,"
                " heard: [...m.app.receiver.heard.keys()], status: document.querySelector("
                "'#status').textContent, alert: document.querySelector('#alert').textContent}; })()"
            )
            raise AssertionError(f"{exc}; made {made}, want {want}, page {got}") from None
        spooled.put(None)
        history = page.locator("#history-list li").all_text_contents()
        events = page.evaluate(f"(async () => (await {MOD}).app.timings)()")
        alert = page.evaluate("document.querySelector('#alert').dataset.key || null")
    finally:
        stop.set()
        b.close()

    # exactly the run's captions, in order, once each, with the archive's (corrected) text
    assert history == [want[s] for s in made]
    shown = [e["seq"] for e in events if e["kind"] == "shown"]
    assert shown == made
    by_seq: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        assert e["channel"] == run.channel
        by_seq.setdefault(e["seq"], []).append(e)
    for s in made:
        assert by_seq[s][-1]["final"] and by_seq[s][-1]["text"] == want[s]
    # first words, then the final text in place, for every caption whose first words were
    # stored before its trigger was heard, while the page's live socket could bring them: all
    # but the first (the page joins the channel's live stream at the first trigger it hears)
    # and those stored during the outage or the second after it (the socket reconnecting)
    assert len(outage) == 2, outage
    assert not [k for k in stored_at if k[0] == "refused"], stored_at
    assert all((s, True) in stored_at for s in made), stored_at
    checked = []
    for s in made[1:]:
        at = stored_at[(s, False)]
        heard_s = by_seq[s][0]["lastSampleMs"] / 1000
        if at > heard_s - 0.2 or outage[0] - 0.5 <= at <= outage[1] + 1.0:
            continue
        checked.append(s)
        first = by_seq[s][0]
        assert not first["final"], (s, by_seq[s])
        assert want[s].startswith(first["text"]) or stored[s]["text"].startswith(first["text"])
    assert len(checked) >= len(made) - 3, (checked, stored_at, outage)
    # the correction replaced its caption (an update, never a second "shown")
    assert [e["kind"] for e in by_seq[corrected]].count("shown") == 1
    assert alert in (None, "archive_back")
    # the browser logs each refused connection during the outage; nothing else may appear
    outage_noise = ("ERR_CONNECTION_REFUSED", "Failed to load resource", "ERR_CONNECTION_RESET")
    assert [e for e in errors.all if not any(n in e for n in outage_noise)] == []
