"""``jimaku archive serve --tls-self-signed``: a real uvicorn over TLS on loopback.

The certificate is made by the command (openssl), checked here with the standard library's ssl
(a verified connection trusting only that certificate, its fingerprint computed from the bytes
the server sends), and the caption page is opened over it in Debian's Chromium.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from archive_server import tls
from tests.plugins.browser import launch_chromium
from tests.plugins.process import stop
from tests.plugins.waiting import wait_until

pytestmark = [pytest.mark.timeout(180)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``archive serve`` expecting it to refuse at once (bad flags)."""
    return subprocess.run(
        [sys.executable, "-m", "archive_server", "serve", "--db", str(tmp / "a.db"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


class TlsArchive:
    """``archive serve --tls-self-signed`` on 127.0.0.1 as a subprocess, output in a file."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "a.db"
        self.tls_dir = tmp / "tls"
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.out = ""

    def admin(self, *args: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "archive_server", *args, "--db", str(self.db)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    def start(self) -> str:
        """Start and return what it printed once its TLS port answers."""
        log = self.tmp / f"serve-{self.port}.log"
        with open(log, "w") as f:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "archive_server", "serve", "--db", str(self.db)),
                    *("--host", "127.0.0.1", "--port", str(self.port)),
                    *("--tls-self-signed", "--tls-dir", str(self.tls_dir)),
                ],
                stdout=f,
                stderr=subprocess.STDOUT,
                text=True,
            )
        proc = self.proc

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {log.read_text()}")
            return f"running on https://127.0.0.1:{self.port}" in log.read_text()

        wait_until("the archive to listen over TLS", up, 60)
        self.out = log.read_text()
        return self.out

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop(self.proc, 20)
        self.proc = None


@pytest.fixture
def tls_archive(tmp_path: Path) -> Iterator[TlsArchive]:
    a = TlsArchive(tmp_path)
    yield a
    a.stop()


def _printed_fingerprint(out: str) -> str:
    m = re.search(r"SHA-256 fingerprint: ([0-9A-F:]{95})", out)
    assert m, out
    return m.group(1)


def test_serves_https_with_a_certificate_it_made_and_reuses(tls_archive: TlsArchive) -> None:
    a = tls_archive
    out = a.start()
    assert "certificate (made)" in out
    assert f"open https://127.0.0.1:{a.port}/" in out
    cert = a.tls_dir / "cert.pem"
    assert (a.tls_dir / "key.pem").stat().st_mode & 0o077 == 0  # the key is the owner's only
    # the fingerprint printed is that of the certificate the server presents
    served = ssl.get_server_certificate(("127.0.0.1", a.port))
    want = hashlib.sha256(ssl.PEM_cert_to_DER_cert(served)).hexdigest().upper()
    assert _printed_fingerprint(out).replace(":", "") == want
    # a client that trusts only this certificate verifies the server by address and by name
    ctx = ssl.create_default_context(cafile=str(cert))
    for host in ("127.0.0.1", "localhost"):
        r = httpx.get(f"https://{host}:{a.port}/healthz", verify=ctx, timeout=10)
        assert r.status_code == 200, host
    with (
        socket.create_connection(("127.0.0.1", a.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as s,
    ):
        peer = s.getpeercert()
    sans = set(peer["subjectAltName"])
    assert {("DNS", "localhost"), ("IP Address", "127.0.0.1")} <= sans
    end = dt.datetime.strptime(str(peer["notAfter"]), "%b %d %H:%M:%S %Y %Z")
    days = (end - dt.datetime.now()).days
    assert tls.VALID_DAYS - 2 <= days <= tls.VALID_DAYS, days
    # a client that trusts the system's CAs only refuses it (it is self-signed)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{a.port}/healthz", timeout=10)
    # next time the same certificate is used (the phone accepted it once)
    a.stop()
    again = a.start()
    assert "certificate (reused)" in again
    assert _printed_fingerprint(again) == _printed_fingerprint(out)


@pytest.mark.browser
def test_the_page_works_over_it_in_chromium(tls_archive: TlsArchive) -> None:
    from playwright.sync_api import sync_playwright

    a = tls_archive
    info = json.loads(a.admin("add-channel", "tls", "--json").strip().splitlines()[-1])
    ch, token = int(info["channel"]), str(info["token"])
    a.start()
    url = f"https://127.0.0.1:{a.port}"
    verify = ssl.create_default_context(cafile=str(a.tls_dir / "cert.pem"))
    with sync_playwright() as pw:
        b = launch_chromium(pw, None)
        try:
            # a phone whose viewer accepted the certificate (Chromium's interstitial, clicked)
            page = b.new_context(ignore_https_errors=True).new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(f"{url}/?lang=en&channel={ch}")
            assert page.evaluate("window.isSecureContext") is True
            assert page.inner_text("#start") == "Start listening"
            assert page.get_attribute("#alert", "data-key") is None  # no "needs https"
            now = dt.datetime.now(dt.UTC).isoformat()
            r = httpx.put(
                f"{url}/v1/channels/{ch}/captions/5",
                json={"text": "over https", "final": True, "start_at": now, "end_at": now},
                headers={"Authorization": f"Bearer {token}"},
                verify=verify,
                timeout=10,
            )
            assert r.status_code in (200, 201), r.text
            page.evaluate(
                "async (ch) => (await import(document.querySelector('script[type=module]').src))"
                ".app.receiver.onDetection({channel: ch, seq: 5, profile: 'hf'})",
                ch,
            )
            page.locator('#captions [data-seq="5"]').wait_for(timeout=15_000)
            assert page.locator('#captions [data-seq="5"]').text_content() == "over https"
            assert sockets and all(u.startswith(f"wss://127.0.0.1:{a.port}/") for u in sockets)
        finally:
            b.close()


def test_a_new_address_gets_a_new_certificate(tmp_path: Path) -> None:
    names = ["localhost", "127.0.0.1", "::1"]
    first = tls.ensure_self_signed(tmp_path / "t", names)
    assert first.created and set(names) <= set(first.names)
    same = tls.ensure_self_signed(tmp_path / "t", names)
    assert not same.created and same.fingerprint == first.fingerprint
    assert same.fingerprint == tls.fingerprint_sha256(first.cert)
    # the laptop moved to another Wi-Fi: its new address must be in the certificate
    moved = tls.ensure_self_signed(tmp_path / "t", ["192.0.2.77", *names])
    assert moved.created and moved.fingerprint != first.fingerprint
    assert "192.0.2.77" in moved.names
    assert tls.certificate_names(moved.cert)[0] == moved.names


def test_every_interface_means_the_lan_addresses_and_localhost() -> None:
    names = tls.names_for("0.0.0.0")
    assert names[-3:] == ["localhost", "127.0.0.1", "::1"]
    for lan in tls.lan_addresses():
        assert lan in names and not lan.startswith("127.")
    assert tls.names_for("192.0.2.9") == ["192.0.2.9", "localhost", "127.0.0.1", "::1"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "give either it or"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-dir", "somewhere"], "add --tls-self-signed"),
        (["--tls-cert", "nope.pem", "--tls-key", "nope.pem"], "is not a file"),
    ],
)
def test_bad_tls_flags_get_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    r = _serve(tmp_path, "--port", str(_free_port()), *args)
    assert r.returncode == 2
    assert says in r.stderr and r.stderr.startswith("jimaku archive: error: "), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_certificate_and_key_that_do_not_match_get_one_line(tmp_path: Path) -> None:
    one = tls.ensure_self_signed(tmp_path / "one", ["localhost"])
    two = tls.ensure_self_signed(tmp_path / "two", ["localhost"])
    r = _serve(
        tmp_path,
        *("--port", str(_free_port()), "--tls-cert", str(one.cert), "--tls-key", str(two.key)),
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"cannot serve HTTPS with {one.cert} and {two.key}" in r.stderr


def test_an_unwritable_directory_and_a_busy_port_get_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    r = _serve(
        tmp_path,
        *("--host", "127.0.0.1", "--port", str(_free_port())),
        *("--tls-self-signed", "--tls-dir", str(tmp_path / "a-file" / "tls")),
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"cannot write the certificate into {tmp_path / 'a-file' / 'tls'}" in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _serve(
            tmp_path,
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--tls-self-signed", "--tls-dir", str(tmp_path / "tls")),
        )
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr, r.stderr
    assert not (tmp_path / "tls").exists()  # refused before making anything
