"""The terminal UI, driven headless with textual's pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np

from receiver_app.app import ReceiverApp, ShownRecord
from receiver_app.display import CaptionDisplay, CaptionItem
from receiver_app.settings import ReceiverSettings
from receiver_app.tui import build_ui


class _Silence:
    sample_rate = 48000

    def blocks(self) -> Iterator[np.ndarray]:
        yield np.zeros(1024, np.float32)

    def close(self) -> None:
        pass


def test_tui_shows_captions_status_history_and_themes() -> None:
    app = ReceiverApp(ReceiverSettings(live=False), _Silence())
    ui = build_ui(app, start_receiver=False)
    assert ui.bridge in app.outputs

    async def drive() -> None:
        async with ui.run_test(size=(80, 24)) as pilot:
            d = CaptionDisplay()
            text = "오늘 서울의 날씨는 맑고 기온은 영하 오도까지 내려가겠습니다"
            d.offer(CaptionItem(1, 5, text), 0.0)
            ui.show_screen(d.screen)
            ui.set_status("archive unreachable; still listening")
            ui.add_history(
                ShownRecord(
                    type="shown",
                    channel=1,
                    seq=5,
                    text="오늘",
                    final=True,
                    stale=False,
                    profile="hf",
                    shown_wall=0.0,
                )
            )
            await pilot.pause()
            captions = str(ui.query_one("#captions").render())
            assert "오늘 서울의 날씨는 맑고 기온은" in captions
            assert "영하 오도까지 내려가겠습니다" in captions
            assert "archive unreachable" in str(ui.query_one("#status").render())
            cap = ui.query_one("#captions")
            assert cap.styles.color.hex.lower() == "#ffffff"
            assert cap.styles.background.hex.lower() == "#000000"
            await pilot.press("t")
            assert cap.styles.color.hex.lower() == "#ffd700"
            history = ui.query_one("#history")
            assert not history.has_class("shown")
            await pilot.press("h")
            assert history.has_class("shown")
            assert len(history.lines) == 1

    asyncio.run(drive())
