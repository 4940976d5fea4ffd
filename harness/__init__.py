"""Development-only helpers for the benchmarks and tests; not part of any installed package.

``pip install jimaku[...]`` installs the packages listed in ``pyproject.toml``; this folder is not
one of them, so nothing here reaches a receiver, a station or an archive host. The tests import it
from the repository root (pytest puts the root on ``sys.path``); the benchmarks put the root on
``sys.path`` themselves.

- :mod:`harness.timeline` — the chain's PNG timeline (matplotlib), drawn by
  ``benchmarks/bench_latency.py --plot``.
"""
