"""Fixtures shared by every test module.

Service fixtures live in ``tests/plugins/`` (one module per real service the tests start) and are
loaded here, so any test can ask for, say, a running archive server without importing anything.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest

pytest_plugins = [
    "tests.plugins.archive",
    "tests.plugins.browser",
    "tests.plugins.postgres",
    "tests.plugins.pulse",
    "tests.plugins.vosk",
]


@pytest.fixture
def rng() -> Iterator[np.random.Generator]:
    """A random generator with a fixed seed, so every run sees the same 'random' signals."""
    yield np.random.default_rng(20261128)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return _free_port()
