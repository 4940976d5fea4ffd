"""``python -m jimaku`` is the ``jimaku`` command."""

from jimaku.cli import main

raise SystemExit(main())
