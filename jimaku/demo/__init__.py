"""The end-to-end demo and the chain runner the system test and the latency bench share.

``jimaku demo`` runs the whole chain the way a newcomer meets it: an archive server on loopback,
the broadcaster on the bundled announcer recording (or the user's own), the simulated living
room, the receiver in real time beside the broadcaster, and a report of every caption beside what
was said, with its timing on the *programme clock* (see :mod:`jimaku.demo.timing` and
``docs/demo.md``).

Modules: :mod:`~jimaku.demo.errors` (the exception tree), :mod:`~jimaku.demo.programme` (the
programme: bundled, re-placed, or the user's recording), :mod:`~jimaku.demo.archive_proc` (an
archive server subprocess), :mod:`~jimaku.demo.stages` (running broadcaster, channel, receiver),
:mod:`~jimaku.demo.events` (their logs, through :mod:`jimaku.events`),
:mod:`~jimaku.demo.timing` (the programme-clock model), :mod:`~jimaku.demo.transcript`
(character error rate, transcripts), :mod:`~jimaku.demo.chain` (the orchestration),
:mod:`~jimaku.demo.report` (the console table), :mod:`~jimaku.demo.cli` (``jimaku demo``).
Plots live in the repository's dev-only ``harness/`` (benchmarks only, not installed).

Exception tree: ``DemoError -> ComponentMissing | StageFailed | ProgrammeError``.
"""

from jimaku.demo.errors import ComponentMissing, DemoError, ProgrammeError, StageFailed

__all__ = ["ComponentMissing", "DemoError", "ProgrammeError", "StageFailed"]
