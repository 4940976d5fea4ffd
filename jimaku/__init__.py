"""jimaku: broadcast live captions delivered to the viewer's phone through an inaudible trigger.

This package is the front door: the ``jimaku`` command (:mod:`jimaku.cli`), the offline tools for
test engineers (:mod:`jimaku.offline`: ``encode``, ``decode``, ``embed``) and the end-to-end demo
(:mod:`jimaku.demo`). The components live in their own top-level packages:

- :mod:`trigger_codec` — the DSP core (pure numpy/scipy, no I/O);
- :mod:`broadcaster` — the station's operator daemon (vosk ASR, archive upload, trigger mixing);
- :mod:`archive_server` — the caption archive service (FastAPI);
- :mod:`archive_client` — the small HTTP/WebSocket client the broadcaster and receiver share;
- :mod:`receiver_app` — the viewer's app (microphone, decode, fetch, show);
- :mod:`channel_sim` — the acoustic channel simulator (codecs, TV speaker, room, microphone);
- :mod:`audio_io` — audio files and sound devices;
- :mod:`models` — vosk model resolution and management.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
