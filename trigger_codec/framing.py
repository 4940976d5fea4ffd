"""Payload framing: 32-bit ID + CRC-16 -> Reed-Solomon RS(12, 6) over GF(256) -> 24 nibbles.

Layout of the 6 message bytes: ``channel`` (12 bits) and ``seq`` (20 bits) packed big-endian
as ``channel << 20 | seq``, then CRC-16/CCITT-FALSE (``crcmod``) of those 4 bytes XOR a fixed
tag (so the all-zero word is not a valid frame). ``reedsolo`` appends 6 parity bytes
(corrects 3 byte errors, or 6 erasures, or any ``2*errors + erasures <= 6``).

The 12 code bytes are sent as 24 nibbles: all high nibbles first, then all low nibbles, so the
two halves of a byte are 12 symbols (120 ms) apart and a burst of bad symbols hits many
different bytes at most once.

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

__all__ = [
    "MAX_CHANNEL",
    "MAX_SEQ",
    "N_CODE_BYTES",
    "N_MESSAGE_BYTES",
    "N_PARITY_BYTES",
    "crc16",
    "decode_symbols",
    "encode_payload",
    "from_nibbles",
    "pack",
    "to_nibbles",
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


def to_nibbles(code: bytes) -> npt.NDArray[np.int64]:
    """Interleave code bytes into symbol values 0..15: all high nibbles, then all low nibbles."""
    arr = np.frombuffer(bytes(code), dtype=np.uint8).astype(np.int64)
    return np.concatenate([arr >> 4, arr & 0xF])


def from_nibbles(nibbles: npt.ArrayLike) -> bytes:
    """Inverse of :func:`to_nibbles`."""
    nib = np.asarray(nibbles, dtype=np.int64)
    half = nib.size // 2
    return bytes(((nib[:half] << 4) | nib[half:]).astype(np.uint8).tolist())


def encode_payload(channel: int, seq: int) -> npt.NDArray[np.int64]:
    """Return the 24 data symbol values (0..15) for ``channel``/``seq``."""
    code = bytes(_rs.encode(pack(channel, seq)))
    return to_nibbles(code)


def decode_symbols(
    nibbles: npt.ArrayLike, confidence: npt.ArrayLike | None = None, max_erasures: int = 4
) -> tuple[int, int] | None:
    """Decode 24 received symbol values to ``(channel, seq)``, or None.

    Parameters
    ----------
    nibbles : array_like [shape=(24,), dtype=int]
        Hard symbol decisions 0..15.
    confidence : array_like [shape=(24,), dtype=float] or None
        Per-symbol reliability (higher = surer). If given and errors-only decoding fails, the
        ``max_erasures`` bytes whose weaker nibble is least reliable are erased and decoding is
        retried (errors-and-erasures).
    max_erasures : int
        At most this many bytes are erased (each erasure spends redundancy; see the module
        docstring for the false-accept bound).

    Returns
    -------
    tuple of (int, int) or None
        The ID if Reed-Solomon decoding and the CRC both succeed.
    """
    code = bytearray(from_nibbles(nibbles))
    attempts: list[Sequence[int]] = [[]]
    if confidence is not None and max_erasures > 0:
        conf = np.asarray(confidence, dtype=np.float64)
        byte_conf = np.minimum(conf[:N_CODE_BYTES], conf[N_CODE_BYTES:])
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
    return None
