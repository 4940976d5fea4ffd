"""``--plot``: a spectrogram of both trigger bands with the detections marked.

:class:`BandSpectrogram` is pure numpy and streams (it is fed the same mono blocks as the
decoder); its memory is bounded by max-pooling columns in time once there are more than
``max_columns`` of them, so a long file still makes a small plot. :func:`draw_plot` imports
matplotlib (Agg backend, no display) only when called.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from trigger_codec import PROFILES, Detection

__all__ = ["BAND_LIMITS_HZ", "BandSpectrogram", "draw_plot"]

#: frequency range drawn per profile (the band plus a margin on each side), Hz
BAND_LIMITS_HZ: dict[str, tuple[float, float]] = {
    name: (p.f_lo_hz - 500.0, p.f_hi_hz + 500.0) for name, p in PROFILES.items()
}


class BandSpectrogram:
    """Streaming power spectrogram restricted to the trigger bands.

    Parameters
    ----------
    sample_rate : int
        Hz.
    nfft : int
        FFT length in samples (Hann window); hop is ``nfft // 2``.
    max_columns : int
        At most this many time columns are kept; when exceeded, neighbouring columns are
        merged (maximum, so a short trigger stays visible) and each later column covers twice
        as many frames.
    """

    def __init__(self, sample_rate: int, nfft: int = 1024, max_columns: int = 4000) -> None:
        self.sample_rate = int(sample_rate)
        self.nfft = int(nfft)
        self.hop = self.nfft // 2
        self.max_columns = int(max_columns)
        freqs = np.fft.rfftfreq(self.nfft, 1.0 / self.sample_rate)
        lo = min(v[0] for v in BAND_LIMITS_HZ.values())
        hi = max(v[1] for v in BAND_LIMITS_HZ.values())
        self._bins = np.flatnonzero((freqs >= lo) & (freqs <= hi))
        self.freqs_hz: npt.NDArray[np.float64] = np.asarray(freqs[self._bins], dtype=np.float64)
        self._window = np.hanning(self.nfft).astype(np.float32)
        self._carry = np.zeros(0, dtype=np.float32)
        self._columns: list[npt.NDArray[np.float32]] = []
        self._pool = 1  # frames per column
        self._acc: npt.NDArray[np.float32] | None = None
        self._acc_n = 0

    @property
    def seconds_per_column(self) -> float:
        """Time covered by one column, s."""
        return self._pool * self.hop / self.sample_rate

    def feed(self, block: npt.NDArray[np.floating]) -> None:
        """Add mono samples.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), dtype=float32 or float64]
            The next samples of the stream, in [-1, 1].
        """
        x = np.concatenate([self._carry, np.asarray(block, dtype=np.float32)])
        n_frames = 0 if x.size < self.nfft else 1 + (x.size - self.nfft) // self.hop
        if n_frames:
            idx = np.arange(self.nfft)[None, :] + self.hop * np.arange(n_frames)[:, None]
            spec = np.fft.rfft(x[idx] * self._window, axis=1)[:, self._bins]
            power = (spec.real**2 + spec.imag**2).astype(np.float32)
            for row in power:
                self._add(row)
        self._carry = x[n_frames * self.hop :].copy()

    def _add(self, row: npt.NDArray[np.float32]) -> None:
        self._acc = row if self._acc is None else np.maximum(self._acc, row)
        self._acc_n += 1
        if self._acc_n < self._pool:
            return
        self._columns.append(self._acc)
        self._acc, self._acc_n = None, 0
        if len(self._columns) > self.max_columns:
            pairs = [
                np.maximum(self._columns[i], self._columns[i + 1])
                for i in range(0, len(self._columns) - 1, 2)
            ]
            if len(self._columns) % 2:
                pairs.append(self._columns[-1])  # a half-filled column; rare and harmless
            self._columns = pairs
            self._pool *= 2

    def image_db(self) -> npt.NDArray[np.float32]:
        """Return the spectrogram in dB.

        Returns
        -------
        np.ndarray [shape=(n_bins, n_columns), dtype=float32]
            Power in dB relative to full scale, floored at -160 dB; rows follow
            :attr:`freqs_hz`.
        """
        cols = list(self._columns)
        if self._acc is not None:
            cols.append(self._acc)
        if not cols:
            return np.full((self.freqs_hz.size, 1), -160.0, dtype=np.float32)
        ref = float(np.sum(self._window) ** 2 / 4.0)  # a full-scale sine's peak bin power
        img = np.stack(cols, axis=1) / ref
        db: npt.NDArray[np.float32] = (10.0 * np.log10(np.maximum(img, 1e-16))).astype(np.float32)
        return db


def draw_plot(
    path: str | os.PathLike[str],
    spectrogram: BandSpectrogram,
    detections: Sequence[Detection],
    title: str = "",
) -> None:
    """Draw both trigger bands (one panel each) with the detections marked; write a PNG.

    Parameters
    ----------
    path : str or os.PathLike
        Output image (PNG; the suffix chooses the format matplotlib writes).
    spectrogram : BandSpectrogram
        Fed with the whole file.
    detections : sequence of trigger_codec.Detection
        Each is shaded from ``start_s`` to ``end_s`` in its profile's panel and labelled
        ``channel/seq``.
    title : str
        Figure title (e.g. the input file name).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = spectrogram.image_db()
    t_end = img.shape[1] * spectrogram.seconds_per_column
    names = list(BAND_LIMITS_HZ)
    fig, axes = plt.subplots(len(names), 1, figsize=(12, 3.2 * len(names)), squeeze=False)
    try:
        vmax = float(np.max(img))
        for ax, name in zip(axes[:, 0], names, strict=True):
            lo, hi = BAND_LIMITS_HZ[name]
            rows = (spectrogram.freqs_hz >= lo) & (spectrogram.freqs_hz <= hi)
            if rows.any():
                f = spectrogram.freqs_hz[rows]
                mesh = ax.imshow(
                    img[rows],
                    origin="lower",
                    aspect="auto",
                    extent=(0.0, t_end, f[0] / 1000, f[-1] / 1000),
                    vmin=vmax - 90.0,
                    vmax=vmax,
                    cmap="magma",
                    interpolation="nearest",
                )
                fig.colorbar(mesh, ax=ax, label="dBFS")
            else:
                ax.text(0.5, 0.5, "band above Nyquist", transform=ax.transAxes, ha="center")
            prof = PROFILES[name]
            ax.axhline(prof.f_lo_hz / 1000, color="w", lw=0.5, ls=":")
            ax.axhline(prof.f_hi_hz / 1000, color="w", lw=0.5, ls=":")
            for det in detections:
                if det.profile != name:
                    continue
                ax.axvspan(det.start_s, det.end_s, color="cyan", alpha=0.12)
                ax.axvline(det.start_s, color="cyan", lw=1.0)
                ax.text(
                    det.start_s,
                    hi / 1000,
                    f" {det.channel}/{det.seq}",
                    color="cyan",
                    va="top",
                    fontsize=8,
                )
            found = sum(d.profile == name for d in detections)
            ax.set_title(f"{name} band ({found} detection{'s' * (found != 1)})", fontsize=10)
            ax.set_ylabel("kHz")
            ax.set_xlim(0.0, max(t_end, 1e-3))
        axes[-1, 0].set_xlabel("time (s)")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(os.fspath(path), dpi=100)
    finally:
        plt.close(fig)
