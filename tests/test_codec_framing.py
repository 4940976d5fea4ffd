"""Framing, CRC and Reed-Solomon tests of trigger_codec.framing (independent references)."""

from __future__ import annotations

import binascii

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trigger_codec import ParameterError
from trigger_codec import framing as fr


def test_crc_matches_independent_ccitt() -> None:
    # binascii.crc_hqx is CRC-16/CCITT with a given init; CCITT-FALSE uses init 0xFFFF
    for data in (b"123456789", b"\x00\x00\x00\x00", bytes(range(4))):
        assert fr.crc16(data) == binascii.crc_hqx(data, 0xFFFF) ^ 0x5A3C
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1  # the catalogue check value


def test_pack_layout() -> None:
    msg = fr.pack(0xABC, 0x12345)
    assert msg[:4] == bytes([0xAB, 0xC1, 0x23, 0x45])
    assert int.from_bytes(msg[4:], "big") == binascii.crc_hqx(msg[:4], 0xFFFF) ^ 0x5A3C
    assert fr.unpack(msg) == (0xABC, 0x12345)


def test_unpack_rejects_bad_crc() -> None:
    msg = bytearray(fr.pack(1, 2))
    msg[5] ^= 1
    assert fr.unpack(bytes(msg)) is None
    assert fr.unpack(b"\x00" * 6) is None  # the tag keeps the all-zero word invalid


@pytest.mark.parametrize(("channel", "seq"), [(-1, 0), (4096, 0), (0, -1), (0, 1 << 20),
                                              (1.5, 0), (True, 0), ("3", 0)])
def test_out_of_range_ids_are_parameter_errors(channel: object, seq: object) -> None:
    with pytest.raises(ParameterError, match=r"channel|seq"):
        fr.pack(channel, seq)  # type: ignore[arg-type]


def test_nibble_interleave_round_trip_and_spacing() -> None:
    code = bytes(range(12))
    nib = fr.to_nibbles(code)
    assert nib.shape == (24,) and nib.max() <= 15
    assert fr.from_nibbles(nib) == code
    # byte i's halves are 12 symbols apart
    assert [int(nib[i]) for i in (1, 13)] == [0x0, 0x1]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4095), st.integers(0, 1_048_575), st.data())
def test_rs_corrects_up_to_three_byte_errors(channel: int, seq: int, data: st.DataObject) -> None:
    sym = fr.encode_payload(channel, seq)
    n_err = data.draw(st.integers(0, 3))
    bytes_hit = data.draw(st.lists(st.integers(0, 11), min_size=n_err, max_size=n_err,
                                   unique=True))
    bad = sym.copy()
    for b in bytes_hit:
        bad[b] ^= data.draw(st.integers(1, 15))  # corrupt the high nibble of byte b
    assert fr.decode_symbols(bad) == (channel, seq)


def test_rs_rejects_beyond_t_without_soft_information(rng: np.random.Generator) -> None:
    sym = fr.encode_payload(1234, 56789)
    wrong = 0
    for _ in range(200):
        bad = sym.copy()
        hit = rng.choice(12, size=5, replace=False)  # 5 byte errors > t = 3
        bad[hit] ^= rng.integers(1, 16, size=5)
        got = fr.decode_symbols(bad)
        assert got != (1234, 56789)
        wrong += got is not None
    assert wrong == 0  # a mis-correction would also need the CRC to pass: ~1.5e-5 each


def test_erasures_from_confidence_extend_correction() -> None:
    sym = fr.encode_payload(77, 88)
    bad = sym.copy()
    idx = [0, 3, 5, 8, 10]  # 5 bytes with errors: beyond errors-only decoding
    bad[idx] ^= 7
    conf = np.ones(24)
    conf[idx] = 0.01
    assert fr.decode_symbols(bad) is None
    # 4 erasures + 1 further error is refused by design (keeps the 2**-32 check per attempt)
    assert fr.decode_symbols(bad, conf) is None
    bad = sym.copy()
    bad[[0, 3, 5, 8]] ^= 7
    conf = np.ones(24)
    conf[[0, 3, 5, 8]] = 0.01
    assert fr.decode_symbols(bad, conf) == (77, 88)  # 4 erasures


def test_random_words_are_rejected(rng: np.random.Generator) -> None:
    # 20000 random candidates, each with soft information: the computed bound is ~5e-10 per
    # candidate, so any acceptance here would reveal a broken check
    accepted = 0
    for _ in range(20000):
        sym = rng.integers(0, 16, size=24)
        accepted += fr.decode_symbols(sym, rng.random(24)) is not None
    assert accepted == 0
