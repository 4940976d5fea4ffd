"""``python -m broadcaster ARGS`` is ``jimaku broadcast ARGS``."""

from jimaku.cli import run_as_module

raise SystemExit(run_as_module("broadcast"))
