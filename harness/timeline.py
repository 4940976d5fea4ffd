"""The chain's PNG timeline: what aired, what the phone heard, and when each caption appeared.

Three rows on the programme clock (see :mod:`jimaku.demo.timing`):

1. the on-air waveform with the speech (blue) and every trigger airing (orange) marked;
2. the spectrogram of the phone's recording, with the trigger airings boxed in their band and
   each decoding the phone made marked (green triangles);
3. the captions: one bar per caption from when it was shown until the next one, labelled with its
   seq and text, and a grey line from the end of its speech to when it was shown (the latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jimaku.demo.chain import ChainResult
from jimaku.demo.timing import AiredTrigger, CaptionTiming, DecodedTrigger

__all__ = ["KOREAN_FONT_FILES", "plot_chain_result", "plot_timeline"]

#: Fonts with Hangul (Debian ``fonts-nanum``); without one, captions are labelled by seq only
#: (matplotlib would otherwise draw empty boxes and warn for every glyph).
KOREAN_FONT_FILES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"),
)
#: Trigger bands drawn in the spectrogram (Hz): the codec's ``hf`` and ``robust`` profiles.
_BANDS_HZ = {"hf": (17000.0, 19500.0), "robust": (12500.0, 15500.0)}


def _font_family() -> str | None:
    from matplotlib import font_manager

    for f in KOREAN_FONT_FILES:
        if f.exists():
            font_manager.fontManager.addfont(str(f))
            return str(font_manager.FontProperties(fname=str(f)).get_name())
    return None


def plot_timeline(
    path: Path,
    onair: np.ndarray,
    onair_rate_hz: int,
    phone: np.ndarray,
    phone_rate_hz: int,
    timings: Sequence[CaptionTiming],
    aired: Sequence[AiredTrigger],
    decoded: Sequence[DecodedTrigger],
    channel: int,
    title: str = "",
    profile: str = "hf",
) -> None:
    """Draw the timeline PNG.

    Parameters
    ----------
    path : Path
        Where to write the PNG.
    onair : np.ndarray [shape=(n,) or (n, channels), dtype=float32]
        The broadcaster's output, samples in [-1, 1].
    onair_rate_hz : int
        Its sample rate.
    phone : np.ndarray [shape=(m,), dtype=float32]
        The phone's recording.
    phone_rate_hz : int
        Its sample rate.
    timings : sequence of CaptionTiming
        The captions on the programme clock.
    aired : sequence of AiredTrigger
        Trigger airings found in the on-air audio.
    decoded : sequence of DecodedTrigger
        Triggers the phone decoded.
    channel : int
        The broadcast channel (others' triggers are drawn grey).
    title : str
        Figure title.
    profile : str
        The broadcaster's trigger profile (which band to box).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from scipy.signal import spectrogram

    family = _font_family()
    on = onair.mean(axis=1) if onair.ndim == 2 else onair
    duration = max(len(on) / onair_rate_hz, len(phone) / phone_rate_hz)
    with plt.rc_context():
        plt.rcParams["font.size"] = 10
        if family:
            plt.rcParams["font.family"] = [family, "DejaVu Sans"]
        fig, axes = plt.subplots(
            3,
            1,
            figsize=(max(14.0, duration / 2.5), 9.5),
            sharex=True,
            gridspec_kw={"height_ratios": [1.0, 1.6, 1.3]},
        )
        ax_w, ax_s, ax_c = axes
        # 1. on-air waveform, decimated to a min/max envelope so the PNG stays small
        step = max(1, len(on) // 4000)
        n = len(on) // step * step
        env = on[:n].reshape(-1, step)
        t_env = np.arange(env.shape[0]) * step / onair_rate_hz
        ax_w.fill_between(t_env, env.min(axis=1), env.max(axis=1), color="0.35", lw=0)
        for t in timings:
            if t.speech_start_s is not None and t.speech_end_s is not None:
                ax_w.axvspan(t.speech_start_s, t.speech_end_s, color="tab:blue", alpha=0.15, lw=0)
        for a in aired:
            color = "tab:orange" if a.channel == channel else "0.6"
            ax_w.axvspan(a.start_s, a.end_s, color=color, alpha=0.6, lw=0)
        ax_w.set_ylim(-1.0, 1.0)
        ax_w.set_ylabel("on air")
        ax_w.set_title(title or "jimaku: one broadcast through the chain", loc="left", fontsize=12)
        ax_w.legend(
            handles=[
                Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.3, label="speech on air"),
                Rectangle((0, 0), 1, 1, color="tab:orange", alpha=0.6, label="trigger airing"),
            ],
            loc="upper right",
            fontsize=8,
            framealpha=0.9,
        )
        # 2. phone recording spectrogram
        f, ts, sxx = spectrogram(
            phone.astype(np.float64), fs=phone_rate_hz, nperseg=1024, noverlap=512
        )
        db = 10 * np.log10(sxx + 1e-14)
        vmax = float(np.percentile(db, 99.5))
        ax_s.pcolormesh(
            ts,
            f / 1000,
            db,
            shading="auto",
            cmap="magma",
            vmin=vmax - 80,
            vmax=vmax,
            rasterized=True,
        )
        lo, hi = _BANDS_HZ.get(profile, _BANDS_HZ["hf"])
        for a in aired:
            if a.channel == channel:
                ax_s.add_patch(
                    Rectangle(
                        (a.start_s, lo / 1000),
                        a.end_s - a.start_s,
                        (hi - lo) / 1000,
                        fill=False,
                        ec="cyan",
                        lw=1.0,
                    )
                )
        dec_t = [d.returned_at_s for d in decoded if d.channel == channel]
        ax_s.plot(dec_t, [21.0] * len(dec_t), "v", color="lime", ms=7, label="phone decoded")
        ax_s.set_ylim(0, phone_rate_hz / 2000)
        ax_s.set_ylabel("phone mic (kHz)")
        ax_s.legend(loc="upper right", fontsize=8, framealpha=0.9)
        # 3. captions
        shown = sorted(
            (t for t in timings if t.shown_s is not None), key=lambda t: t.shown_s or 0.0
        )
        for i, t in enumerate(shown):
            start = t.shown_s or 0.0
            end = shown[i + 1].shown_s if i + 1 < len(shown) else duration
            y = 1.0 if i % 2 == 0 else 0.0
            ax_c.add_patch(
                Rectangle(
                    (start, y - 0.35),
                    (end or duration) - start,
                    0.7,
                    color="tab:green",
                    alpha=0.25,
                    lw=0,
                )
            )
            label = f"#{t.seq}"
            if family and t.shown_text:
                label += " " + t.shown_text
            ax_c.text(start + 0.05, y, label, va="center", ha="left", fontsize=9, clip_on=True)
            if t.speech_end_s is not None:
                ax_c.plot([t.speech_end_s, start], [y - 0.45, y - 0.45], color="0.3", lw=1.5)
                ax_c.plot([t.speech_end_s], [y - 0.45], "|", color="tab:blue", ms=10)
                ax_c.text(
                    start,
                    y - 0.45,
                    f" {start - t.speech_end_s:.2f} s",
                    fontsize=7,
                    va="center",
                    color="0.25",
                )
        missing = [t.seq for t in timings if t.shown_s is None]
        if missing:
            ax_c.text(
                0.01,
                0.95,
                f"never shown: {missing}",
                transform=ax_c.transAxes,
                color="tab:red",
                va="top",
                fontsize=9,
            )
        ax_c.set_ylim(-0.8, 1.6)
        ax_c.set_yticks([])
        ax_c.set_ylabel("captions shown")
        ax_c.set_xlabel("programme clock (s)")
        last = max((t.shown_s for t in timings if t.shown_s is not None), default=0.0)
        ax_c.set_xlim(0, max(duration, last + 4.0))
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)


def plot_chain_result(result: ChainResult, path: Path) -> None:
    """Draw the timeline of one :func:`jimaku.demo.chain.run_chain` run.

    The phone's decodings marked are the receiver's own (where its decoder had been fed up to
    when it returned each trigger).

    Parameters
    ----------
    result : ChainResult
        The run (its on-air audio and phone recording are read back from its folder).
    path : Path
        The PNG to write.
    """
    from audio_io import read_audio
    from trigger_codec import airtime_s

    onair, onair_sr = read_audio(result.paths["onair"])
    phone, phone_sr = read_audio(result.paths["phone"])
    air = airtime_s("hf")
    decoded = [
        DecodedTrigger(s.channel, s.seq, s.trigger_s, s.trigger_s + air, s.decoded_stream_s)
        for s in result.shown
        if s.trigger_s is not None and s.decoded_stream_s is not None
    ]
    s = result.settings
    mode = f"synchronous, delay {s.delay_s:g} s" if s.delay_s else "live"
    plot_timeline(
        path,
        onair,
        int(onair_sr),
        phone,
        int(phone_sr),
        result.timings,
        result.aired,
        decoded,
        result.channel,
        title=f"jimaku chain ({mode}): {result.programme.source}, room {s.room_preset}",
    )
