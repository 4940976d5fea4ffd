"""Find the triggers in a recording and *when* a streaming decoder returns each one.

The chain needs two audio-timed facts the components' logs cannot give with file input: where each
trigger sits in the on-air audio, and the recording position at which the phone's decoder returns
it. Both come from feeding :class:`trigger_codec.Decoder` (the receiver's decoder) the audio in
microphone-sized blocks and noting how much audio it had seen when each detection came back.
"""

from __future__ import annotations

import numpy as np

from jimaku.demo.timing import AiredTrigger, DecodedTrigger

__all__ = ["MIC_BLOCK_S", "aired_triggers", "decode_with_positions"]

#: Block length a phone's audio callback delivers (s): 20 ms is a common PortAudio/Android size,
#: and the decoder's answer can come no earlier than the end of the block holding the trigger end.
MIC_BLOCK_S = 0.02


def decode_with_positions(
    audio: np.ndarray,
    sample_rate_hz: int,
    block_s: float = MIC_BLOCK_S,
) -> list[DecodedTrigger]:
    """Decode ``audio`` block by block, recording when each detection is returned.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,) or (n, channels), dtype=float32]
        Samples in [-1, 1]; several channels are averaged (what a mono phone mic hears).
    sample_rate_hz : int
        Sample rate of ``audio``.
    block_s : float
        Feed block length (s).

    Returns
    -------
    list of DecodedTrigger
        In the order the decoder returned them; ``returned_at_s`` is the audio position (s) after
        the block whose ``feed`` returned it (the stream end for detections from ``flush``).
    """
    from trigger_codec import Decoder

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    dec = Decoder(sample_rate=sample_rate_hz)
    block = max(1, round(block_s * sample_rate_hz))
    out: list[DecodedTrigger] = []
    for pos in range(0, len(mono), block):
        chunk = mono[pos : pos + block]
        returned_at = (pos + len(chunk)) / sample_rate_hz
        for d in dec.feed(chunk):
            out.append(DecodedTrigger(d.channel, d.seq, d.start_s, d.end_s, returned_at))
    end = len(mono) / sample_rate_hz
    for d in dec.flush():
        out.append(DecodedTrigger(d.channel, d.seq, d.start_s, d.end_s, end))
    return out


def aired_triggers(audio: np.ndarray, sample_rate_hz: int) -> list[AiredTrigger]:
    """Every trigger airing in on-air audio (repeats included), in time order.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,) or (n, channels), dtype=float32]
        The broadcaster's output.
    sample_rate_hz : int
        Its sample rate.

    Returns
    -------
    list of AiredTrigger
        Sorted by start time.
    """
    # One big block: the decoder's results do not depend on block size, and this is fastest.
    found = decode_with_positions(
        audio, sample_rate_hz, block_s=max(1.0, len(audio) / sample_rate_hz)
    )
    return sorted(
        (AiredTrigger(d.channel, d.seq, d.start_s, d.end_s) for d in found),
        key=lambda a: a.start_s,
    )
