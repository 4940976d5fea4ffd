"""``jimaku embed``: mix triggers into a programme file with the broadcaster's real-time mixer.

The programme is streamed through :class:`trigger_codec.TriggerMixer` in small blocks
(``OfflineSettings.embed_block_frames``), exactly as the broadcaster's audio callback does, so
the ``robust`` profile's level follows the programme the same way on air. Stereo stays stereo
(the trigger goes into every channel), the output sample rate is the input's, and the output is
16-bit PCM (WAV or FLAC by suffix), written to a temporary file first and renamed at the end so
a failure never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio_io import AudioFileError, audio_info, iter_audio_blocks
from jimaku.offline.errors import ArgumentError, InputError
from jimaku.offline.settings import OfflineSettings
from trigger_codec import PROFILES, CodecError, ParameterError, TriggerMixer, airtime_s

__all__ = ["PlacedTrigger", "Placement", "embed_file", "parse_at", "parse_time"]

_OUT_SUBTYPES = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16")}
_TIME_RE = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class Placement:
    """A trigger requested with ``--at TIME:CHANNEL:SEQ``.

    Attributes
    ----------
    time_s : float
        Requested start, seconds from the programme's first sample.
    channel, seq : int
        The trigger ID (range-checked by the codec when scheduled).
    """

    time_s: float
    channel: int
    seq: int


@dataclass(frozen=True)
class PlacedTrigger:
    """Where the mixer actually put a trigger.

    Attributes
    ----------
    channel, seq : int
    profile : str
    start_s : float
        Start of the trigger waveform, seconds from the output's first sample (later than
        requested if it would have overlapped an earlier trigger).
    start_sample : int
        The same in samples.
    complete : bool
        False if the programme ends before the trigger does (it is cut off).
    """

    channel: int
    seq: int
    profile: str
    start_s: float
    start_sample: int
    complete: bool

    def as_dict(self) -> dict[str, object]:
        """Return the manifest-like JSON form."""
        return {
            "channel": self.channel,
            "seq": self.seq,
            "profile": self.profile,
            "start_s": round(self.start_s, 6),
            "start_sample": self.start_sample,
            "complete": self.complete,
        }


def parse_time(text: str) -> float:
    """Parse ``SS[.s]``, ``M:SS[.s]`` or ``H:MM:SS[.s]`` into seconds.

    Raises
    ------
    ArgumentError
        Anything else (negative, empty, letters).
    """
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ArgumentError(
            f"time {text!r} is not a time; write seconds (12.5), M:SS (1:02.5) or H:MM:SS"
        )
    h, mnt, sec = m.groups()
    return int(h or 0) * 3600 + int(mnt or 0) * 60 + float(sec)


def parse_at(text: str) -> Placement:
    """Parse one ``--at TIME:CHANNEL:SEQ`` value (TIME as in :func:`parse_time`).

    Examples: ``2.5:7:123``, ``1:02.5:7:123`` (1 min 2.5 s).

    Raises
    ------
    ArgumentError
        Wrong number of fields, or a field that is not a time / non-negative integer.
    """
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise ArgumentError(
            f"--at {text!r}: expected TIME:CHANNEL:SEQ, e.g. 2.5:7:123 (2.5 s, channel 7, seq 123)"
        )
    time_s = parse_time(parts[0])
    ints: list[int] = []
    for name, value in (("channel", parts[1]), ("seq", parts[2])):
        if not value.strip().isdigit():
            raise ArgumentError(f"--at {text!r}: {name} {value!r} is not a non-negative integer")
        ints.append(int(value))
    return Placement(time_s, ints[0], ints[1])


def embed_file(
    programme: str | os.PathLike[str],
    out: str | os.PathLike[str],
    placements: Sequence[Placement],
    profile: str = "hf",
    settings: OfflineSettings | None = None,
) -> list[PlacedTrigger]:
    """Mix triggers into a programme file and write the result.

    Parameters
    ----------
    programme : str or os.PathLike
        Any file :func:`audio_io.read_audio` reads; any channel count.
    out : str or os.PathLike
        Output ``.wav`` or ``.flac`` (16-bit, same rate and channels as the programme).
    placements : sequence of Placement
        The triggers, in any order; each must start before the programme ends.
    profile : str
        ``"hf"`` or ``"robust"`` (the mixer's level rule for that profile applies).
    settings : OfflineSettings, optional

    Returns
    -------
    list of PlacedTrigger
        Sorted by start, with the start the mixer chose.

    Raises
    ------
    InputError
        Unreadable programme, NaN/inf in it, or a sample rate too low for the profile.
    ArgumentError
        No placements, channel/seq out of range, a start beyond the programme's end, unknown
        profile, bad output suffix, or output = input.
    """
    cfg = settings or OfflineSettings()
    if not placements:
        raise ArgumentError("no trigger to embed: give at least one --at TIME:CHANNEL:SEQ")
    out_p = Path(out)
    kind = _OUT_SUBTYPES.get(out_p.suffix.lower())
    if kind is None:
        raise ArgumentError(f"{out_p}: output must be .wav or .flac, got {out_p.suffix!r}")
    try:
        info = audio_info(programme)
    except AudioFileError as exc:
        raise InputError(str(exc)) from exc
    if out_p.exists() and out_p.resolve() == Path(programme).resolve():
        raise ArgumentError(f"{out_p}: the output would overwrite the programme; pick another name")
    if profile not in PROFILES:
        raise ArgumentError(f"unknown profile {profile!r}; use one of {sorted(PROFILES)}")
    sr = info.sample_rate
    try:
        mixer = TriggerMixer(sr, profile, channels=info.channels)
    except ParameterError as exc:  # the profile is known: the programme's rate is the problem
        raise InputError(f"{programme}: {exc}") from exc
    starts: list[tuple[int, Placement]] = []
    for pl in sorted(placements, key=lambda p: p.time_s):
        at = round(pl.time_s * sr)
        if info.frames and at >= info.frames:
            raise ArgumentError(
                f"--at {pl.time_s:g}:{pl.channel}:{pl.seq}: {pl.time_s:g} s is at or beyond the "
                f"end of the programme ({info.frames / sr:.3f} s)"
            )
        try:
            starts.append((mixer.schedule(pl.channel, pl.seq, at_sample=at), pl))
        except ParameterError as exc:
            raise ArgumentError(f"--at {pl.time_s:g}:{pl.channel}:{pl.seq}: {exc}") from exc
    frames = _stream(programme, out_p, mixer, info.channels, kind, cfg)
    air = round(airtime_s(profile) * sr)
    placed = [
        PlacedTrigger(pl.channel, pl.seq, profile, s / sr, s, s + air <= frames) for s, pl in starts
    ]
    late = [p for p in placed if p.start_sample >= frames]
    if late:
        # the header over-estimated the length (compressed input): nothing of these was mixed
        out_p.unlink(missing_ok=True)
        raise ArgumentError(
            f"trigger {late[0].channel}/{late[0].seq} at {late[0].start_s:.3f} s starts after the "
            f"end of the programme ({frames / sr:.3f} s); nothing was written"
        )
    return sorted(placed, key=lambda p: p.start_sample)


def _stream(
    programme: str | os.PathLike[str],
    out: Path,
    mixer: TriggerMixer,
    channels: int,
    kind: tuple[str, str],
    cfg: OfflineSettings,
) -> int:
    """Stream the programme through the mixer into ``out`` (atomically); return frames."""
    import soundfile as sf

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".embed-", suffix=out.suffix, dir=out.parent)
    except OSError as exc:
        raise ArgumentError(f"{out}: cannot write the output ({exc})") from exc
    os.close(fd)
    frames = 0
    try:
        with sf.SoundFile(tmp_name, "w", mixer.sample_rate, channels, kind[1], format=kind[0]) as f:
            for block in iter_audio_blocks(
                programme, cfg.block_frames, sample_rate=mixer.sample_rate
            ):
                if not np.all(np.isfinite(block)):
                    bad = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0]) + frames
                    raise InputError(
                        f"{programme}: sample {bad} (t = {bad / mixer.sample_rate:.3f} s) is not "
                        "a finite number (NaN or infinity); the file is corrupt - export it again"
                    )
                x = block[:, 0] if channels == 1 else block
                step = cfg.embed_block_frames
                for i in range(0, x.shape[0], step):
                    f.write(mixer.process(x[i : i + step]))
                frames += x.shape[0]
        os.replace(tmp_name, out)
    except AudioFileError as exc:
        raise InputError(str(exc)) from exc
    except CodecError as exc:
        raise InputError(f"{programme}: {exc}") from exc
    except (OSError, RuntimeError) as exc:  # soundfile's write errors are RuntimeErrors
        raise ArgumentError(f"{out}: cannot write the output ({exc})") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return frames
