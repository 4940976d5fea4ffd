"""Install a vosk model from a URL or a local zip, checking its SHA-256.

The archive is fetched to a temporary file, checked, unpacked into a temporary directory next to
the destination, validated as a model, then renamed into place: a failed install leaves nothing
behind and never replaces a working model with a broken one.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from models.errors import ChecksumMismatchError, ModelInstallError, ModelInvalidError
from models.registry import KNOWN_MODELS
from models.resolve import models_dir, validate_model_dir

__all__ = ["install_model", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, dest: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, dest.open("wb") as f:
            shutil.copyfileobj(resp, f, _CHUNK)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ModelInstallError(
            f"could not download {url!r}: {exc}; check the URL and the network, or download the "
            "zip yourself and run `jimaku models install FILE.zip`"
        ) from exc


def _model_root(tree: Path) -> Path:
    """Find the directory inside an unpacked archive that holds the model (``am/`` etc.)."""
    if (tree / "am").is_dir():
        return tree
    children = [c for c in tree.iterdir() if c.is_dir()]
    if len(children) == 1 and (children[0] / "am").is_dir():
        return children[0]
    raise ModelInvalidError(
        "the archive does not contain a vosk model (no am/ directory at its top or one level "
        "down); is it really a vosk model zip?"
    )


def _safe_extract(zf: zipfile.ZipFile, dest: Path) -> None:
    root = dest.resolve()
    for member in zf.infolist():
        target = (dest / member.filename).resolve()
        if not target.is_relative_to(root):
            raise ModelInstallError(
                f"refusing archive member {member.filename!r}: it would be written outside the "
                "install directory"
            )
    zf.extractall(dest)


def install_model(
    source: str,
    *,
    sha256: str | None = None,
    dest_dir: Path | None = None,
    name: str | None = None,
    force: bool = False,
    timeout_s: float = 60.0,
) -> Path:
    """Install a model archive and return the installed model directory.

    Parameters
    ----------
    source : str
        ``http(s)://`` URL, path of a local ``.zip``, or the name of a known model (its official
        URL and, when known, checksum are used).
    sha256 : str, optional
        Expected SHA-256 hex digest of the archive; install fails on mismatch.
    dest_dir : Path, optional
        Where models live (default :func:`models.models_dir`).
    name : str, optional
        Directory name for the model (default: the model directory's name inside the archive).
    force : bool
        Replace an existing model of the same name.
    timeout_s : float
        Network timeout per read (s).

    Returns
    -------
    Path
        The installed, validated model directory.

    Raises
    ------
    ModelInstallError
        Download failed, bad zip, name clash, ...
    ChecksumMismatchError
        The archive's digest is not *sha256*.
    ModelInvalidError
        The archive holds no usable model.
    """
    dest_root = dest_dir or models_dir()
    known = {m.name: m for m in KNOWN_MODELS}
    if source in known:
        sha256 = sha256 or known[source].sha256
        source = known[source].url
    dest_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_root, prefix=".install-") as tmp_s:
        tmp = Path(tmp_s)
        if source.startswith(("http://", "https://")):
            archive = tmp / "model.zip"
            _fetch(source, archive, timeout_s)
        else:
            archive = Path(source).expanduser()
            if not archive.is_file():
                raise ModelInstallError(
                    f"{source!r} is neither a URL, a known model name nor an existing zip file; "
                    "see `jimaku models list`"
                )
        digest = sha256_file(archive)
        if sha256 is not None and digest.lower() != sha256.strip().lower():
            raise ChecksumMismatchError(
                f"checksum mismatch for {source!r}: expected sha256 {sha256.strip().lower()}, got "
                f"{digest}; the file is corrupt or not the one you meant; nothing was installed"
            )
        unpacked = tmp / "unpacked"
        try:
            with zipfile.ZipFile(archive) as zf:
                _safe_extract(zf, unpacked)
        except zipfile.BadZipFile as exc:
            raise ModelInstallError(
                f"{source!r} is not a valid zip archive ({exc}); nothing was installed"
            ) from exc
        root = _model_root(unpacked)
        validate_model_dir(root)
        stem = Path(source.rsplit("/", 1)[-1]).stem if source else "model"
        target = dest_root / (name or (root.name if root != unpacked else stem))
        if target.exists():
            if not force:
                raise ModelInstallError(
                    f"a model named {target.name!r} is already installed in {str(dest_root)!r}; "
                    "pass --force to replace it"
                )
            shutil.rmtree(target)
        root.rename(target)
    return target
