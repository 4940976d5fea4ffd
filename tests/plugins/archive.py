"""Fixtures for the archive service (placeholder until its owner fills it in)."""
