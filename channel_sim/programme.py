"""Programme material: speech, music, speech-like noise, silence and noise.

Speech comes from espeak-ng; music is synthesised with strong high-frequency content. All mono
float32 at a requested sample rate.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from channel_sim.errors import ChainConfigError, ProgrammeError
from channel_sim.noise import pink_noise

__all__ = [
    "PROGRAMME_KINDS",
    "SPEECH_TEXTS",
    "make_programme",
    "synth_music",
    "synth_speech",
    "synth_speechlike",
]

PROGRAMME_KINDS = ("speech", "music", "silence", "noise", "speechlike")

#: Sentences spoken by espeak-ng for speech programme (Korean and English, news-like).
SPEECH_TEXTS: dict[str, tuple[str, ...]] = {
    "ko": (
        "안녕하십니까. 아홉 시 뉴스입니다. 오늘 서울은 맑고 기온은 영상 십 도까지 오르겠습니다.",
        "정부는 오늘 오후 긴급 회의를 열고 태풍 대비 상황을 점검했습니다.",
        "이어서 스포츠 소식입니다. 어제 열린 경기에서 우리 팀이 삼 대 일로 승리했습니다.",
        "지진 해일 경보가 발령되었습니다. 해안 지역 주민들은 즉시 높은 곳으로 대피하시기 바랍니다.",
    ),
    "en": (
        "Good evening, this is the nine o'clock news. Skies over Seoul will be clear tonight.",
        "The government held an emergency meeting this afternoon to review typhoon preparations.",
        "And now the sports. Our team won yesterday's match three goals to one.",
        "A tsunami warning has been issued. Residents of coastal areas should move to high ground.",
    ),
}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(tempfile.gettempdir(), "jimaku-cache")
    d = Path(base) / "channel_sim" / "speech"
    d.mkdir(parents=True, exist_ok=True)
    return d


def synth_speech(text: str, sr: int, voice: str = "ko", speed_wpm: int = 160) -> np.ndarray:
    """Speak ``text`` with espeak-ng (cached per text/voice/speed as a WAV under the cache dir).

    Parameters
    ----------
    text : str
        What to say.
    sr : int
        Output sample rate in Hz.
    voice : str
        espeak-ng voice (``ko``, ``en``, ...).
    speed_wpm : int
        Words per minute.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Speech at about -20 dBFS RMS.

    Raises
    ------
    ProgrammeError
        espeak-ng is missing or failed (the message has its stderr).
    """
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ProgrammeError(
            "espeak-ng is not installed; run tools/ensure-system-deps.sh (apt espeak-ng)"
        )
    key = hashlib.sha256(f"{voice}|{speed_wpm}|{text}".encode()).hexdigest()[:20]
    path = _cache_dir() / f"{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
        proc = subprocess.run(
            [exe, "-v", voice, "-s", str(speed_wpm), "-w", str(tmp), text],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0 or not tmp.exists():
            raise ProgrammeError(
                f"espeak-ng failed for voice {voice!r} (exit {proc.returncode}): "
                f"{proc.stderr.decode(errors='replace').strip()}"
            )
        os.replace(tmp, path)
    data, file_sr = sf.read(path, dtype="float32", always_2d=True)
    x = data.mean(axis=1).astype(np.float64)
    if file_sr != sr:
        from math import gcd

        g = gcd(int(file_sr), int(sr))
        x = resample_poly(x, sr // g, file_sr // g)
    rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
    if rms > 0:
        x *= 0.1 / rms
    return np.asarray(x, dtype=np.float32)


def synth_speechlike(duration_s: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Speech-shaped noise: glottal buzz through moving formants with a syllable envelope.

    Returns
    -------
    np.ndarray [shape=(round(duration_s*sr),), dtype=float32]
        Unit-variance signal.
    """
    n = round(duration_s * sr)
    t = np.arange(n) / sr
    f0 = 110 + 40 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.28)) + rng.uniform(0, 80)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    buzz = np.sign(np.sin(phase)) * 0.5 + 0.3 * rng.standard_normal(n)
    out = np.zeros(n)
    seg = max(1, int(0.2 * sr))  # ~5 syllables per second
    for i in range(0, n, seg):
        f1, f2 = rng.uniform(300, 900), rng.uniform(900, 2500)
        piece = buzz[i : i + seg]
        for f in (f1, f2):
            sos = butter(2, [f * 0.8, f * 1.2], btype="bandpass", fs=sr, output="sos")
            out[i : i + seg] += sosfilt(sos, piece)
    env = np.clip(np.sin(np.pi * (np.arange(n) % seg) / seg), 0, None) ** 0.5
    env *= rng.random(int(np.ceil(n / seg))).repeat(seg)[:n] > 0.2  # pauses
    out *= env
    out /= max(float(np.std(out)), 1e-12)
    return out.astype(np.float32)


def synth_music(
    duration_s: float, sr: int, rng: np.random.Generator, bpm: float | None = None
) -> np.ndarray:
    """Music with strong high-frequency content: kick, snare, hi-hats, crash cymbals, chords.

    Hi-hats and cymbals are noise bursts high-passed at 6-8 kHz with exponential decay, which put
    a lot of energy into 12-20 kHz (the trigger bands) — the hard case for false triggers and
    masking.

    Returns
    -------
    np.ndarray [shape=(round(duration_s*sr),), dtype=float32]
        About -18 dBFS RMS, peak below 1.
    """
    n = round(duration_s * sr)
    out = np.zeros(n)
    bpm = float(bpm if bpm is not None else rng.uniform(80, 160))
    beat = 60.0 / bpm
    hat_sos = butter(4, rng.uniform(6000, 8000), btype="highpass", fs=sr, output="sos")
    cym_sos = butter(2, 4000, btype="highpass", fs=sr, output="sos")

    def add(start: int, sig: np.ndarray) -> None:
        if start >= n:
            return
        m = min(len(sig), n - start)
        out[start : start + m] += sig[:m]

    # chords: a few harmonics of a triad, changing every bar
    bar = 4 * beat
    roots = 110 * 2 ** (rng.integers(0, 12, size=int(duration_s / bar) + 2) / 12)
    for b, root in enumerate(roots):
        s0 = int(b * bar * sr)
        if s0 >= n:
            break
        m = int(bar * sr)
        tt = np.arange(m) / sr
        chord = np.zeros(m)
        for ratio in (1.0, 1.26, 1.5):
            for h in range(1, 9):
                chord += np.sin(2 * np.pi * root * ratio * h * tt) / h**1.2
        chord *= np.exp(-tt / (bar * 0.8)) * 0.05
        add(s0, chord)
    steps = int(duration_s / (beat / 2)) + 1
    for k in range(steps):
        s0 = int(k * beat / 2 * sr)
        if k % 2 == 0 and (k // 2) % 2 == 0:  # kick on 1 and 3
            m = int(0.3 * sr)
            tt = np.arange(m) / sr
            add(s0, 0.5 * np.sin(2 * np.pi * (50 + 100 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 10))
        if k % 4 == 2:  # snare on 2 and 4
            m = int(0.2 * sr)
            tt = np.arange(m) / sr
            add(s0, 0.25 * rng.standard_normal(m) * np.exp(-tt * 20))
        # hi-hat every eighth note, open hat sometimes
        m = int((0.25 if rng.random() < 0.15 else 0.06) * sr)
        tt = np.arange(m) / sr
        hat = sosfilt(hat_sos, rng.standard_normal(m)) * np.exp(-tt / (m / sr / 4))
        add(s0, 0.2 * rng.uniform(0.5, 1.0) * hat)
        if k % 16 == 0 and rng.random() < 0.6:  # crash cymbal
            m = int(1.5 * sr)
            tt = np.arange(m) / sr
            add(s0, 0.2 * sosfilt(cym_sos, rng.standard_normal(m)) * np.exp(-tt * 2.5))
    rms = float(np.sqrt(np.mean(out * out))) if n else 0.0
    if rms > 0:
        out *= 10 ** (-18 / 20) / rms
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 0.95:
        out *= 0.95 / peak
    return out.astype(np.float32)


def make_programme(
    kind: str, duration_s: float, sr: int, rng: np.random.Generator, voice: str = "ko"
) -> np.ndarray:
    """Programme material of a named kind.

    Parameters
    ----------
    kind : str
        ``speech`` (espeak-ng sentences, looped), ``music``, ``silence``, ``noise`` (pink, -30 dBFS)
        or ``speechlike`` (synthetic, no espeak-ng needed).
    duration_s : float
        Length in seconds.
    sr : int
        Sample rate in Hz.
    rng : np.random.Generator
    voice : str
        espeak-ng voice for ``speech``.

    Returns
    -------
    np.ndarray [shape=(round(duration_s*sr),), dtype=float32]
    """
    if duration_s < 0:
        raise ChainConfigError(f"duration_s={duration_s} must be >= 0")
    n = round(duration_s * sr)
    if kind == "silence":
        return np.zeros(n, dtype=np.float32)
    if kind == "noise":
        return (pink_noise(n, rng) * 10 ** (-30 / 20)).astype(np.float32)
    if kind == "music":
        return synth_music(duration_s, sr, rng)
    if kind == "speechlike":
        return (synth_speechlike(duration_s, sr, rng) * 0.1).astype(np.float32)
    if kind == "speech":
        texts = SPEECH_TEXTS.get(voice, SPEECH_TEXTS["en"])
        parts: list[np.ndarray] = []
        total = 0
        order = rng.permutation(len(texts))
        i = 0
        while total < n:
            s = synth_speech(texts[order[i % len(texts)]], sr, voice)
            gap = np.zeros(int(rng.uniform(0.2, 0.8) * sr), dtype=np.float32)
            parts += [s, gap]
            total += len(s) + len(gap)
            i += 1
        return np.concatenate(parts)[:n] if parts else np.zeros(0, dtype=np.float32)
    raise ChainConfigError(f"unknown programme kind {kind!r}; use one of {PROGRAMME_KINDS}")
