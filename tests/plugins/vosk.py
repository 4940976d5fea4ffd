"""Fixtures for the vosk service (placeholder until its owner fills it in)."""
