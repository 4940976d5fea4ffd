"""``python -m models ARGS`` is ``jimaku models ARGS``."""

from jimaku.cli import run_as_module

raise SystemExit(run_as_module("models"))
