"""A self-signed certificate so a phone on the same Wi-Fi can open the caption page over HTTPS.

Browsers give a page the microphone only in a secure context: ``http://127.0.0.1`` is one, a LAN
address over plain http is not. ``jimaku archive serve --tls-self-signed`` makes (once) a
certificate for the machine's LAN addresses, its host name (also as ``NAME.local``, which phones
resolve by mDNS) and localhost, keeps it in a state directory and serves HTTPS with it. The phone
warns once; the viewer compares the SHA-256 fingerprint the command prints with the one the
phone shows, then accepts it.

The certificate is made with the ``openssl`` command line (Debian's ``openssl`` package), not
the ``cryptography`` library: that library is not a dependency of the archive, and this is a
convenience for trying the page at home, not worth a compiled dependency for every deployment.
The fingerprint and the certificate's names are read with the standard library and ``openssl``.

A certificate is reused while it is valid for at least :data:`RENEW_BEFORE_DAYS` more days and
names every address asked for; otherwise a new one replaces it (the phone then warns again).
Errors are :class:`~archive_server.errors.SettingsError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from archive_server.errors import SettingsError

__all__ = [
    "RENEW_BEFORE_DAYS",
    "VALID_DAYS",
    "SelfSigned",
    "certificate_names",
    "default_tls_dir",
    "ensure_self_signed",
    "fingerprint_sha256",
    "lan_addresses",
    "names_for",
]

#: Validity of a new certificate. Apple devices refuse TLS server certificates valid for more
#: than 398 days (support.apple.com/102028); 397 keeps a margin.
VALID_DAYS = 397
#: A certificate that expires sooner than this is replaced before serving.
RENEW_BEFORE_DAYS = 7
CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"


@dataclass(frozen=True)
class SelfSigned:
    """A certificate in hand: its files, the names it covers and its SHA-256 fingerprint."""

    cert: Path
    key: Path
    names: tuple[str, ...]
    fingerprint: str
    created: bool


def default_tls_dir() -> Path:
    """``$XDG_STATE_HOME/jimaku/archive-tls`` (default ``~/.local/state/jimaku/archive-tls``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jimaku" / "archive-tls"


def lan_addresses() -> list[str]:
    """Return this machine's IPv4 addresses other than loopback (the ones a phone can reach).

    The address of the default route (a UDP socket "connected" to a documentation address sends
    nothing) and the addresses the host name resolves to; empty when the machine has no network.
    """
    found: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet leaves for a UDP connect
        found.append(s.getsockname()[0])
    with contextlib.suppress(OSError, UnicodeError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(info[4][0]))
    out: list[str] = []
    for a in found:
        ip = ipaddress.ip_address(a)
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local) and a not in out:
            out.append(a)
    return out


def names_for(host: str) -> list[str]:
    """Return the names a certificate for a server listening on ``host`` should cover.

    ``0.0.0.0`` / ``::`` (every interface): the LAN addresses, the host name and ``NAME.local``;
    a given address or name: that one. Always ``localhost``, ``127.0.0.1`` and ``::1``.
    """
    names: list[str] = []
    if host in ("0.0.0.0", "::", ""):
        names.extend(lan_addresses())
        hn = socket.gethostname().split(".")[0]
        if hn and hn != "localhost":
            names.extend([hn, f"{hn}.local"])
    else:
        names.append(host)
    for n in ("localhost", "127.0.0.1", "::1"):
        if n not in names:
            names.append(n)
    return names


def _san(names: list[str] | tuple[str, ...]) -> str:
    parts = []
    for n in names:
        try:
            parts.append(f"IP:{ipaddress.ip_address(n)}")
        except ValueError:
            parts.append(f"DNS:{n}")
    return ",".join(parts)


def fingerprint_sha256(cert: Path) -> str:
    """Return the SHA-256 of the certificate's DER bytes as ``AB:CD:...`` (as browsers show it)."""
    der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def _openssl() -> str:
    exe = shutil.which("openssl")
    if exe is None:
        raise SettingsError(
            "--tls-self-signed needs the openssl command (apt install openssl), "
            "or give your own certificate with --tls-cert and --tls-key"
        )
    return exe


def certificate_names(cert: Path) -> tuple[tuple[str, ...], dt.datetime]:
    """Return (the certificate's subjectAltName entries, its expiry in UTC), read by openssl.

    IP entries come back as the address, DNS entries as the name.
    """
    out = subprocess.run(
        [_openssl(), "x509", "-in", str(cert), "-noout", "-enddate", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode != 0:
        raise SettingsError(f"{cert} is not a certificate openssl can read: {out.stderr.strip()}")
    names: list[str] = []
    end: dt.datetime | None = None
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("notAfter="):
            end = dt.datetime.strptime(line[9:], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)
        elif line.startswith(("DNS:", "IP Address:")):
            for part in line.split(","):
                kind, _, value = part.strip().partition(":")
                names.append(str(ipaddress.ip_address(value)) if kind == "IP Address" else value)
    if end is None:
        raise SettingsError(f"{cert} has no expiry date openssl can read")
    return tuple(names), end


def _reusable(cert: Path, key: Path, names: list[str]) -> bool:
    if not (cert.is_file() and key.is_file()):
        return False
    try:
        have, end = certificate_names(cert)
    except SettingsError:
        return False  # unreadable or foreign: replaced
    norm = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=RENEW_BEFORE_DAYS)
    return norm <= set(have) and end > soon


def _is_ip(n: str) -> bool:
    try:
        ipaddress.ip_address(n)
    except ValueError:
        return False
    return True


def ensure_self_signed(directory: Path, names: list[str]) -> SelfSigned:
    """Return a self-signed certificate for ``names`` in ``directory``, made if needed.

    Parameters
    ----------
    directory : Path
        Where ``cert.pem`` and ``key.pem`` (mode 0600) are kept; created (mode 0700) if missing.
    names : list of str
        IP addresses and DNS names the certificate must cover (see :func:`names_for`).

    Returns
    -------
    SelfSigned
        ``created`` is False when the certificate already there was reused.

    Raises
    ------
    SettingsError
        The directory cannot be created or written, or openssl is missing or fails.
    """
    cert, key = directory / CERT_NAME, directory / KEY_NAME
    if _reusable(cert, key, names):
        have, _ = certificate_names(cert)
        return SelfSigned(cert, key, have, fingerprint_sha256(cert), created=False)
    exe = _openssl()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=directory))
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise SettingsError(
            f"cannot write the certificate into {directory}: {why}; pick another with --tls-dir"
        ) from None
    try:
        out = subprocess.run(
            [
                exe,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                str(VALID_DAYS),
                "-subj",
                "/CN=jimaku archive (self-signed)",
                "-addext",
                f"subjectAltName={_san(names)}",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-addext",
                "extendedKeyUsage=serverAuth",
                "-keyout",
                str(tmp / KEY_NAME),
                "-out",
                str(tmp / CERT_NAME),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["no message"])[-1]
            raise SettingsError(f"openssl could not make the certificate: {last}")
        os.chmod(tmp / KEY_NAME, 0o600)
        # key first: a cert.pem is never there without its key
        os.replace(tmp / KEY_NAME, key)
        os.replace(tmp / CERT_NAME, cert)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise SettingsError(
            f"cannot write the certificate into {directory}: {why}; pick another with --tls-dir"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    have, _ = certificate_names(cert)
    return SelfSigned(cert, key, have, fingerprint_sha256(cert), created=True)
