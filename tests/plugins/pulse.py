"""Fixtures for the pulse service (placeholder until its owner fills it in)."""
