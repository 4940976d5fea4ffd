"""Payload framing: 32-bit ID + CRC-16 -> convolutional code -> 20 symbols of 5 bits (32-FSK).

Layout of the 6 message bytes: ``channel`` (12 bits) and ``seq`` (20 bits) packed big-endian
as ``channel << 20 | seq``, then CRC-16/CCITT-FALSE (``crcmod``) of those 4 bytes XOR a fixed
tag (so the all-zero word is not a valid frame).

The 48 message bits (MSB first) go through the K = 7, rate 1/2 convolutional code
(:mod:`trigger_codec.fec`) with a 6-bit zero tail: 108 code bits, of which 8 (the second output
at 8 steps spread over the word) are punctured, leaving 100 = 20 symbols x 5 bits (rate 0.48).

Bit interleaving (bit-interleaved coded modulation): code bit ``i`` becomes bit ``i // 20`` (MSB
first) of stream symbol ``i % 20``, so the 5 bits of one symbol are 10 trellis steps apart and a
faded symbol costs isolated bits; stream symbol ``k`` is sent in time slot ``(k * 7) mod 20``, so
neighbouring code bits are >= 60 ms apart (independent reverberant fading). Each symbol's 5 bits
``w`` select tone index ``t`` with ``gray(t) = w`` (Gray mapping: a tone confused with its
neighbour bin costs one bit).

Decoding is soft: per-bit max-log LLRs from the 32 candidate tones' normalised energies of each
symbol (noncoherent MFSK metric), one Viterbi pass yielding the best word and, while the CRC
fails, up to ``LIST_SIZE - 1`` alternatives (CRC-aided list decoding); the first word whose
CRC matches must then pass a re-encoding check (its tones must stand out of their symbols,
:func:`check_terms`, by ``MIN_Z`` on average). False-accept budget: :mod:`trigger_codec.bound`
and ``trigger_codec/README.md``.
"""

from __future__ import annotations

import math

import crcmod.predefined
import numpy as np
import numpy.typing as npt

from trigger_codec.errors import ParameterError
from trigger_codec.fec import TAIL, conv_encode, iter_list_viterbi
from trigger_codec.ids import MAX_CHANNEL, MAX_SEQ, SEQ_BITS
from trigger_codec.profiles import BITS_PER_SYMBOL, DATA_SYMBOLS, N_VALUES

__all__ = [
    "CHECK_CLIP",
    "CHECK_MIN_SCALE",
    "CHECK_TRIM",
    "FALSE_ACCEPT_BUDGET",
    "LIST_SIZE",
    "MAX_CHANNEL",
    "MAX_SEQ",
    "MIN_Z",
    "N_CODE_BITS",
    "N_MESSAGE_BITS",
    "N_MESSAGE_BYTES",
    "PUNCTURED",
    "SoftDecision",
    "bit_llrs",
    "check_terms",
    "code_bits",
    "crc16",
    "decode_soft",
    "encode_payload",
    "from_symbols",
    "pack",
    "to_symbols",
    "unpack",
]

N_MESSAGE_BYTES = 6
N_MESSAGE_BITS = 8 * N_MESSAGE_BYTES
#: code bits sent: 20 symbols x 5 bits
N_CODE_BITS = DATA_SYMBOLS * BITS_PER_SYMBOL
#: indices (in the 108-bit mother code word) of the 8 punctured bits: the second output of
#: 8 trellis steps spread evenly over the word (never the first 3 or the tail)
PUNCTURED = 2 * np.round(np.linspace(3, N_MESSAGE_BITS + 1, 8)).astype(np.int64) + 1
#: re-encoding check: the decoded word's tones must stand out of their symbols by this much on
#: average (``z``, the mean of :func:`check_terms`, in :func:`decode_soft`). FALSE_ACCEPT_BUDGET
#: needs 3.61 on Gaussian noise and at most that on trigger-free programme streamed through the
#: decoder (white, pink, speech-like, music, music through AAC 128k:
#: ``benchmarks/bench_false_accept.py``); 3.8 leaves a margin (bound ~1e-12 per attempt)
MIN_Z = 3.8
#: check terms (:func:`check_terms`): largest values of a row left out of its reference, the
#: clip of each term, and the floor of the scale as a fraction of the row's mean. Offline on the
#: channel bench's 0 dB triggers (true phase), true words passing at the same budget 1e-10:
#: plain standardisation 192 / 191 of 200 (hf AAC 192k / robust AAC 192k), leaving out 3 and
#: clipping at 12: 199 / 200 (README). The scale floor keeps a row whose few live cells sit
#: among nearly empty ones (music with cymbals, a codec-cut band) from giving huge terms: music
#: needed z 3.71-3.85 for the budget without it, 3.50-3.58 with it
CHECK_TRIM = 3
CHECK_CLIP = 12.0
CHECK_MIN_SCALE = 0.3
#: what MIN_Z is chosen for: false accepts per decode attempt without a trigger, union bound
#: over the 2^32 valid words (:mod:`trigger_codec.bound`, README.md: false-accept budget)
FALSE_ACCEPT_BUDGET = 1e-10
#: CRC-aided list decoding: words tried per candidate (the Viterbi word and its best
#: single-detour alternatives, :func:`trigger_codec.fec.iter_list_viterbi`); the first one whose
#: CRC matches is the decision. Offline on 400 channel-bench triggers at 0 dB (hf AAC 192k,
#: robust AAC 128k) 1 / 2 / 4 / 8 / 16 words decoded 366 / 374 / 379 / 383 / 383 (README)
LIST_SIZE = 8
#: XORed into the CRC so that an all-zero word (silence decoded as tone 0) never validates
_CRC_TAG = 0x5A3C

_crc_fun = crcmod.predefined.mkCrcFun("crc-ccitt-false")
_MOTHER_BITS = 2 * (N_MESSAGE_BITS + TAIL)
_KEEP = np.setdiff1d(np.arange(_MOTHER_BITS), PUNCTURED)
assert _KEEP.size == N_CODE_BITS


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF) XOR the jimaku tag."""
    return int(_crc_fun(data)) ^ _CRC_TAG


def _check_id(channel: int, seq: int) -> None:
    for name, value, top in (("channel", channel, MAX_CHANNEL), ("seq", seq, MAX_SEQ)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ParameterError(f"{name} must be an integer, got {value!r}")
        if not 0 <= int(value) <= top:
            raise ParameterError(f"{name}={value} is out of range; use 0..{top}")


def pack(channel: int, seq: int) -> bytes:
    """Return the 6 message bytes (ID + CRC) for ``channel``/``seq``."""
    _check_id(channel, seq)
    word = (int(channel) << SEQ_BITS) | int(seq)
    body = word.to_bytes(4, "big")
    return body + crc16(body).to_bytes(2, "big")


def unpack(message: bytes) -> tuple[int, int] | None:
    """Return ``(channel, seq)`` from 6 message bytes, or None if the CRC does not match."""
    if len(message) != N_MESSAGE_BYTES:
        return None
    body, crc = bytes(message[:4]), int.from_bytes(message[4:], "big")
    if crc16(body) != crc:
        return None
    word = int.from_bytes(body, "big")
    return word >> SEQ_BITS, word & MAX_SEQ


def code_bits(message: bytes) -> npt.NDArray[np.int64]:
    """Return the 100 sent code bits (0/1) of 6 message bytes (convolutional code, punctured)."""
    bits = np.unpackbits(np.frombuffer(bytes(message), dtype=np.uint8)).astype(np.int64)
    return conv_encode(bits)[_KEEP]


# stream symbol k is sent in time slot (k * 7) mod 20
_SLOT_OF_STREAM = (np.arange(DATA_SYMBOLS, dtype=np.int64) * 7) % DATA_SYMBOLS
_WEIGHTS = 1 << np.arange(BITS_PER_SYMBOL, dtype=np.int64)[::-1]
_TONES = np.arange(N_VALUES, dtype=np.int64)
#: bits (MSB first) carried by tone index t: gray(t) = t ^ (t >> 1), shape (32, 5)
_TONE_BITS = ((_TONES ^ (_TONES >> 1))[:, None] >> np.arange(BITS_PER_SYMBOL)[::-1]) & 1
#: per bit position, the 16 tones whose bit is 0 / 1: shape (5, 16)
_TONES_BIT0 = np.stack([np.flatnonzero(_TONE_BITS[:, k] == 0) for k in range(BITS_PER_SYMBOL)])
_TONES_BIT1 = np.stack([np.flatnonzero(_TONE_BITS[:, k] == 1) for k in range(BITS_PER_SYMBOL)])
_TONE_OF_WORD = np.empty(N_VALUES, dtype=np.int64)
_TONE_OF_WORD[_TONES ^ (_TONES >> 1)] = _TONES


def to_symbols(bits: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Map 100 code bits to the tone index (0..31) of each of the 20 data symbols, time order."""
    b = np.asarray(bits, dtype=np.int64).reshape(BITS_PER_SYMBOL, DATA_SYMBOLS)
    words = _WEIGHTS @ b  # word of stream symbol k: bits k, k + 20, ..., k + 80
    out = np.empty(DATA_SYMBOLS, dtype=np.int64)
    out[_SLOT_OF_STREAM] = _TONE_OF_WORD[words]
    return out


def from_symbols(symbols: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Inverse of :func:`to_symbols`: 20 tone indices -> 100 code bits."""
    tones = np.asarray(symbols, dtype=np.int64)[_SLOT_OF_STREAM]
    return np.asarray(_TONE_BITS[tones].T.reshape(-1), dtype=np.int64)


def encode_payload(channel: int, seq: int) -> npt.NDArray[np.int64]:
    """Return the 20 data symbols' tone indices (0..31) for ``channel``/``seq``."""
    return to_symbols(code_bits(pack(channel, seq)))


def _logsumexp(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``log(sum(exp(a)))`` over the last axis, shifted by its maximum (no overflow or log(0))."""
    top = a.max(axis=-1)
    return np.asarray(top + np.log(np.exp(a - top[..., None]).sum(axis=-1)), dtype=np.float64)


def bit_llrs(metric: npt.ArrayLike, sharpness: float | None = None) -> npt.NDArray[np.float64]:
    """LLRs of the 100 code bits from per-symbol tone metrics.

    Parameters
    ----------
    metric : array_like [shape=(20, 32), dtype=float]
        Log-likelihood (up to a per-symbol constant) of each candidate tone of each data
        symbol, time order.
    sharpness : float or None
        None: max-log, ``max(metric over tones whose bit is 0) - max(over tones whose bit is
        1)``. A number ``a``: log-sum-exp, ``log sum exp(a m) over bit-0 tones - log sum exp(a m)
        over bit-1 tones`` (each bit also hears the runners-up of its symbol: a faded symbol's
        bits come out less sure than max-log makes them; the decoder's retry of near misses).

    Returns
    -------
    np.ndarray [shape=(100,), dtype=float64]
        In code-bit order (the inverse of the interleaver and the Gray map).
    """
    m = np.asarray(metric, dtype=np.float64)[_SLOT_OF_STREAM]  # stream order
    # (20 stream symbols, 5 bits): tones whose bit is 0 against tones whose bit is 1
    if sharpness is None:
        llr = m[:, _TONES_BIT0].max(axis=2) - m[:, _TONES_BIT1].max(axis=2)
    else:
        llr = _logsumexp(m[:, _TONES_BIT0] * sharpness) - _logsumexp(m[:, _TONES_BIT1] * sharpness)
    return np.asarray(llr.T.reshape(-1), dtype=np.float64)


class SoftDecision:
    """Outcome of :func:`decode_soft` (also for rejected candidates, for diagnostics).

    Attributes
    ----------
    found : tuple of (int, int) or None
        ``(channel, seq)`` if accepted.
    crc_ok : bool
        Whether the decoded message's CRC matched.
    z : float
        Mean over the 20 symbols of the decoded word's :func:`check_terms` (NaN if the CRC
        failed: not computed).
    matches : int
        Symbols whose strongest tone is the decoded word's tone (0..20; -1 if the CRC failed).
    rank : int
        Position in the decoding list of the word whose CRC matched (0: the Viterbi word; -1 if
        no word's CRC matched).
    viterbi_z : float
        ``z`` of the Viterbi word (the first of the list) whatever its CRC, if
        :func:`decode_soft` was asked for it (``viterbi_z=True``) and no word's CRC matched;
        else NaN. Near misses of real triggers that a retry recovered scored 2.8-5.3, random
        candidates 1.71 +- 0.33 (README): the decoder retries only such near misses with other
        metrics.
    """

    __slots__ = ("crc_ok", "found", "matches", "rank", "viterbi_z", "z")

    def __init__(
        self,
        found: tuple[int, int] | None,
        crc_ok: bool,
        z: float,
        matches: int,
        rank: int = 0,
        viterbi_z: float = math.nan,
    ) -> None:
        self.found = found
        self.crc_ok = crc_ok
        self.z = z
        self.matches = matches
        self.rank = rank if crc_ok else -1
        self.viterbi_z = viterbi_z


def check_terms(energies: npt.ArrayLike, tones: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Check value of each symbol's chosen tone: how far it stands out of the rest of its row.

    ``x = sqrt(energies)``; the reference is the row without its :data:`CHECK_TRIM` largest
    values (in a reverberant room the previous tones' tails and the tone's own leakage are a
    few strong cells that would inflate a plain standard deviation), the term
    ``(x_t - mean(ref)) / max(std(ref), CHECK_MIN_SCALE * mean(x))``, clipped at
    :data:`CHECK_CLIP`. Independent of the energies' scale.

    Parameters
    ----------
    energies : array_like [shape=(..., 32), dtype=float]
        Normalised energies (>= 0) of each symbol's 32 candidate tones.
    tones : array_like of int [shape=(...)]
        The chosen tone index (0..31) of each symbol.

    Returns
    -------
    np.ndarray [shape=(...), dtype=float64]
        At most :data:`CHECK_CLIP`.
    """
    x = np.sqrt(np.maximum(np.asarray(energies, dtype=np.float64), 0.0))
    t = np.asarray(tones, dtype=np.int64)
    picked = np.take_along_axis(x, t[..., None], axis=-1)[..., 0]
    ref = np.sort(x, axis=-1)[..., : x.shape[-1] - CHECK_TRIM] if CHECK_TRIM else x
    # mean and (population) standard deviation as numpy's mean()/std() compute them, without
    # their per-call overhead (this runs on every decoded word)
    n = ref.shape[-1]
    ref_mean = np.add.reduce(ref, axis=-1, keepdims=True) / n
    dev = ref - ref_mean
    dev *= dev
    ref_std = np.sqrt(np.add.reduce(dev, axis=-1) / n)
    scale = np.maximum(ref_std, CHECK_MIN_SCALE * (np.add.reduce(x, axis=-1) / x.shape[-1]))
    z = (picked - ref_mean[..., 0]) / (scale + 1e-12)
    return np.asarray(np.minimum(z, CHECK_CLIP), dtype=np.float64)


def _z(m: npt.NDArray[np.float64], tones: npt.NDArray[np.int64], energies: bool) -> float:
    """Mean over the symbols of the chosen tones' check values.

    :func:`check_terms` if ``m`` holds energies, else ``m`` standardised per row.
    """
    if energies:
        return float(np.mean(check_terms(m, tones)))
    picked = m[np.arange(DATA_SYMBOLS), tones]
    return float(np.mean((picked - m.mean(axis=1)) / (m.std(axis=1) + 1e-12)))


def decode_soft(
    metric: npt.ArrayLike,
    min_z: float = MIN_Z,
    check_energies: npt.ArrayLike | None = None,
    list_size: int = LIST_SIZE,
    viterbi_z: bool = False,
    sharpness: float | None = None,
    tried: list[npt.NDArray[np.int64]] | None = None,
) -> SoftDecision:
    """Decode one candidate from its per-symbol tone metrics.

    Parameters
    ----------
    metric : array_like [shape=(20, 32), dtype=float]
        See :func:`bit_llrs` (the decoder passes ``log(E + 0.1)`` of normalised energies).
    min_z : float
        Re-encoding check: the mean of the decoded word's :func:`check_terms` must reach this
        (:mod:`trigger_codec.bound`).
    check_energies : array_like [shape=(20, 32), dtype=float] or None
        Normalised energies (>= 0) of the symbols' candidate tones that the ``z`` check is
        computed on (:func:`check_terms`: the statistic :data:`MIN_Z` and its false-accept
        bound are computed for; independent of the energies' scale). The bound needs the 20
        rows to come from disjoint frames; ``metric`` itself may mix in neighbouring frames to
        help the Viterbi decoder. None:
        ``z`` on ``metric`` itself, standardised (to test the code alone; no bound applies).
    list_size : int
        Words tried (CRC-aided list decoding, :data:`LIST_SIZE`): the first word of the list
        whose CRC matches is re-encoded and ``z``-checked, later words are not looked at. The
        false-accept bound (README.md) covers every CRC-valid word, so it does not depend on
        this; 1 = plain Viterbi decoding.
    viterbi_z : bool
        If no word's CRC matches, also re-encode the Viterbi word and return its ``z``
        (:attr:`SoftDecision.viterbi_z`; costs one re-encoding).
    sharpness : float or None
        Bit demapping, see :func:`bit_llrs` (None: max-log).
    tried : list or None
        If given, each word the list decoder produced (48 message bits, up to and including
        the first CRC match) is appended to it (for :mod:`trigger_codec.trace`).

    Returns
    -------
    SoftDecision
        ``found`` is set only if the CRC and the re-encoding check both pass.
    """
    m = np.asarray(metric, dtype=np.float64)
    llr = np.zeros(2 * (N_MESSAGE_BITS + TAIL))
    llr[_KEEP] = bit_llrs(m, sharpness)
    found, rank = None, -1
    first = b""
    for bits, _ in iter_list_viterbi(llr, list_size):
        rank += 1
        if tried is not None:
            tried.append(bits)
        message = bytes(np.packbits(bits.astype(np.uint8)).tolist())
        first = first or message
        found = unpack(message)
        if found is not None:
            break
    energies = check_energies is not None
    if energies:
        m = np.asarray(check_energies, dtype=np.float64)
    if found is None:  # the common case on noise: skip the re-encoding unless asked
        vz = _z(m, to_symbols(code_bits(first)), energies) if viterbi_z else math.nan
        return SoftDecision(None, False, math.nan, -1, viterbi_z=vz)
    tones = to_symbols(code_bits(message))
    z = _z(m, tones, energies)
    matches = int(np.count_nonzero(np.argmax(m, axis=1) == tones))
    return SoftDecision(found if z >= min_z else None, True, z, matches, rank)
