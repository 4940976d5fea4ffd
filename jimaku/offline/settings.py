"""Settings of the offline tools (one frozen, typed object)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OfflineSettings"]


@dataclass(frozen=True)
class OfflineSettings:
    """Tunables of ``jimaku decode`` / ``embed``.

    Attributes
    ----------
    block_frames : int
        Frames read and fed per step when streaming a file; memory use is a few times this
        (float32, all channels) whatever the file's length.
    plot_max_columns : int
        Time columns kept for ``--plot``; longer files are max-pooled in time to this bound.
    plot_nfft : int
        FFT length of the plot's spectrogram (samples); hop is half of it.
    progress_min_s : float
        Files shorter than this (seconds of audio) get no progress bar unless asked for.
    embed_block_frames : int
        ``embed`` hands the programme to the mixer in blocks of this many frames, like the
        broadcaster's real-time audio callback (the robust profile's level tracking follows
        the programme block by block).
    """

    block_frames: int = 65536
    plot_max_columns: int = 4000
    plot_nfft: int = 1024
    progress_min_s: float = 30.0
    embed_block_frames: int = 1024

    def __post_init__(self) -> None:
        if self.block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {self.block_frames}")
        if self.embed_block_frames < 1:
            raise ValueError(f"embed_block_frames must be >= 1, got {self.embed_block_frames}")
        if self.plot_max_columns < 2:
            raise ValueError(f"plot_max_columns must be >= 2, got {self.plot_max_columns}")
        if self.plot_nfft < 16:
            raise ValueError(f"plot_nfft must be >= 16, got {self.plot_nfft}")
