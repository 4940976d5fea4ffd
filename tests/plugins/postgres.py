"""Fixtures for the postgres service (placeholder until its owner fills it in)."""
