"""Errors of the end-to-end demo and the chain runner.

::

    DemoError
    ├── ComponentMissing   a component (or its extra) is not installed / not landed yet
    ├── StageFailed        a stage's process exited non-zero or produced no usable output
    └── ProgrammeError     the announcer recording or its manifest is missing or unreadable

Every message says which stage, what went wrong (with the value) and what to do.
"""

from __future__ import annotations

__all__ = ["ComponentMissing", "DemoError", "ProgrammeError", "StageFailed"]


class DemoError(Exception):
    """Base of every error the demo reports to the user (exit code 2)."""


class ComponentMissing(DemoError):
    """A component the chain needs cannot be imported or its command is not registered."""


class StageFailed(DemoError):
    """A stage of the chain failed: its process exited non-zero, timed out or printed nothing."""


class ProgrammeError(DemoError):
    """The programme audio or its manifest is missing, unreadable or inconsistent."""
