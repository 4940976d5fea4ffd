"""Room impulse responses (pyroomacoustics shoebox, image source method), cached.

A room is given by its size and reverberation time RT60; the speaker and the microphone are placed
at random (from ``seed``) at the requested distance, at least 0.5 m from every wall where the room
allows. Generation is slow (up to seconds for RT60 0.7 s), so RIRs are cached in memory per
(room size, rt60, distance, sample rate, seed).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import fftconvolve

from channel_sim.errors import ChainConfigError

__all__ = ["SPEED_OF_SOUND_M_S", "apply_room", "room_impulse_response"]

SPEED_OF_SOUND_M_S = 343.0
# Image-source order cap. inverse_sabine asks for order ~110 at RT60 0.7 s in a 5x4x2.6 m room
# (3 s of CPU, cached); a lower cap truncates the tail and shortens the effective RT60.
_MAX_ORDER = 120


def _positions(
    dims: tuple[float, float, float], distance_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(dims)
    margin = np.minimum(0.5, d / 4)
    for _ in range(1000):
        src = rng.uniform(margin, d - margin)
        src[2] = rng.uniform(0.6, min(1.4, d[2] - margin[2]))  # TV height
        direction = rng.normal(size=3)
        direction[2] *= 0.2  # listeners sit at about the same height as the TV
        direction /= np.linalg.norm(direction)
        mic = src + distance_m * direction
        if np.all(mic > margin) and np.all(mic < d - margin):
            return src, mic
    raise ChainConfigError(
        f"distance {distance_m} m does not fit in a {dims[0]}x{dims[1]}x{dims[2]} m room; "
        "use a larger room or a shorter distance"
    )


@lru_cache(maxsize=256)
def room_impulse_response(
    rt60_s: float,
    distance_m: float,
    sr: int,
    seed: int = 0,
    room_dims_m: tuple[float, float, float] = (5.0, 4.0, 2.6),
) -> np.ndarray:
    """Impulse response from a TV speaker to a phone microphone in a shoebox room.

    Parameters
    ----------
    rt60_s : float
        Reverberation time in seconds (0.1-1.5).
    distance_m : float
        Speaker-microphone distance in metres.
    sr : int
        Sample rate in Hz.
    seed : int
        Chooses the positions in the room.
    room_dims_m : tuple of 3 floats
        Room length, width and height in metres.

    Returns
    -------
    np.ndarray [shape=(m,), dtype=float32]
        The RIR; sample 0 is the moment the speaker emits (the direct path arrives after
        ``distance_m / 343`` s), scaled so that the direct path has the 1/r gain relative to 1 m.
        Read-only (shared by the cache).
    """
    import pyroomacoustics as pra

    if not 0.1 <= rt60_s <= 1.5:
        raise ChainConfigError(f"rt60_s={rt60_s} s is outside 0.1-1.5 s")
    if not 0.1 <= distance_m <= 10:
        raise ChainConfigError(f"distance_m={distance_m} m is outside 0.1-10 m")
    rng = np.random.default_rng(seed)
    src, mic = _positions(room_dims_m, distance_m, rng)
    try:
        e_abs, max_order = pra.inverse_sabine(rt60_s, list(room_dims_m))
    except ValueError as exc:
        raise ChainConfigError(
            f"RT60 {rt60_s} s is impossible in a {room_dims_m} m room ({exc}); use a larger room"
        ) from exc
    room = pra.ShoeBox(
        list(room_dims_m),
        fs=sr,
        materials=pra.Material(e_abs),
        max_order=min(max_order, _MAX_ORDER),
        air_absorption=True,
    )
    room.add_source(src.tolist())
    room.add_microphone(mic.tolist())
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    # pyroomacoustics delays the response by its fractional-delay filter (40 taps by default);
    # remove that so sample 0 is the emission time, and scale the direct path to 1/r at 1 m.
    lead = pra.constants.get("frac_delay_length") // 2
    rir = rir[lead:]
    direct = round(distance_m / SPEED_OF_SOUND_M_S * sr)
    window = rir[max(0, direct - 8) : direct + 8]
    peak = float(np.max(np.abs(window))) if len(window) else float(np.max(np.abs(rir)))
    rir *= (1.0 / max(distance_m, 1e-3)) / max(peak, 1e-12)
    out = rir.astype(np.float32)
    out.setflags(write=False)
    return out


def apply_room(
    audio: np.ndarray,
    sr: int,
    rt60_s: float,
    distance_m: float,
    seed: int = 0,
    room_dims_m: tuple[float, float, float] = (5.0, 4.0, 2.6),
) -> np.ndarray:
    """Convolve ``audio`` with a cached room impulse response.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32]
        Sound radiated by the speaker.
    sr : int
        Sample rate in Hz.
    rt60_s, distance_m, seed, room_dims_m
        See :func:`room_impulse_response`.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
        Sound at the microphone, same length (the reverberant tail past the end is dropped).
    """
    rir = room_impulse_response(
        float(rt60_s), float(distance_m), int(sr), int(seed), tuple(room_dims_m)
    )
    x = np.asarray(audio, dtype=np.float32)
    if len(x) == 0:
        return x.copy()
    return np.asarray(fftconvolve(x, rir)[: len(x)], dtype=np.float32)
