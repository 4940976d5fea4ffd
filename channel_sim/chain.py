"""Stages, chains of stages, named presets and :func:`apply_chain`.

A :class:`Chain` is an ordered tuple of frozen stage dataclasses. The usual order models the path
of a broadcast trigger to a viewer's phone::

    BroadcastCodec -> Speaker -> Room -> Noise -> Mic (resample + clock ppm) -> Agc -> Quantise

Stages run in the order given; every stage keeps the signal mono float32. Only ``Mic`` changes the
sample rate (and, through the clock offset, the time scale).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from channel_sim.codec import CODECS, codec_round_trip
from channel_sim.errors import ChainConfigError
from channel_sim.mic import agc, mic_resample, quantise
from channel_sim.noise import NOISE_KINDS, active_mask, band_power, make_noise, occupied_band
from channel_sim.room import apply_room
from channel_sim.speaker import speaker_rolloff

__all__ = [
    "PRESETS",
    "Agc",
    "BroadcastCodec",
    "Chain",
    "ChainResult",
    "Mic",
    "Noise",
    "Quantise",
    "Room",
    "Speaker",
    "Stage",
    "apply_chain",
    "apply_chain_detailed",
]


@dataclass(frozen=True)
class BroadcastCodec:
    """Broadcast codec round trip (see :func:`channel_sim.codec.codec_round_trip`)."""

    codec: str = "aac"
    bitrate_kbps: int = 128
    channels: int = 2

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ChainConfigError(f"unknown codec {self.codec!r}; use one of {sorted(CODECS)}")
        if not 32 <= self.bitrate_kbps <= 320:
            raise ChainConfigError(f"bitrate_kbps={self.bitrate_kbps} is outside 32-320")

    @property
    def label(self) -> str:
        """Short name, e.g. ``aac192``."""
        return f"{self.codec}{self.bitrate_kbps}" + ("" if self.channels == 2 else "m")


@dataclass(frozen=True)
class Speaker:
    """Small TV loudspeaker (see :func:`channel_sim.speaker.speaker_rolloff`)."""

    highpass_hz: float = 180.0
    rolloff_hz: float = 14000.0
    cutoff_hz: float | None = None

    @property
    def label(self) -> str:
        """Short name."""
        return "tv" if self.cutoff_hz is None else f"tv{self.cutoff_hz / 1000:g}k"


@dataclass(frozen=True)
class Room:
    """Shoebox room (see :func:`channel_sim.room.room_impulse_response`).

    ``seed=None`` draws a fresh position seed (0-15, so RIRs stay cached) from the chain's rng.
    """

    rt60_s: float = 0.4
    distance_m: float = 2.0
    seed: int | None = 0
    room_dims_m: tuple[float, float, float] = (5.0, 4.0, 2.6)

    def __post_init__(self) -> None:
        if not 0.1 <= self.rt60_s <= 1.5:
            raise ChainConfigError(f"rt60_s={self.rt60_s} s is outside 0.1-1.5 s")
        if not 0.1 <= self.distance_m <= 10:
            raise ChainConfigError(f"distance_m={self.distance_m} m is outside 0.1-10 m")

    @property
    def label(self) -> str:
        """Short name, e.g. ``room0.4s2m``."""
        return f"room{self.rt60_s:g}s{self.distance_m:g}m"


@dataclass(frozen=True)
class Noise:
    """Additive ambient noise at an in-band SNR (see :mod:`channel_sim.noise` for the definition).

    Give ``snr_db`` (needs ``reference=`` in :func:`apply_chain`) or ``level_dbfs`` (absolute
    in-band RMS level in dBFS, no reference needed). ``band_hz=None``: the band is taken from the
    reference (or, with ``level_dbfs``, the noise is scaled over its full band).
    """

    kind: str = "pink"
    snr_db: float | None = 10.0
    level_dbfs: float | None = None
    band_hz: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise ChainConfigError(f"unknown noise kind {self.kind!r}; use one of {NOISE_KINDS}")
        if (self.snr_db is None) == (self.level_dbfs is None):
            raise ChainConfigError("Noise needs exactly one of snr_db or level_dbfs")

    @property
    def label(self) -> str:
        """Short name, e.g. ``pink@0dB``."""
        if self.snr_db is not None:
            return f"{self.kind}@{self.snr_db:g}dB"
        return f"{self.kind}@{self.level_dbfs:g}dBFS"


@dataclass(frozen=True)
class Mic:
    """Microphone ADC: resample to ``sample_rate_hz`` with a clock error of ``clock_ppm``.

    ``clock_ppm=None`` draws a uniform error in +-``max_ppm`` from the chain's rng.
    """

    sample_rate_hz: int = 44100
    clock_ppm: float | None = 0.0
    max_ppm: float = 100.0

    def __post_init__(self) -> None:
        if self.clock_ppm is not None and not -1000 <= self.clock_ppm <= 1000:
            raise ChainConfigError(f"clock_ppm={self.clock_ppm} is outside -1000..1000")

    @property
    def label(self) -> str:
        """Short name, e.g. ``mic44k+100ppm``."""
        ppm = "rnd" if self.clock_ppm is None else f"{self.clock_ppm:+g}"
        return f"mic{self.sample_rate_hz / 1000:g}k{ppm}ppm"


@dataclass(frozen=True)
class Agc:
    """AGC-like gain changes (see :func:`channel_sim.mic.agc`)."""

    range_db: float = 20.0
    change_s: float = 1.5
    target_dbfs: float | None = None

    @property
    def label(self) -> str:
        """Short name."""
        return f"agc{self.range_db:g}dB"


@dataclass(frozen=True)
class Quantise:
    """Integer quantisation with clipping (see :func:`channel_sim.mic.quantise`)."""

    bits: int = 16

    @property
    def label(self) -> str:
        """Short name."""
        return f"q{self.bits}"


Stage = BroadcastCodec | Speaker | Room | Noise | Mic | Agc | Quantise


@dataclass(frozen=True)
class Chain:
    """An ordered tuple of stages with a name."""

    stages: tuple[Stage, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        """The name, or the stage labels joined by ``+``."""
        return self.name or "+".join(s.label for s in self.stages) or "direct"

    def with_snr(self, snr_db: float, kind: str | None = None) -> Chain:
        """Copy with the ``snr_db`` (and optionally kind) of every SNR-set Noise stage replaced.

        Noise stages at an absolute ``level_dbfs`` (e.g. background babble) stay as they are.
        """
        stages = tuple(
            replace(s, snr_db=snr_db, kind=kind or s.kind)
            if isinstance(s, Noise) and s.snr_db is not None
            else s
            for s in self.stages
        )
        return Chain(stages, self.name)

    def split_at_noise(self) -> tuple[Chain, Chain]:
        """(stages before the first Noise, the rest from that Noise on)."""
        for i, s in enumerate(self.stages):
            if isinstance(s, Noise):
                return Chain(self.stages[:i], self.name), Chain(self.stages[i:], self.name)
        return self, Chain((), self.name)


@dataclass
class ChainResult:
    """What :func:`apply_chain_detailed` did.

    Attributes
    ----------
    audio : np.ndarray [shape=(m,), dtype=float32]
        Output at ``sample_rate_hz``.
    sample_rate_hz : int
    reference : np.ndarray or None
        The reference after the same stages (no noise, no AGC randomness differences: same gains).
    time_scale : float
        Output seconds per input second (``1 + ppm/1e6`` of the Mic stage, else 1).
    clock_ppm : float
    noise_band_hz : tuple or None
        The in-band SNR band used by the Noise stage.
    trigger_power : float or None
        In-band trigger power at the Noise stage (full scale squared).
    noise_power : float or None
        In-band noise power added.
    stage_labels : list of str
    """

    audio: np.ndarray
    sample_rate_hz: int
    reference: np.ndarray | None = None
    time_scale: float = 1.0
    clock_ppm: float = 0.0
    noise_band_hz: tuple[float, float] | None = None
    trigger_power: float | None = None
    noise_power: float | None = None
    stage_labels: list[str] = field(default_factory=list)


def _check_audio(audio: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(audio)
    if x.ndim == 2 and x.shape[1] in (1, 2):
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ChainConfigError(
            f"{name} must be mono, shape (n,), got shape {x.shape}; mix it down first"
        )
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    if not np.issubdtype(x.dtype, np.floating):
        raise ChainConfigError(f"{name} must be float32/float64 or int16, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ChainConfigError(f"{name} contains NaN or infinite samples; clean the input first")
    return x.astype(np.float32)


def apply_chain_detailed(
    audio: np.ndarray,
    sr: int,
    chain: Chain,
    rng: np.random.Generator,
    reference: np.ndarray | None = None,
    reference_after_noise: bool = True,
) -> ChainResult:
    """Run ``audio`` (and optionally a trigger-only ``reference``) through ``chain``.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=float32 | float64 | int16]
        Programme with triggers mixed in, samples in [-1, 1].
    sr : int
        Sample rate of ``audio`` in Hz.
    chain : Chain
    rng : np.random.Generator
        All randomness (noise, AGC, room seeds, ppm draws) comes from here.
    reference : np.ndarray [shape=(n,)] or None
        The trigger-only signal (what was mixed into ``audio``). Needed by ``Noise(snr_db=...)``;
        it runs through the same stages (codec round trip included, no noise) so that the SNR
        is measured at the microphone.
    reference_after_noise : bool
        Keep taking the reference through the stages after the last Noise stage (set False to
        save time when ``ChainResult.reference`` is not needed).

    Returns
    -------
    ChainResult
    """
    if not isinstance(chain, Chain):
        raise ChainConfigError(f"chain must be a channel_sim.Chain, got {type(chain).__name__}")
    if sr <= 0:
        raise ChainConfigError(f"sample rate must be positive, got {sr}")
    x = _check_audio(audio, "audio")
    ref = None if reference is None else _check_audio(reference, "reference")
    if ref is not None and len(ref) != len(x):
        raise ChainConfigError(
            f"reference has {len(ref)} samples but audio has {len(x)}; they must match"
        )
    res = ChainResult(audio=x, sample_rate_hz=sr)
    # The trigger's band comes from the reference as sent (before the chain): after a codec that
    # cuts the band, the surviving reference is mostly codec noise and its band would be wrong.
    ref_band = None if ref is None or not np.any(ref) else occupied_band(ref, sr)
    cur_sr = sr
    last_noise = max((i for i, s in enumerate(chain.stages) if isinstance(s, Noise)), default=-1)
    for i_st, st in enumerate(chain.stages):
        if not reference_after_noise and i_st > last_noise >= 0:
            ref = None
        if isinstance(st, BroadcastCodec):
            x = codec_round_trip(x, cur_sr, st.codec, st.bitrate_kbps, st.channels)
            if ref is not None:
                ref = codec_round_trip(ref, cur_sr, st.codec, st.bitrate_kbps, st.channels)
        elif isinstance(st, Speaker):
            x = speaker_rolloff(x, cur_sr, st.highpass_hz, st.rolloff_hz, st.cutoff_hz)
            if ref is not None:
                ref = speaker_rolloff(ref, cur_sr, st.highpass_hz, st.rolloff_hz, st.cutoff_hz)
        elif isinstance(st, Room):
            seed = int(rng.integers(0, 16)) if st.seed is None else st.seed
            x = apply_room(x, cur_sr, st.rt60_s, st.distance_m, seed, st.room_dims_m)
            if ref is not None:
                ref = apply_room(ref, cur_sr, st.rt60_s, st.distance_m, seed, st.room_dims_m)
        elif isinstance(st, Noise):
            noise = make_noise(st.kind, len(x), cur_sr, rng)
            if st.snr_db is not None:
                if ref is None:
                    raise ChainConfigError(
                        f"Noise(snr_db={st.snr_db}) needs the trigger-only signal: pass "
                        "reference= to apply_chain, or use Noise(level_dbfs=...)"
                    )
                band = st.band_hz or ref_band or occupied_band(ref, cur_sr)
                mask = active_mask(ref, cur_sr, band)
                p_trig = band_power(ref, cur_sr, band, mask)
                if p_trig <= 0:
                    raise ChainConfigError(
                        "the reference has no power in the trigger band; "
                        "there is nothing to set an SNR against"
                    )
                p_noise_unit = band_power(noise, cur_sr, band)
                target = p_trig / 10 ** (st.snr_db / 10)
                noise = noise * np.float32(np.sqrt(target / max(p_noise_unit, 1e-30)))
                res.noise_band_hz, res.trigger_power, res.noise_power = band, p_trig, target
            else:
                assert st.level_dbfs is not None
                if st.band_hz is not None:
                    p = band_power(noise, cur_sr, st.band_hz)
                else:
                    p = float(np.mean(noise.astype(np.float64) ** 2))
                noise = noise * np.float32(10 ** (st.level_dbfs / 20) / np.sqrt(max(p, 1e-30)))
            x = (x + noise).astype(np.float32)
        elif isinstance(st, Mic):
            ppm = (
                float(rng.uniform(-st.max_ppm, st.max_ppm))
                if st.clock_ppm is None
                else st.clock_ppm
            )
            x = mic_resample(x, cur_sr, st.sample_rate_hz, ppm)
            if ref is not None:
                ref = mic_resample(ref, cur_sr, st.sample_rate_hz, ppm)
            cur_sr = st.sample_rate_hz
            res.time_scale *= 1 + ppm * 1e-6
            res.clock_ppm = ppm
        elif isinstance(st, Agc):
            state = rng.bit_generator.state
            x = agc(x, cur_sr, rng, st.range_db, st.change_s, st.target_dbfs)
            if ref is not None:  # the same gain curve for the reference
                after = rng.bit_generator.state
                rng.bit_generator.state = state
                ref = agc(ref, cur_sr, rng, st.range_db, st.change_s, None)
                rng.bit_generator.state = after
        elif isinstance(st, Quantise):
            x = quantise(x, st.bits)
        else:
            raise ChainConfigError(f"unknown stage {st!r}")
        res.stage_labels.append(st.label)
    res.audio, res.sample_rate_hz, res.reference = x, cur_sr, ref
    return res


def apply_chain(
    audio: np.ndarray,
    sr: int,
    chain: Chain,
    rng: np.random.Generator,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Run ``audio`` through ``chain``; see :func:`apply_chain_detailed`.

    Returns
    -------
    audio_out : np.ndarray [shape=(m,), dtype=float32]
    sr_out : int
        Output sample rate in Hz (the Mic stage's, else ``sr``).
    """
    res = apply_chain_detailed(audio, sr, chain, rng, reference)
    return res.audio, res.sample_rate_hz


def _preset(name: str, *stages: Stage) -> Chain:
    return Chain(tuple(stages), name)


#: Named chains (see docs/channel-bench.md for what each stands for). SNR-bearing presets use
#: Noise(snr_db=...) and so need ``reference=``; the
#: ``*-quiet`` and ``studio`` presets need none.
PRESETS: dict[str, Chain] = {
    c.name: c
    for c in (
        _preset("direct"),
        _preset("studio", BroadcastCodec("aac", 192), Mic(44100, 0.0), Quantise()),
        _preset("aac128", BroadcastCodec("aac", 128)),
        _preset("aac192", BroadcastCodec("aac", 192)),
        _preset("aac256", BroadcastCodec("aac", 256)),
        _preset("mp3-128", BroadcastCodec("mp3", 128)),
        _preset(
            "living-room",
            BroadcastCodec("aac", 192),
            Speaker(),
            Room(0.4, 2.5, None),
            Noise("pink", 10.0),
            Mic(44100, None),
            Agc(),
            Quantise(),
        ),
        _preset(
            "living-room-quiet",
            BroadcastCodec("aac", 192),
            Speaker(),
            Room(0.4, 2.5, None),
            Noise("pink", None, -70.0),
            Mic(44100, None),
            Agc(),
            Quantise(),
        ),
        _preset(
            "kitchen",
            BroadcastCodec("aac", 128),
            Speaker(),
            Room(0.7, 4.0, None),
            # people talking at a conversational level; babble has almost nothing at 12-20 kHz,
            # so an in-band SNR for it would mean absurdly loud (clipping) babble: it gets an
            # absolute level and white noise (fan, tap) sets the in-band SNR
            Noise("babble", None, -30.0),
            Noise("white", 0.0),
            Mic(44100, None),
            Agc(),
            Quantise(),
        ),
        _preset(
            "bedroom",
            BroadcastCodec("aac", 256),
            Speaker(),
            Room(0.2, 1.0, None),
            Noise("white", 10.0),
            Mic(48000, None),
            Quantise(),
        ),
        _preset(
            "radio-mp3",
            BroadcastCodec("mp3", 128),
            Speaker(),
            Room(0.5, 2.0, None),
            Noise("pink", 0.0),
            Mic(44100, None),
            Agc(),
            Quantise(),
        ),
    )
}
