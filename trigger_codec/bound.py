"""The false-accept bound of the re-encoding check (the computation behind ``framing.MIN_Z``).

A candidate without a trigger is accepted only if *some* CRC-valid word (2^32 of them) passes
the re-encoding check ``z >= MIN_Z``. For one fixed word, ``z`` is the mean over the 20 data
symbols of :func:`trigger_codec.framing.check_terms`: how far the word's tone stands out of the
other candidates of its symbol (``sqrt`` of the normalised energies against the row without its
3 largest cells, clipped). With Gaussian noise in the band the 32 energies of a symbol are
i.i.d. exponential; the term does not depend on their scale (the decoder's check energies have
no fixed scale on noise, so the statistic must not care), and the 20 symbols use disjoint
frames, so the 20 terms are i.i.d. Chernoff: ``P(z >= t) <= exp(-20 sup_l (l t - log M(l)))``
with ``M`` the terms' moment generating function, estimated from simulated symbols (or, in
``benchmarks/bench_false_accept.py``, from trigger-free programme streamed through the
decoder). A union over the 2^32 valid words bounds the false accepts per decode attempt:
``2^32 * P(z >= MIN_Z)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from trigger_codec.framing import check_terms
from trigger_codec.profiles import DATA_SYMBOLS, N_VALUES

__all__ = ["VALID_WORDS", "noise_terms", "per_attempt_bound", "word_tail_bound"]

#: valid words a false accept can pick from: every 32-bit ID has one CRC-valid code word
VALID_WORDS = 2**32


def noise_terms(symbols: int = 400_000, seed: int = 0) -> npt.NDArray[np.float64]:
    """Check terms of a fixed tone among 32 i.i.d. exponential energies (Gaussian noise).

    Returns
    -------
    np.ndarray [shape=(symbols,), dtype=float64]
    """
    rng = np.random.default_rng(seed)
    e = rng.exponential(1.0, (symbols, N_VALUES))
    return check_terms(e, np.zeros(symbols, np.int64))


def word_tail_bound(min_z: npt.ArrayLike, terms: npt.ArrayLike | None = None) -> Any:
    """Chernoff bound on ``P(z >= min_z)`` for one fixed word.

    Parameters
    ----------
    min_z : float or array_like of float
        Threshold(s) on the mean of the word's 20 check terms (:func:`framing.check_terms`);
        the moment generating function is estimated once for all of them.
    terms : array_like [shape=(k,), dtype=float] or None
        Samples of one symbol's term without a trigger, for the moment generating function
        ``M``; default :func:`noise_terms` (400,000 symbols, seed 0). The channel bench's
        ``bench_false_accept.py`` passes terms measured through the decoder's front end.

    Returns
    -------
    float or np.ndarray [shape of ``min_z``]
        ``exp(-20 sup_l (l min_z - log M(l)))``.
    """
    x = noise_terms() if terms is None else np.asarray(terms, dtype=np.float64)
    lam = np.linspace(0.02, 8.0, 400)
    # log M(l) = log mean exp(l x), computed stably around the largest term
    top = float(x.max())
    log_m = np.array([lv * top + np.log(np.mean(np.exp(lv * (x - top)))) for lv in lam])
    z = np.asarray(min_z, dtype=np.float64)
    rate = np.max(lam * z[..., None] - log_m, axis=-1)
    bound = np.exp(-DATA_SYMBOLS * np.maximum(rate, 0.0))
    return float(bound) if bound.ndim == 0 else bound


def per_attempt_bound(min_z: npt.ArrayLike, terms: npt.ArrayLike | None = None) -> Any:
    """Union bound on false accepts per decode attempt: ``2^32 * word_tail_bound(min_z)``."""
    return VALID_WORDS * word_tail_bound(min_z, terms)
