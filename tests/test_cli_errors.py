"""What users type gets one clear line on stderr and exit status 2, never a traceback.

Every case runs the real ``jimaku`` command in a subprocess, as a user would, from a scratch
directory. Each expectation is the start of the message the user must see (what was wrong and
what to do), so a case fails if the command crashes, answers with a different error, or succeeds.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from archive_server.dburl import async_db_url
from archive_server.errors import SettingsError
from jimaku.cli import install_hint
from tests.plugins.archive import ArchiveHandle
from tests.plugins.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]


def _jimaku(
    cwd: Path, *args: str, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JIMAKU_MODELS_DIR": str(cwd / "models")}
    env.pop("JIMAKU_ARCHIVE_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "jimaku", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _one_clear_line(
    res: subprocess.CompletedProcess[str], starts: str, contains: str = "", code: int = 2
) -> None:
    err = res.stderr
    assert "Traceback" not in err + res.stdout, err[-3000:]
    assert res.returncode == code, f"exit {res.returncode}: {err[-2000:]}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err[-2000:]}"
    assert lines[0].startswith(starts), lines[0]
    assert contains in lines[0], lines[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch directory with the files users get wrong (made here, so expectations follow)."""
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello, not audio\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "notadb.db").write_text("SQLite format? no, a text file\n")
    (tmp_path / "bad.toml").write_text("this is = = not toml\n")
    rng = np.random.default_rng(7)
    sf.write(tmp_path / "noise48k.wav", (0.01 * rng.standard_normal(4800)).astype("float32"), 48000)
    sf.write(tmp_path / "noise16k.wav", (0.01 * rng.standard_normal(1600)).astype("float32"), 16000)
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port that something is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the database URL forms people know ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("captions.db", "sqlite+aiosqlite:///captions.db"),
        ("sqlite:///captions.db", "sqlite+aiosqlite:///captions.db"),
        ("sqlite+pysqlite:////var/lib/x.db", "sqlite+aiosqlite:////var/lib/x.db"),
        ("sqlite+aiosqlite:///captions.db", "sqlite+aiosqlite:///captions.db"),
        ("postgresql://user@db.example/captions", "postgresql+asyncpg://user@db.example/captions"),
        ("postgres://u:pw@h:5433/c", "postgresql+asyncpg://u:pw@h:5433/c"),
        ("postgresql+psycopg2://u@h/c", "postgresql+asyncpg://u@h/c"),
        ("postgresql://u@h/c?sslmode=require", "postgresql+asyncpg://u@h/c?ssl=require"),
        ("postgresql+asyncpg://u@h/c", "postgresql+asyncpg://u@h/c"),
    ],
)
def test_db_url_forms_map_to_async_drivers(typed: str, expected: str) -> None:
    assert async_db_url(typed) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "empty database URL"),
        ("mysql://u@h/db", "database 'mysql' is not supported"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("no/such/dir/captions.db", "directory 'no/such/dir' does not exist"),
        ("postgresql://u@h/c?sslmode=sometimes", "sslmode='sometimes' is unknown"),
    ],
)
def test_db_url_nonsense_is_refused(typed: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        async_db_url(typed)


@pytest.mark.parametrize("form", ["sqlite:///captions.db", "captions.db", "data/captions.db"])
def test_archive_admin_accepts_the_forms_people_type(work: Path, form: str) -> None:
    (work / "data").mkdir()
    res = _jimaku(work, "archive", "add-channel", "KBS", "--id", "7", "--json", "--db", form)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["channel"] == 7
    listed = _jimaku(work, "archive", "list-channels", "--json", "--db", form)
    assert listed.returncode == 0, listed.stderr
    assert [c["id"] for c in json.loads(listed.stdout)["channels"]] == [7]
    stem = form.rsplit("/", 1)[-1] if "://" in form else form
    assert (work / stem).is_file()


@pytest.mark.postgres
def test_archive_admin_accepts_a_plain_postgresql_url(
    work: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database().replace("postgresql+asyncpg://", "postgresql://")
    res = _jimaku(work, "archive", "add-channel", "MBC", "--id", "11", "--json", "--db", url)
    assert res.returncode == 0, res.stderr
    listed = _jimaku(work, "archive", "list-channels", "--json", "--db", url)
    assert [c["id"] for c in json.loads(listed.stdout)["channels"]] == [11]


def test_install_hint_names_an_extra_that_installs_the_package() -> None:
    assert install_hint("sqlalchemy", "server") == "pip install 'jimaku[server]'"
    assert install_hint("prometheus_client", "server") == "pip install 'jimaku[server]'"
    assert install_hint("vosk", "broadcaster") == "pip install 'jimaku[broadcaster]'"
    assert install_hint("httpx", "server") == "pip install 'jimaku[client]'"
    # not a dependency of any extra: the package itself, never an extra that lacks it
    assert install_hint("psycopg.pq", "server") == "pip install psycopg"


def test_missing_package_message_names_an_extra_that_installs_it(work: Path) -> None:
    # sys.modules[name] = None makes `import name` raise ModuleNotFoundError, as if uninstalled
    code = (
        "import sys; sys.modules['sqlalchemy'] = None; from jimaku.cli import main; "
        "sys.exit(main(['archive', 'list-channels', '--db', 'x.db']))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=60
    )
    _one_clear_line(
        res,
        "jimaku archive: the Python package 'sqlalchemy' is not installed",
        "pip install 'jimaku[server]'",
    )


# ---- every subcommand: what users get wrong ------------------------------------------------------

CASES: list[tuple[str, tuple[str, ...], str, str]] = [
    # archive
    (
        "db-missing-dir",
        ("archive", "add-channel", "X", "--db", "data/captions.db"),
        "jimaku archive: error: database 'data/captions.db': directory 'data' does not exist",
        "",
    ),
    (
        "db-mysql",
        ("archive", "migrate", "--db", "mysql://u@h/db"),
        "jimaku archive: error: database 'mysql' is not supported",
        "postgresql://",
    ),
    (
        "db-not-a-database",
        ("archive", "list-channels", "--db", "notadb.db"),
        "jimaku archive: error: cannot prepare database",
        "file is not a database",
    ),
    (
        "db-postgres-down",
        ("archive", "list-channels", "--db", "postgresql://u@127.0.0.1:{closed}/d"),
        "jimaku archive: error: cannot prepare database postgresql+asyncpg://",
        "Connect call failed",
    ),
    (
        "serve-postgres-down",
        ("archive", "serve", "--db", "postgresql://u@127.0.0.1:{closed}/d", "--port", "{closed}"),
        "jimaku archive: error: cannot prepare database postgresql+asyncpg://",
        "",
    ),
    (
        "serve-port-in-use",
        ("archive", "serve", "--db", "a.db", "--port", "{busy}"),
        "jimaku archive: error: cannot listen on 127.0.0.1:{busy}",
        "--port",
    ),
    (
        "serve-bad-host",
        ("archive", "serve", "--db", "a.db", "--host", "no-such-host.invalid"),
        "jimaku archive: error: cannot listen on host 'no-such-host.invalid'",
        "",
    ),
    (
        "rotate-no-channel",
        ("archive", "rotate-token", "99", "--db", "a.db"),
        "jimaku archive: error: no channel 99",
        "add-channel",
    ),
    (
        "add-channel-id-range",
        ("archive", "add-channel", "X", "--id", "5000", "--db", "a.db"),
        "jimaku archive: error: channel id 5000 out of range 0-4095",
        "",
    ),
    # decode / encode / embed
    (
        "decode-missing",
        ("decode", "nofile.wav"),
        "jimaku decode: error: nofile.wav: no such file",
        "",
    ),
    (
        "decode-empty",
        ("decode", "empty.wav"),
        "jimaku decode: error: empty.wav: the file is empty",
        "",
    ),
    (
        "decode-not-audio",
        ("decode", "text.wav"),
        "jimaku decode: error: text.wav: not a readable audio file",
        "",
    ),
    ("decode-directory", ("decode", "adir"), "jimaku decode: error: adir: is a directory", ""),
    (
        "encode-channel-range",
        ("encode", "--channel", "5000", "--seq", "1", "-o", "x.wav"),
        "jimaku encode: error: channel=5000 is out of range",
        "0..4095",
    ),
    (
        "encode-no-dir",
        ("encode", "--channel", "5", "--seq", "1", "-o", "nodir/x.wav"),
        "jimaku encode: error: nodir/x.wav: cannot write",
        "",
    ),
    (
        "encode-format",
        ("encode", "--channel", "5", "--seq", "1", "-o", "x.mp3"),
        "jimaku encode: error: x.mp3: cannot write '.mp3'",
        ".wav",
    ),
    (
        "embed-missing",
        ("embed", "nofile.wav", "--at", "0:1:2", "-o", "y.wav"),
        "jimaku embed: error: nofile.wav: no such file",
        "",
    ),
    (
        "embed-bad-at",
        ("embed", "noise48k.wav", "--at", "x", "-o", "y.wav"),
        "jimaku embed: error: --at 'x': expected TIME:CHANNEL:SEQ",
        "",
    ),
    (
        "embed-beyond-end",
        ("embed", "noise48k.wav", "--at", "100:1:2", "-o", "y.wav"),
        "jimaku embed: error: --at 100:1:2: 100 s is at or beyond the end",
        "",
    ),
    (
        "embed-no-dir",
        ("embed", "noise48k.wav", "--at", "0:1:2", "-o", "nodir/y.wav"),
        "jimaku embed: error: nodir/y.wav: cannot write the output",
        "",
    ),
    # receive
    (
        "receive-missing",
        ("receive", "--input", "nofile.wav"),
        "jimaku receive: input file 'nofile.wav' does not exist",
        "",
    ),
    (
        "receive-empty",
        ("receive", "--input", "empty.wav"),
        "jimaku receive: cannot read input 'empty.wav'",
        "empty",
    ),
    (
        "receive-bad-url",
        ("receive", "--input", "noise48k.wav", "--archive", "archive.local"),
        "jimaku receive: archive URL 'archive.local' must start with http://",
        "",
    ),
    (
        "receive-url-bad-port",
        ("receive", "--input", "noise48k.wav", "--archive", "http://[::1"),
        "jimaku receive: archive URL 'http://[::1' is not a valid URL",
        "port",
    ),
    (
        "receive-url-no-host",
        ("receive", "--input", "noise48k.wav", "--archive", "http://:8000"),
        "jimaku receive: archive URL 'http://:8000' names no host",
        "",
    ),
    (
        "receive-rate",
        ("receive", "--input", "noise48k.wav", "--sample-rate", "8000"),
        "jimaku receive: sample rate 8000 Hz",
        "44100 or 48000",
    ),
    (
        "demo-out-dir",
        ("demo", "--out", "empty.wav/demo-out"),
        "jimaku demo: cannot create the output folder 'empty.wav/demo-out'",
        "--out",
    ),
    (
        "receive-file-rate",
        ("receive", "--input", "noise16k.wav"),
        "jimaku receive: input noise16k.wav: sample rate 16000 Hz is too low",
        "44100 or 48000",
    ),
    (
        "receive-web-port-in-use",
        ("receive", "--input", "noise48k.wav", "--web", "--web-port", "{busy}"),
        "jimaku receive: cannot serve the caption page on 127.0.0.1:{busy}",
        "--web-port",
    ),
    (
        "receive-no-device",
        ("receive", "--input-device", "97"),
        "jimaku receive: opening input stream on device 97 failed",
        "--list-devices",
    ),
    # broadcast
    (
        "broadcast-missing",
        ("broadcast", "--input", "nofile.wav", "--output", "o.wav"),
        "jimaku broadcast: nofile.wav: no such file",
        "",
    ),
    (
        "broadcast-empty",
        ("broadcast", "--input", "empty.wav", "--output", "o.wav"),
        "jimaku broadcast: empty.wav: the file is empty",
        "",
    ),
    (
        "broadcast-output-dir",
        ("broadcast", "--input", "noise48k.wav", "--output", "nodir/o.wav"),
        "jimaku broadcast: cannot write output file 'nodir/o.wav'",
        "",
    ),
    (
        "broadcast-model",
        ("broadcast", "--input", "noise48k.wav", "--output", "o.wav", "--model", "/no/such/model"),
        "jimaku broadcast: no model at '/no/such/model'",
        "jimaku models list",
    ),
    (
        "broadcast-bad-url",
        ("broadcast", "--input", "noise48k.wav", "--output", "o.wav", "--archive", "archive.local"),
        "jimaku broadcast: archive URL 'archive.local' must start with http://",
        "",
    ),
    (
        "broadcast-url-bad-port",
        ("broadcast", "--input", "noise48k.wav", "--output", "o.wav", "--archive", "http://[::1"),
        "jimaku broadcast: archive URL 'http://[::1' is not a valid URL",
        "port",
    ),
    (
        "broadcast-settings-missing",
        ("broadcast", "--input", "noise48k.wav", "--output", "o.wav", "--settings", "nofile.toml"),
        "jimaku broadcast: cannot read settings file 'nofile.toml'",
        "",
    ),
    (
        "broadcast-settings-bad",
        ("broadcast", "--input", "noise48k.wav", "--output", "o.wav", "--settings", "bad.toml"),
        "jimaku broadcast: cannot read settings file 'bad.toml'",
        "",
    ),
    (
        "broadcast-pcm-rate",
        ("broadcast", "--input", "-", "--pcm-rate", "8000", "--output", "o.wav"),
        "jimaku broadcast: programme sample rate 8000 Hz is below the 16000 Hz",
        "",
    ),
    (
        "broadcast-16k-hf",
        ("broadcast", "--input", "noise16k.wav", "--output", "o.wav"),
        "jimaku broadcast: cannot mix 'hf' triggers into 16000 Hz audio",
        "--profile robust",
    ),
    # models
    (
        "models-missing-zip",
        ("models", "install", "/no/such.zip"),
        "jimaku models install: '/no/such.zip' is neither a URL",
        "jimaku models list",
    ),
    (
        "models-not-zip",
        ("models", "install", "text.wav"),
        "jimaku models install: 'text.wav' is not a valid zip archive",
        "nothing was installed",
    ),
    (
        "models-unreachable",
        ("models", "install", "http://127.0.0.1:{closed}/m.zip"),
        "jimaku models install: could not download",
        "check the URL",
    ),
]


@pytest.mark.parametrize(
    ("args", "starts", "contains"),
    [pytest.param(a, s, c, id=name) for name, a, s, c in CASES],
)
def test_user_error_is_one_clear_line(
    work: Path, busy_port: int, args: tuple[str, ...], starts: str, contains: str
) -> None:
    closed = _closed_port()

    def fill(text: str) -> str:
        return text.replace("{busy}", str(busy_port)).replace("{closed}", str(closed))

    res = _jimaku(work, *(fill(a) for a in args))
    _one_clear_line(res, fill(starts), fill(contains))


def test_broadcast_with_a_device_that_does_not_exist_says_so_at_once(work: Path) -> None:
    # exit 2 at the first open, without the retries (--device-retries) kept for a device that
    # was there and went: no device has index 97, and waiting will not make one
    t0 = time.monotonic()
    res = _jimaku(
        work,
        "broadcast",
        "--input-device",
        "97",
        "--output",
        "o.wav",
        "--device-retries",
        "3",
        "--device-retry-s",
        "5",
    )
    _one_clear_line(
        res, "jimaku broadcast: opening input stream on device 97 failed", "--list-devices"
    )
    assert time.monotonic() - t0 < 15  # three 5 s retries would take 15 s more than the start


def test_broadcast_with_a_bad_token_ends_with_one_line_naming_it(
    work: Path, archive_server: ArchiveHandle
) -> None:
    from scipy.signal import resample_poly

    speech, rate = sf.read(REPO / "audio_fixtures" / "announcer" / "announcer.flac")
    assert rate == 16000
    sf.write(work / "speech48k.wav", resample_poly(speech[: 4 * rate], 3, 1), 48000)
    res = _jimaku(
        work, "broadcast", "--input", "speech48k.wav", "--output", "o.wav",
        "--archive", archive_server.url, "--channel", str(archive_server.channel),
        "--token", "not-the-token", "--state-dir", "state",
    )  # fmt: skip
    _one_clear_line(res, "jimaku broadcast: ", "HTTP 401", code=3)
    assert "not stored" in res.stderr and "spooled in state" in res.stderr


# ---- --archive pointing at a server that is not an archive ---------------------------------------


class _NotAnArchive(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_server(work: Path) -> Iterator[str]:
    """A real HTTP server that is not an archive (Python's file server on ``work``)."""
    handler = functools.partial(_NotAnArchive, directory=str(work))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as srv:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{srv.server_address[1]}"
        srv.shutdown()


@pytest.fixture
def not_http_server() -> Iterator[str]:
    """A TCP server that answers every request with an SSH banner, not HTTP."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)  # read the request, so that closing is not a reset
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


def test_receive_refuses_a_web_server_that_is_not_an_archive(work: Path, web_server: str) -> None:
    res = _jimaku(work, "receive", "--input", "noise48k.wav", "--fast", "--archive", web_server)
    _one_clear_line(res, f"jimaku receive: --archive {web_server} is not a jimaku archive", "404")


def test_receive_refuses_a_server_that_is_not_http(work: Path, not_http_server: str) -> None:
    url = not_http_server
    res = _jimaku(work, "receive", "--input", "noise48k.wav", "--fast", "--archive", url)
    _one_clear_line(res, f"jimaku receive: --archive {url} is not an HTTP server")


def test_receive_starts_while_the_archive_is_down(work: Path) -> None:
    """Nothing listening is not a wrong URL: the archive may come up later, so it listens."""
    url = f"http://127.0.0.1:{_closed_port()}"
    res = _jimaku(work, "receive", "--input", "noise48k.wav", "--fast", "--json", "--archive", url)
    assert res.returncode == 0, res.stderr[-2000:]
    assert '"type": "listening"' in res.stdout and "Traceback" not in res.stderr
