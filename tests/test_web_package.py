"""web_receiver as a package: its exported names, errors and asset versioning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import web_receiver
from web_receiver import AssetsMissing, WebReceiverError, load_bundle
from web_receiver.assets import CODEC_DIR, STATIC_DIR


def test_exported_names() -> None:
    assert sorted(web_receiver.__all__) == sorted(
        [
            "SECURITY_HEADERS",
            "AssetBundle",
            "AssetsMissing",
            "WebReceiverError",
            "load_bundle",
            "make_router",
            "mount",
        ]
    )
    assert issubclass(AssetsMissing, WebReceiverError)


def test_missing_page_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AssetsMissing, match=r"no index\.html in"):
        load_bundle(tmp_path, tmp_path)


def test_the_version_follows_every_file_and_fills_the_page(tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    a = load_bundle(static, CODEC_DIR)
    assert f"/assets/{a.version}/main.mjs".encode() in a.pages["index.html"].body
    assert b"__ASSET_VERSION__" not in a.pages["sw.js"].body
    assert "codec/decoder.mjs" in a.assets and "tests/display.test.mjs" not in a.assets
    (static / "app.css").write_text((static / "app.css").read_text() + "\n/* changed */\n")
    b = load_bundle(static, CODEC_DIR)
    assert b.version != a.version
    assert b.assets["main.mjs"].body == a.assets["main.mjs"].body
    assert b.assets["app.css"].etag != a.assets["app.css"].etag
