"""Encode a trigger, mix it into noisy programme with the real-time mixer, decode it back.

Run: ``.venv/bin/python examples/encode_decode.py``
"""

from __future__ import annotations

import numpy as np

from trigger_codec import Decoder, TriggerMixer

__all__: list[str] = []

SR = 48000
rng = np.random.default_rng(0)
programme = (0.05 * rng.normal(size=(3 * SR, 2))).astype(np.float32)  # 3 s stereo hiss

mixer = TriggerMixer(sample_rate=SR, profile="hf", channels=2)
start = mixer.schedule(channel=7, seq=123456, at_sample=SR)  # at 1.0 s
mixed = np.concatenate(
    [mixer.process(programme[i : i + 1024]) for i in range(0, len(programme), 1024)]
)

decoder = Decoder(sample_rate=SR)
mono = mixed.mean(axis=1)
for i in range(0, len(mono), 480):  # 10 ms blocks, as a phone would deliver them
    for det in decoder.feed(mono[i : i + 480]):
        print(
            f"found channel {det.channel} seq {det.seq} ({det.profile}) at {det.start_s:.3f} s "
            f"(scheduled {start / SR:.3f} s), SNR {det.snr_db:.1f} dB, "
            f"returned {(i + 480) / SR - det.end_s:+.3f} s after it ended"
        )
for det in decoder.flush():
    print("at end of stream:", det)
