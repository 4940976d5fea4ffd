"""Subcommands of this component (placeholder until the component lands: registers none)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register this component's subcommands (none yet)."""
