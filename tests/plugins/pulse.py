"""A real PulseAudio daemon with a null sink, as a virtual sound card for device tests.

``pulse_server`` (session) starts ``pulseaudio`` in a private runtime directory with one null sink
(``jimaku_null``) whose monitor is the default source. Sounds played to the sink come back on the
monitor, so a test can play a trigger through an :class:`audio_io.OutputStream` and record it with
an :class:`audio_io.InputStream`, both on PortAudio's ALSA device ``"pulse"`` (the ALSA pulse
plugin from Debian's libasound2-plugins connects to the server named by ``PULSE_SERVER``).

``pulse_factory`` starts extra, private daemons — for a test that kills its daemon to see a device
go away without disturbing the session one.

Tests that use these are marked ``audio_device``; when ``pulseaudio`` or ``pactl`` is not installed
they fail naming the package to install (tools/ensure-system-deps.sh installs both).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.plugins.waiting import wait_until

__all__ = ["PulseServer", "pulse_factory", "pulse_server", "start_pulse"]

SINK = "jimaku_null"


@dataclass
class PulseServer:
    """A running private PulseAudio daemon.

    Attributes
    ----------
    runtime_dir : Path
        Its runtime directory (socket, pid file).
    server : str
        The value for ``PULSE_SERVER`` (``unix:<runtime_dir>/native``).
    sink, monitor : str
        The null sink's name and its monitor source's name.
    pid : int
        The daemon's process id.
    """

    runtime_dir: Path
    server: str
    sink: str
    monitor: str
    pid: int
    log: Path
    _stopped: bool = field(default=False, repr=False)

    def env(self) -> dict[str, str]:
        """Environment for a child process that should use this daemon."""
        runtime = str(self.runtime_dir)
        return {**os.environ, "PULSE_SERVER": self.server, "PULSE_RUNTIME_PATH": runtime}

    def pactl(self, *args: str) -> str:
        """Run ``pactl`` against this daemon and return its output."""
        out = subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL) — also how a test makes the device vanish."""
        if self._stopped:
            return
        self._stopped = True
        # The daemon forked away from us, so it cannot be waited for as a child: a pidfd
        # becomes readable at its exit (and names this process even if the pid is reused).
        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGTERM)
            exited, _, _ = select.select([pidfd], [], [], 5.0)
            if not exited:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            os.close(pidfd)


def start_pulse(base: Path) -> PulseServer:
    """Start a private PulseAudio daemon with a null sink under ``base``.

    Parameters
    ----------
    base : Path
        A fresh directory for the runtime files.

    Returns
    -------
    PulseServer
        The running daemon.
    """
    for tool, pkg in (("pulseaudio", "pulseaudio"), ("pactl", "pulseaudio-utils")):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: apt-get install {pkg} (tools/ensure-system-deps.sh)")
    runtime = base / "pulse"
    runtime.mkdir(parents=True, exist_ok=True)
    server = f"unix:{runtime}/native"
    log = base / "pulse.log"
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime), "HOME": str(base)}
    env.pop("PULSE_SERVER", None)
    cmd = [
        "pulseaudio",
        "-n",  # no default.pa: no hardware probing, only the modules below
        "--daemonize=yes",
        # As root PulseAudio warns but runs per-user without --system; the system mode would
        # need the pulse user and a D-Bus policy, which a CI container does not have.
        "--system=false",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "--disable-shm=yes",
        "--log-target=file:" + str(log),
        "-L",
        f"module-native-protocol-unix socket={runtime}/native auth-anonymous=1",
        "-L",
        f"module-null-sink sink_name={SINK} rate=48000",
        "-L",
        "module-always-sink",
    ]
    subprocess.run(cmd, env=env, check=True, timeout=20, capture_output=True)
    pid_file = runtime / "pid"

    def answering() -> int:
        """The daemon's pid once it has written it and answers ``pactl info``; else 0."""
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if not text:
            return 0
        info = subprocess.run(
            ["pactl", "info"], env={**env, "PULSE_SERVER": server}, capture_output=True, timeout=10
        )
        return int(text.split()[0]) if info.returncode == 0 else 0

    pid = wait_until(f"pulseaudio to answer pactl info (log: {log})", answering, 10.0, poll_s=0.1)
    srv = PulseServer(runtime, server, SINK, SINK + ".monitor", pid, log)
    srv.pactl("set-default-sink", SINK)
    srv.pactl("set-default-source", srv.monitor)
    return srv


def reinit_portaudio() -> None:
    """Make PortAudio rescan devices (it lists them once, when initialised)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@pytest.fixture(scope="session")
def pulse_server() -> Iterator[PulseServer]:
    """The session's PulseAudio daemon; ``PULSE_SERVER`` points at it while tests run."""
    base = Path(tempfile.mkdtemp(prefix="jimaku-pulse-"))
    srv = start_pulse(base)
    old = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = srv.server
    try:
        reinit_portaudio()
        yield srv
    finally:
        if old is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = old
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pulse_factory(tmp_path: Path) -> Iterator[Callable[[], PulseServer]]:
    """Start private daemons on demand (stopped at the end of the test)."""
    started: list[PulseServer] = []

    def make() -> PulseServer:
        srv = start_pulse(tmp_path / f"p{len(started)}")
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
