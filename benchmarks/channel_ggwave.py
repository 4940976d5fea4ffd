"""ggwave as a comparison codec for the channel bench, behind the same encode/Decoder shape.

ggwave's ultrasound protocols in the PyPI build (0.4.x): ids 3, 4, 5 = "[U] Normal / Fast /
Fastest" (tones 15.0-19.2 kHz). The [MT] ids (9-11) fail with "negative count" in this build, and
[DT] (6-8) is audible (1.1-2.5 kHz), so the bench uses 3-5. One ggwave instance listens for every
protocol at once, like jimaku's Decoder. The same 4-byte payload as jimaku's trigger is sent:
``channel << 20 | seq`` big-endian.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from math import gcd

import numpy as np
from scipy.signal import resample_poly

__all__ = ["GGWAVE_PROTOCOLS", "GgDetection", "GgwaveDecoder", "gg_encode", "payload_bytes"]

#: bench profile name -> ggwave protocol id
GGWAVE_PROTOCOLS: dict[str, int] = {"gg-U-normal": 3, "gg-U-fast": 4, "gg-U-fastest": 5}
_GG_SR = 48000


def payload_bytes(channel: int, seq: int) -> bytes:
    """Pack channel (12 bits) and seq (20 bits) into 4 bytes, big-endian."""
    return ((channel << 20) | seq).to_bytes(4, "big")


def gg_encode(channel: int, seq: int, sample_rate: int, protocol_id: int) -> np.ndarray:
    """GGwave waveform for the payload, float32 mono at ``sample_rate``, peak 0.9.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    import ggwave

    ggwave.disableLog()
    wave = np.frombuffer(
        ggwave.encode(payload_bytes(channel, seq), protocolId=protocol_id, volume=50),
        dtype=np.float32,
    ).astype(np.float64)
    if sample_rate != _GG_SR:
        g = gcd(sample_rate, _GG_SR)
        wave = resample_poly(wave, sample_rate // g, _GG_SR // g)
    wave *= 0.9 / max(float(np.max(np.abs(wave))), 1e-12)
    return wave.astype(np.float32)


@dataclass(frozen=True)
class GgDetection:
    """A ggwave decode: payload split like jimaku's Detection; times in stream seconds."""

    channel: int
    seq: int
    profile: str
    start_s: float
    end_s: float
    snr_db: float = float("nan")


class GgwaveDecoder:
    """Streaming ggwave receiver with jimaku's ``feed``/``flush`` shape.

    Input at 44.1 kHz is resampled to 48 kHz here with a polyphase filter (ggwave's own
    resampler costs ~45 ms CPU per audio second; this one is part of the measured cost).
    ggwave reports a payload when its end marker is heard; ``end_s`` is that moment and
    ``start_s`` is unknown (set to ``end_s``).
    """

    def __init__(self, sample_rate: int) -> None:
        import ggwave

        ggwave.disableLog()
        self.sample_rate = sample_rate
        params = ggwave.getDefaultParameters()
        params["sampleRateInp"] = float(_GG_SR)
        self._gg = ggwave
        self._inst = ggwave.init(params)
        self._buf = np.zeros(0, dtype=np.float32)
        self._fed = 0  # samples at 48 kHz handed to ggwave
        g = gcd(sample_rate, _GG_SR)
        self._up, self._down = _GG_SR // g, sample_rate // g
        self._pending = np.zeros(0, dtype=np.float64)

    def _resample(self, block: np.ndarray, final: bool) -> np.ndarray:
        if self._up == self._down:
            return block.astype(np.float32)
        # block-wise polyphase resampling with overlap would be exact; the bench feeds ~1 s
        # blocks, so edge effects every second (a few samples) are negligible for ggwave
        return np.asarray(resample_poly(block, self._up, self._down), dtype=np.float32)

    def feed(self, block: np.ndarray) -> list[GgDetection]:
        """Feed audio (float, shape (n,)); return payloads completed so far."""
        x = self._resample(np.asarray(block, dtype=np.float64), final=False)
        self._buf = np.concatenate([self._buf, x])
        out: list[GgDetection] = []
        frame = 1024
        n_full = (len(self._buf) // frame) * frame
        for i in range(0, n_full, frame):
            r = self._gg.decode(self._inst, self._buf[i : i + frame].tobytes())
            self._fed += frame
            if r is not None and len(r) == 4:
                v = int.from_bytes(r, "big")
                t = self._fed / _GG_SR
                out.append(GgDetection(v >> 20, v & 0xFFFFF, "ggwave", t, t))
            elif r is not None:
                t = self._fed / _GG_SR
                out.append(GgDetection(-1, -1, "ggwave", t, t))
        self._buf = self._buf[n_full:]
        return out

    def flush(self) -> list[GgDetection]:
        """End of stream: pad to a whole frame plus silence so a last payload completes."""
        return self.feed(np.zeros(int(0.5 * self.sample_rate)))

    def close(self) -> None:
        """Free the ggwave instance."""
        if self._inst is not None:
            self._gg.free(self._inst)
            self._inst = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing to do
            self.close()
