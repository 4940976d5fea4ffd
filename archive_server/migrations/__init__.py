"""Alembic migrations of the archive's schema (``jimaku archive migrate`` runs them)."""
