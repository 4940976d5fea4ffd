"""The ``jimaku`` command and ``python -m <package>`` entry points (real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jimaku.cli import COMPONENT_CLIS, build_parser

SUBCOMMANDS = ("demo", "decode", "encode", "embed", "broadcast", "archive", "receive", "models")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_jimaku_help_lists_every_subcommand() -> None:
    res = _run("-m", "jimaku", "--help")
    assert res.returncode == 0, res.stderr
    for name in SUBCOMMANDS:
        assert f"    {name}" in res.stdout, f"{name} missing from jimaku --help"


def test_every_component_registers_a_subcommand() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert actions, "no subcommand action"
    choices = set(actions[0].choices or {})
    assert set(SUBCOMMANDS) <= choices
    assert len(COMPONENT_CLIS) == 6


@pytest.mark.parametrize(
    ("package", "usage"),
    [
        ("broadcaster", "jimaku broadcast"),
        ("receiver_app", "jimaku receive"),
        ("models", "jimaku models"),
        ("archive_server", "archive"),
        ("jimaku", "jimaku"),
    ],
)
def test_python_dash_m_runs_each_package(package: str, usage: str) -> None:
    res = _run("-m", package, "--help")
    assert res.returncode == 0, res.stderr
    assert usage in res.stdout


def test_python_dash_m_trigger_codec_self_test_passes() -> None:
    res = _run("-m", "trigger_codec")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "hf" in res.stdout and "robust" in res.stdout


def test_unknown_subcommand_is_a_usage_error() -> None:
    res = _run("-m", "jimaku", "no-such-command")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


@pytest.mark.parametrize(
    ("env", "action"),
    [
        ({"JIMAKU_ARCHIVE_LOOP": "tokio"}, "serve"),
        ({"JIMAKU_ARCHIVE_WRITE_BURST": "lots"}, "list-channels"),
    ],
)
def test_archive_bad_setting_is_one_clear_line(
    tmp_path: Path, env: dict[str, str], action: str
) -> None:
    import os

    db = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    res = subprocess.run(
        [sys.executable, "-m", "jimaku", "archive", action, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )
    assert res.returncode == 2, res.stderr
    name = next(iter(env))
    assert res.stderr.startswith(f"jimaku archive: error: invalid setting: {name}:"), res.stderr
    assert "Traceback" not in res.stderr
