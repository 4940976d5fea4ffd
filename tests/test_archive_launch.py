"""archive_server.launch: a real server subprocess started, waited for, stopped; failures named."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from archive_server.launch import ArchiveLauncher, LaunchError, PortTaken


def _db(tmp: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp / 'a.db'}"


def test_start_serves_then_stop_is_graceful(tmp_path: Path) -> None:
    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log")
    channel, token = archive.add_channel("t", 9)
    assert channel == 9 and token
    with archive:
        assert httpx.get(f"{archive.url}/healthz").json() == {"status": "ok"}
        proc = archive.proc
        assert proc is not None
    # SIGTERM lets uvicorn shut down in order (it then re-raises the signal): not killed
    assert proc.returncode == -signal.SIGTERM
    assert "Finished server process" in archive.log_since_start()
    assert not archive.running
    archive.stop()  # a second stop is a no-op


def test_restart_keeps_port_and_database(tmp_path: Path) -> None:
    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log")
    _, token = archive.add_channel("t", 3)
    archive.start()
    port = archive.port
    r = httpx.put(
        f"{archive.url}/v1/channels/3/captions/1",
        json={"text": "one"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code in (200, 201), r.text
    archive.kill()
    archive.start()
    try:
        assert archive.port == port
        assert httpx.get(f"{archive.url}/v1/channels/3/captions/1").json()["text"] == "one"
    finally:
        archive.stop()


def test_death_at_start_quotes_the_log(tmp_path: Path) -> None:
    def command(*args: str) -> list[str]:
        return [sys.executable, "-c", "import sys; print('no database here'); sys.exit(4)"]

    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log", command=command)
    with pytest.raises(LaunchError, match=r"exited with 4 at start-up: no database here") as e:
        archive.start()
    assert e.value.returncode == 4 and not isinstance(e.value, PortTaken)


def test_busy_fixed_port_is_port_taken(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log", port=port)
        with pytest.raises(PortTaken, match=rf"cannot listen on 127\.0\.0\.1:{port}"):
            archive.start()


def test_a_chosen_port_taken_meanwhile_is_replaced(tmp_path: Path) -> None:
    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log")
    with socket.socket() as s:
        s.bind(("127.0.0.1", archive.port))  # someone else took it after it was chosen
        s.listen()
        taken = archive.port
        archive.start()
    try:
        assert archive.port != taken
        assert httpx.get(f"{archive.url}/healthz").status_code == 200
    finally:
        archive.stop()


def test_no_answer_by_the_deadline_is_an_error_and_the_process_goes(tmp_path: Path) -> None:
    def command(*args: str) -> list[str]:
        # alive, but never listening on the port
        return [
            sys.executable,
            "-c",
            "print('starting', flush=True); import threading; threading.Event().wait()",
        ]

    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log", command=command)
    with pytest.raises(LaunchError, match=r"did not answer .* within 1 s: starting") as e:
        archive.start(timeout_s=1.0)
    assert e.value.returncode is None
    assert archive.proc is None


def test_add_channel_failure_is_one_error(tmp_path: Path) -> None:
    archive = ArchiveLauncher(_db(tmp_path), tmp_path / "a.log")
    archive.add_channel("t", 5)
    with pytest.raises(LaunchError, match=r"`add-channel u` exited with 2"):
        archive.add_channel("u", 5)
