"""What the components share has one home, and every user of it agrees with it.

The ID space and the profile names live in ``trigger_codec.ids``; the ``--json`` event lines in
``jimaku.events``; the archive's wire models in ``archive_server.models`` with their client-side
mirror in ``archive_client.models``. The numbers written here are the specification's (a 12-bit
channel, a 20-bit sequence number), not read back from the module under test.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import pytest

import trigger_codec as tc
from trigger_codec import ids


def test_the_id_space_is_the_payloads() -> None:
    assert (ids.MAX_CHANNEL, ids.MAX_SEQ, ids.SEQ_MODULUS) == (4095, 1_048_575, 1 << 20)
    assert ids.CHANNEL_BITS + ids.SEQ_BITS == 32  # the payload word
    # the codec frames exactly that space: the corners round-trip, one past them is refused
    from trigger_codec.framing import pack, unpack

    assert unpack(pack(4095, 1_048_575)) == (4095, 1_048_575)
    for ch, seq in ((4096, 0), (0, 1 << 20)):
        with pytest.raises(tc.ParameterError):
            pack(ch, seq)


def test_profile_names_are_the_codecs_profiles() -> None:
    assert tc.PROFILE_NAMES == ("hf", "robust")
    assert set(tc.PROFILES) == set(tc.PROFILE_NAMES)
    assert tc.PROFILE_NAMES[0] == "hf"  # the default everywhere


def _choices(register: Any, command: str, option: str) -> tuple[str, ...]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    (action,) = [a for a in sub._actions if option in a.option_strings]
    return tuple(action.choices)


def test_command_line_profile_choices_are_the_codecs() -> None:
    # (the CLI modules spell them out so that `jimaku --help` does not import numpy and scipy)
    from broadcaster.cli import register as broadcast
    from jimaku.offline.cli import register as offline

    assert _choices(broadcast, "broadcast", "--profile") == tc.PROFILE_NAMES
    assert _choices(offline, "encode", "--profile") == tc.PROFILE_NAMES


def test_settings_refuse_ids_outside_the_space(tmp_path: Any) -> None:
    from broadcaster.errors import ConfigError
    from broadcaster.settings import BroadcastSettings
    from receiver_app.errors import SettingsError
    from receiver_app.settings import ReceiverSettings

    ok = {"archive_url": "http://127.0.0.1:1", "state_dir": tmp_path}
    BroadcastSettings(channel=4095, **ok)
    with pytest.raises(ConfigError, match="use 0-4095"):
        BroadcastSettings(channel=4096, **ok)
    with pytest.raises(ConfigError, match="'hf' or 'robust'"):
        BroadcastSettings(channel=1, profile="lf", **ok)  # type: ignore[arg-type]
    ReceiverSettings(channel=4095)
    with pytest.raises(SettingsError, match="0-4095"):
        ReceiverSettings(channel=4096)


def test_archive_api_documents_the_id_space() -> None:
    from archive_server.app import create_app

    doc = create_app().openapi()
    params = {
        p["name"]: p["schema"]
        for p in doc["paths"]["/v1/channels/{channel}/captions/{seq}"]["get"]["parameters"]
    }
    assert (params["channel"]["minimum"], params["channel"]["maximum"]) == (0, 4095)
    assert (params["seq"]["minimum"], params["seq"]["maximum"]) == (0, 1_048_575)


# ------------------------------------------------------------------------- archive wire models
def _schema(model: Any) -> dict[str, Any]:
    """A model's JSON schema without the prose (titles, descriptions) and with refs inlined."""
    from pydantic import TypeAdapter

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("title", "description")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(TypeAdapter(model).json_schema(mode="validation"))


@pytest.mark.parametrize("name", ["Word", "CaptionIn", "Caption"])
def test_client_models_agree_with_the_servers(name: str) -> None:
    import archive_client.models as client
    import archive_server.models as server

    c, s = _schema(getattr(client, name)), _schema(getattr(server, name))
    assert set(c["properties"]) == set(s["properties"])
    if name == "Caption":
        # a response: the client reads what the server writes (types and limits the same) and
        # requires nothing the server may leave out; defaults for the optional fields are its own
        def types(props: dict[str, Any]) -> dict[str, Any]:
            return {k: {a: b for a, b in v.items() if a != "default"} for k, v in props.items()}

        assert types(c["properties"]) == types(s["properties"])
        assert set(c.get("required", [])) <= set(s.get("required", []))
    else:
        assert c["properties"] == s["properties"]
        assert c.get("required") == s.get("required")


BODIES = [
    {"text": "안녕하세요"},
    {"text": "x" * 2000},
    {"text": "x" * 2001},
    {"text": "bell\x07"},
    {"text": "t", "language": "ko"},
    {"text": "t", "language": "not a tag"},
    {"text": "t", "start_at": "2026-12-03T10:00:00Z"},
    {"text": "t", "start_at": "2026-12-03T10:00:00"},  # no UTC offset
    {"text": "t", "words": [{"word": "a", "start": 0.0, "end": 0.5, "conf": 0.9}]},
    {"text": "t", "words": [{"word": "a", "start": 0.0, "end": 0.5, "conf": 1.5}]},
    {"text": "t", "colour": "red"},
    {"text": "line\u2028break"},
    {"text": "t", "final": 1},
    {"text": "t", "start_at": "2026-12-03T10:00:05Z", "end_at": "2026-12-03T10:00:00Z"},
    {"text": "t", "start_at": "2026-12-03T10:00:00Z", "end_at": "2026-12-03T12:00:00Z"},
    {"text": "t", "words": [{"word": "a", "start": 0.5, "end": 0.2, "conf": 0.9}]},
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_client_refuses_what_the_server_refuses(body: dict[str, Any]) -> None:
    """A broadcaster learns of a caption the archive would refuse before it is sent."""
    from pydantic import ValidationError

    import archive_client.models as client
    import archive_server.models as server

    def verdict(model: Any) -> bool:
        try:
            model.model_validate(body)
        except ValidationError:
            return False
        return True

    assert verdict(client.CaptionIn) == verdict(server.CaptionIn)


def test_client_keeps_times_in_utc() -> None:
    import archive_client.models as client

    c = client.CaptionIn(
        text="t", start_at=dt.datetime(2026, 12, 3, 19, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    )
    assert c.start_at == dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC)


def test_broadcaster_keeps_a_caption_the_archive_would_refuse(tmp_path: Any) -> None:
    """Checked before sending (no server needed): kept as rejected, reported, nothing raised."""
    from archive_client import ArchiveClient
    from broadcaster.spool import Spool
    from broadcaster.uploader import Uploader
    from jimaku import events as ev

    events: list[Any] = []
    spool = Spool(tmp_path / "spool.db")
    spool.put(3, 9, {"text": "bell\x07", "final": True})
    up = Uploader(ArchiveClient("http://127.0.0.1:9", timeout_s=0.5), spool, events.append)
    (item,) = spool.due()
    assert up._send_final(item) is True  # the next caption goes on
    (e,) = events
    assert isinstance(e, ev.Upload) and e.state == "failed" and e.seq == 9
    assert "control character" in (e.error or "")
    assert [i.state for i in spool.items()] == ["rejected"]  # kept, not lost
    spool.close()


def test_the_harness_is_not_installed_and_the_demo_does_not_need_it() -> None:
    """``harness/`` (plots for the benchmarks) is dev-only: no installed package includes it,
    and the demo a user runs imports neither it nor matplotlib."""
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cfg = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    included = cfg["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in included if p.startswith("harness")]
    code = (
        "import sys, jimaku.cli, jimaku.demo.cli, jimaku.demo.chain, jimaku.demo.live, "
        "jimaku.demo.report; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('harness', 'matplotlib')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
