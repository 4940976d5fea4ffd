"""The trigger ID space and the profile names: the limits every component shares.

The codec defines them (the payload is ``channel`` in 12 bits and ``seq`` in 20 bits,
:mod:`trigger_codec.framing`), so they live here, importable without numpy work or I/O:
the broadcaster's and receiver's settings, the archive's path and query checks, the command line
and the tests take them from this module instead of writing the numbers out.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "CHANNEL_BITS",
    "MAX_CHANNEL",
    "MAX_SEQ",
    "PROFILE_NAMES",
    "SEQ_BITS",
    "SEQ_MODULUS",
    "ProfileName",
]

#: Bits of the channel field of a trigger payload.
CHANNEL_BITS: Final = 12
#: Bits of the sequence-number field.
SEQ_BITS: Final = 20
#: Highest channel ID (4095).
MAX_CHANNEL: Final = (1 << CHANNEL_BITS) - 1
#: Highest sequence number (1,048,575); sequence numbers wrap to 0 after it.
MAX_SEQ: Final = (1 << SEQ_BITS) - 1
#: Sequence numbers are counted modulo this (2**20).
SEQ_MODULUS: Final = 1 << SEQ_BITS

#: A trigger profile's name (the keys of :data:`trigger_codec.PROFILES`).
ProfileName = Literal["hf", "robust"]
#: Every profile name, the default ("hf") first.
PROFILE_NAMES: Final[tuple[str, ...]] = get_args(ProfileName)
