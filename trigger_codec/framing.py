"""Payload framing: 32-bit ID + CRC-16 -> Reed-Solomon RS(12, 6) over GF(256) -> 20 x 5 bits.

Layout of the 6 message bytes: ``channel`` (12 bits) and ``seq`` (20 bits) packed big-endian
as ``channel << 20 | seq``, then CRC-16/CCITT-FALSE (``crcmod``) of those 4 bytes XOR a fixed
tag (so the all-zero word is not a valid frame). ``reedsolo`` appends 6 parity bytes
(corrects 3 byte errors, or 6 erasures, or any ``2*errors + erasures <= 6``).

The 96 code bits (+4 zero pad bits) are cut into 20 symbols of 5 bits (MSB first) and sent in
the interleaved order ``(k * 7) mod 20``, so the 2-3 symbols of one byte are >= 60 ms apart. A
symbol error costs 1 or 2 bytes.

False-accept probability per decode attempt on random input (derivation in README.md):
errors-only decoding accepts a random 12-byte word with probability
``V(12, 3) * 2**48 / 2**96 ~= 2**-16.2`` and the CRC passes with ``2**-16``, so ~2**-32
(2.3e-10); with ``e`` erasures the RS check leaves ``(6 - e)`` bytes of redundancy plus the
CRC's 16 bits; the decoder erases 2 bytes (accepting <= 1 further error: ~2**-37) and then 4
bytes (accepting no further error: 2**-32), so the three attempts together accept a random
candidate with probability ~4.6e-10.
"""

from __future__ import annotations

from collections.abc import Sequence

import crcmod.predefined
import numpy as np
import numpy.typing as npt
from reedsolo import ReedSolomonError, RSCodec

from trigger_codec.errors import ParameterError
from trigger_codec.profiles import BITS_PER_SYMBOL, DATA_SYMBOLS

__all__ = [
    "MAX_CHANNEL",
    "MAX_SEQ",
    "N_CODE_BYTES",
    "N_MESSAGE_BYTES",
    "N_PARITY_BYTES",
    "byte_confidence",
    "crc16",
    "decode_symbols",
    "encode_payload",
    "from_symbols",
    "pack",
    "to_symbols",
    "unpack",
]

MAX_CHANNEL = 4095
MAX_SEQ = 1_048_575
N_MESSAGE_BYTES = 6
N_PARITY_BYTES = 6
N_CODE_BYTES = N_MESSAGE_BYTES + N_PARITY_BYTES
#: XORed into the CRC so that an all-zero word (silence decoded as tone 0) never validates
_CRC_TAG = 0x5A3C

_crc_fun = crcmod.predefined.mkCrcFun("crc-ccitt-false")
_rs = RSCodec(N_PARITY_BYTES)


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
    word = (int(channel) << 20) | int(seq)
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
    return word >> 20, word & MAX_SEQ


def _perm() -> npt.NDArray[np.int64]:
    # bit-stream symbol k is sent in time slot (k * 7) mod 20: the symbols of one byte end up
    # >= 60 ms apart, so a burst of bad symbols spreads over many bytes
    return (np.arange(DATA_SYMBOLS, dtype=np.int64) * 7) % DATA_SYMBOLS


_PAD_BITS = DATA_SYMBOLS * BITS_PER_SYMBOL - 8 * 12


def to_symbols(code: bytes) -> npt.NDArray[np.int64]:
    """Map 12 code bytes to 20 symbol values 0..31 (5 bits each, MSB first, interleaved)."""
    bits = np.unpackbits(np.frombuffer(bytes(code), dtype=np.uint8)).astype(np.int64)
    bits = np.concatenate([bits, np.zeros(_PAD_BITS, dtype=np.int64)])
    weights = 1 << np.arange(BITS_PER_SYMBOL)[::-1]
    vals = bits.reshape(DATA_SYMBOLS, BITS_PER_SYMBOL) @ weights
    out = np.empty(DATA_SYMBOLS, dtype=np.int64)
    out[_perm()] = vals
    return out


def from_symbols(symbols: npt.ArrayLike) -> bytes:
    """Inverse of :func:`to_symbols` (the pad bits are ignored)."""
    vals = np.asarray(symbols, dtype=np.int64)[_perm()]
    bits = (vals[:, None] >> np.arange(BITS_PER_SYMBOL)[::-1][None, :]) & 1
    bits = bits.reshape(-1)[:8 * 12].astype(np.uint8)
    return bytes(np.packbits(bits).tolist())


def byte_confidence(confidence: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per code byte, the lowest confidence of the symbols carrying its bits, shape (12,)."""
    conf = np.asarray(confidence, dtype=np.float64)[_perm()]  # bit-stream order
    bit_sym = np.arange(8 * 12) // BITS_PER_SYMBOL
    return np.asarray(conf[bit_sym].reshape(12, 8).min(axis=1), dtype=np.float64)


def encode_payload(channel: int, seq: int) -> npt.NDArray[np.int64]:
    """Return the 20 data symbol values (0..31) for ``channel``/``seq``."""
    code = bytes(_rs.encode(pack(channel, seq)))
    return to_symbols(code)


def decode_symbols(
    symbols: npt.ArrayLike, confidence: npt.ArrayLike | None = None, max_erasures: int = 4,
    second: npt.ArrayLike | None = None, chase: int = 6,
) -> tuple[int, int] | None:
    """Decode 20 received symbol values to ``(channel, seq)``, or None.

    Parameters
    ----------
    symbols : array_like [shape=(20,), dtype=int]
        Hard symbol decisions 0..31.
    confidence : array_like [shape=(20,), dtype=float] or None
        Per-symbol reliability (higher = surer). If given and errors-only decoding fails, the
        ``max_erasures`` bytes whose weakest symbol is least reliable are erased and decoding is
        retried (errors-and-erasures).
    second : array_like [shape=(20,), dtype=int] or None
        Runner-up value of each symbol. If given (with ``confidence``) and every attempt above
        fails, the ``chase`` least reliable symbols are replaced by their runner-up in every
        non-empty combination (15 for 4) and each word is decoded errors-only (Chase decoding).
    chase : int
        Number of least reliable symbols the Chase search flips (0 disables it).
    max_erasures : int
        At most this many bytes are erased (each erasure spends redundancy; see the module
        docstring for the false-accept bound).

    Returns
    -------
    tuple of (int, int) or None
        The ID if Reed-Solomon decoding and the CRC both succeed.
    """
    code = bytearray(from_symbols(symbols))
    attempts: list[Sequence[int]] = [[]]
    if confidence is not None and max_erasures > 0:
        conf = np.asarray(confidence, dtype=np.float64)
        byte_conf = byte_confidence(conf)
        order = np.argsort(byte_conf, kind="stable")
        attempts += [sorted(int(i) for i in order[:k]) for k in (2, max_erasures) if k]
    for erase in attempts:
        try:
            msg, _, errata = _rs.decode(code, erase_pos=list(erase) or None)
        except ReedSolomonError:
            continue
        # Bound the false-accept rate: with e erasures allow only floor((6 - e) / 2) - 1 extra
        # errors (none at e = 4), keeping >= 32 bits of check per attempt (README.md).
        extra = len(set(int(p) for p in errata) - set(erase))
        if erase and extra > max(0, (N_PARITY_BYTES - len(erase)) // 2 - 1):
            continue
        found = unpack(bytes(msg))
        if found is not None:
            return found
    if confidence is None or second is None or chase <= 0:
        return None
    sym = np.asarray(symbols, dtype=np.int64)
    alt = np.asarray(second, dtype=np.int64)
    weak = np.argsort(np.asarray(confidence, dtype=np.float64), kind="stable")[:chase]
    for mask in range(1, 1 << len(weak)):
        trial = sym.copy()
        flip = [int(weak[i]) for i in range(len(weak)) if mask >> i & 1]
        trial[flip] = alt[flip]
        try:
            msg = _rs.decode(bytearray(from_symbols(trial)))[0]
        except ReedSolomonError:
            continue
        found = unpack(bytes(msg))
        if found is not None:
            return found
    return None
