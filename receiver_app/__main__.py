"""``python -m receiver_app ARGS`` is ``jimaku receive ARGS``."""

from jimaku.cli import run_as_module

raise SystemExit(run_as_module("receive"))
