"""Where an utterance really starts: the speech onset found in the audio, not vosk's word time.

The broadcaster learns that an utterance has begun when vosk returns its first non-empty partial
text, measured 0.9-1.0 s after the speech onset on the announcer recording (with word timings
in partials, ``SetPartialWords``, the first partial came 1.8-2.3 s after the onset, too late
for a 2.5 s synchronous delay, so they are not used). vosk's first-word times in finals are 30 ms
frames that may sit a few hundred ms into the word or in the breath before it (measured:
synchronous-mode errors -0.50..+0.49 s using them). The onset itself is plain in the waveform:
the first stretch after the previous utterance where the short-term energy rises well above the
background and stays there. :func:`find_onset` looks for it in the recogniser's recent input
when the first partial arrives.

Runs in the recognition thread (not the audio path); a few hundred 10 ms frames of numpy per
utterance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["find_onset"]

#: Analysis frame and hop (s).
FRAME_S = 0.010
#: The onset must stay above the threshold this long (s): a click or a breath is shorter.
SUSTAIN_S = 0.040
#: A pause at least this long (s) separates the previous utterance's tail from this one's start.
GAP_S = 0.10


def find_onset(
    audio: np.ndarray,
    audio_start_s: float,
    sample_rate_hz: int,
    *,
    not_before_s: float = 0.0,
    lookback_s: float = 3.0,
    rise_db: float = 15.0,
    below_peak_db: float = 35.0,
) -> float | None:
    """Find the start of the speech that is going on at the end of *audio*.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,), dtype=int16 or float]
        The recogniser's recent mono input, ending now.
    audio_start_s : float
        Stream time of ``audio[0]`` (s).
    sample_rate_hz : int
        Rate of *audio* (Hz).
    not_before_s : float
        End of the previous utterance (its last word, stream seconds): the search starts here
        (and, always, after the first pause of :data:`GAP_S`, so a tail of earlier sound is not
        taken for this one's start).
    lookback_s : float
        Look at most this far back from the end of *audio* (s).
    rise_db : float
        The onset's energy must exceed the background (the searched stretch's 10th percentile,
        at least 1 LSB of 16-bit audio) by this much (dB) ...
    below_peak_db : float
        ... and be within this of the loudest frame (dB), so a loud background does not pass for
        speech.

    Returns
    -------
    float or None
        The onset (stream seconds); None when the audio shows no clear onset (then the caller
        does without it).
    """
    raw = np.asarray(audio)
    x = raw.astype(np.float64)
    if np.issubdtype(raw.dtype, np.integer):
        x = x / 32768.0
    end_s = audio_start_s + len(x) / sample_rate_hz
    lo_s = max(not_before_s, end_s - lookback_s, audio_start_s)
    hop = max(1, round(FRAME_S * sample_rate_hz))
    lo = round((lo_s - audio_start_s) * sample_rate_hz)
    n_frames = (len(x) - lo) // hop
    sustain = max(1, round(SUSTAIN_S / FRAME_S))
    if n_frames < sustain + 2:
        return None
    frames = x[lo : lo + n_frames * hop].reshape(n_frames, hop)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    floor_db = max(float(np.percentile(energy_db, 10)), 20 * np.log10(1 / 32768))
    peak_db = float(np.max(energy_db))
    threshold = max(floor_db + rise_db, peak_db - below_peak_db)
    if peak_db < threshold:
        return None
    above = energy_db >= threshold
    # An onset needs a pause before it: sound at the very start of the searched stretch is the
    # tail of something earlier (the previous utterance, whose last word vosk may end 50 ms
    # before the sound does), so the search starts after the first pause of GAP_S.
    gap = max(1, round(GAP_S / FRAME_S))
    quiet = np.convolve((~above).astype(np.int32), np.ones(gap, np.int32), "valid") == gap
    q = np.flatnonzero(quiet)
    if len(q) == 0:
        return None
    first = int(q[0])
    run = np.convolve(above[first:].astype(np.int32), np.ones(sustain, np.int32), "valid")
    idx = np.flatnonzero(run == sustain)
    if len(idx) == 0:
        return None
    return lo_s + float(first + idx[0]) * hop / sample_rate_hz
