"""Pytest plugins: fixtures that start real services (archive server, PostgreSQL, PulseAudio, vosk).

Each plugin module belongs to the component that needs it; ``tests/conftest.py`` loads them all.
"""
