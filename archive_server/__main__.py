"""``python -m archive_server serve ...``."""

from archive_server.cli import main

raise SystemExit(main())
