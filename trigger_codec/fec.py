"""Convolutional code K = 7, rate 1/2 (generators 171, 133 octal) and its soft Viterbi decoder.

The industry-standard code (CCSDS, 802.11): free distance 10. The encoder starts in state 0 and
is terminated with 6 zero tail bits, so the decoder knows both the start and the end state.
Bits may be punctured (not sent); the decoder gets an LLR of 0 for them.

The Viterbi decoder is vectorised over the 64 states (numpy); its only Python loop runs over the
trellis steps (54 for a trigger), ~0.3 ms per call. No library is used: the packages on PyPI
that offer this (``commpy``, ``sk-dsp-comm``) pull in matplotlib and are slower (pure-Python loops
over states); this is ~40 lines and checked against an independent shift-register encoder in
``tests/test_codec_framing.py``.

LLR convention: ``llr > 0`` means the bit is more likely 0; the decoder maximises
``sum((1 - 2 * c) * llr)`` over code words ``c`` (max-log maximum likelihood).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["CONSTRAINT", "GENERATORS", "TAIL", "conv_encode", "viterbi"]

#: constraint length (the register holds the current input bit and the 6 previous ones)
CONSTRAINT = 7
#: generator polynomials, octal; the most significant bit taps the current input
GENERATORS = (0o171, 0o133)
#: zero bits appended to terminate the trellis in state 0
TAIL = CONSTRAINT - 1
_N_STATES = 1 << TAIL


def _parity(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    x = x.copy()
    out = np.zeros_like(x)
    while np.any(x):
        out ^= x & 1
        x >>= 1
    return out


# register value r = (u << 6) | state, state = the 6 previous inputs (most recent at bit 5);
# the next state is r >> 1. Output bit j of register r:
_REG = np.arange(2 * _N_STATES, dtype=np.int64)
_OUT = np.stack([_parity(_REG & g) for g in GENERATORS], axis=1)  # (128, 2) of 0/1
_SIGN = 1.0 - 2.0 * _OUT  # (128, 2): +1 for a 0 bit, -1 for a 1 bit
# Predecessors of next state ns: registers (ns << 1) | b for b in {0, 1}; their states r & 63.
_NS = np.arange(_N_STATES, dtype=np.int64)
_PRED_REG = (_NS[:, None] << 1) | np.array([0, 1])[None, :]  # (64, 2)


def conv_encode(bits: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Encode ``bits`` (0/1) plus 6 zero tail bits.

    Parameters
    ----------
    bits : array_like [shape=(k,), dtype=int], values 0 or 1

    Returns
    -------
    np.ndarray [shape=(2 * (k + 6),), dtype=int64]
        Code bits, the two outputs of each step interleaved (``c[2t]``, ``c[2t+1]``).
    """
    u = np.concatenate([np.asarray(bits, dtype=np.int64), np.zeros(TAIL, dtype=np.int64)])
    state = 0
    regs = np.empty(u.size, dtype=np.int64)
    for t, b in enumerate(u.tolist()):
        regs[t] = (b << TAIL) | state
        state = int(regs[t]) >> 1
    return _OUT[regs].reshape(-1)


def viterbi(llr: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], float]:
    """Maximum-likelihood (max-log) decoding of a terminated code word from soft bits.

    Parameters
    ----------
    llr : array_like [shape=(2 * (k + 6),), dtype=float]
        Log-likelihood ratio ``log P(bit = 0) / P(bit = 1)`` of every code bit in the order
        :func:`conv_encode` produces them; 0 for punctured (unsent) bits.

    Returns
    -------
    bits : np.ndarray [shape=(k,), dtype=int64]
        The decoded information bits (tail removed).
    metric : float
        ``sum((1 - 2 * c) * llr)`` of the chosen code word ``c``.
    """
    lam = np.asarray(llr, dtype=np.float64).reshape(-1, 2)
    steps = lam.shape[0]
    # branch metric of both predecessors of every next state, all steps at once: (steps, 2,
    # 32, 2); next states ns and ns + 32 share the predecessors 2 (ns % 32) + {0, 1}
    bm = (lam @ _SIGN.T)[:, _PRED_REG].reshape(steps, 2, _N_STATES // 2, 2)
    metric = np.full(_N_STATES, -np.inf)
    metric[0] = 0.0
    choice = np.empty((steps, _N_STATES), dtype=bool)
    for t in range(steps):
        cand = (bm[t] + metric.reshape(_N_STATES // 2, 2)).reshape(_N_STATES, 2)
        np.greater(cand[:, 1], cand[:, 0], out=choice[t])
        metric = np.maximum(cand[:, 0], cand[:, 1])
    # trace back from state 0 (terminated)
    state = 0
    u = np.empty(steps, dtype=np.int64)
    for t in range(steps - 1, -1, -1):
        u[t] = state >> (TAIL - 1)
        state = ((state & (_N_STATES // 2 - 1)) << 1) | int(choice[t, state])
    return u[: steps - TAIL], float(metric[0])
