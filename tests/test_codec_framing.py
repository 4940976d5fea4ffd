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


def code_of(channel: int, seq: int) -> bytes:
    """The 12 RS code bytes, from the symbols (inverse mapping tested below)."""
    return fr.from_symbols(fr.encode_payload(channel, seq))


def test_symbol_mapping_round_trip_and_interleave() -> None:
    code = bytes(range(0, 240, 20))
    sym = fr.to_symbols(code)
    assert sym.shape == (20,) and sym.min() >= 0 and sym.max() <= 31
    assert fr.from_symbols(sym) == code
    # bit-stream symbol k is sent at slot 7k mod 20. Byte 1 = 20 = 0b00010100: stream symbol 1
    # (bits 5-9: 000 from byte 0, 00 from byte 1) at slot 7, stream symbol 2 (bits 10-14 =
    # bits 2-6 of byte 1 = 01010) at slot 14
    assert int(sym[0]) == 0 and int(sym[7]) == 0
    assert int(sym[14]) == 0b01010


def test_message_bytes_are_the_systematic_part() -> None:
    assert code_of(5, 6)[:6] == fr.pack(5, 6)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4095), st.integers(0, 1_048_575), st.data())
def test_rs_corrects_up_to_three_byte_errors(channel: int, seq: int, data: st.DataObject) -> None:
    code = bytearray(code_of(channel, seq))
    n_err = data.draw(st.integers(0, 3))
    for b in data.draw(st.lists(st.integers(0, 11), min_size=n_err, max_size=n_err,
                                unique=True)):
        code[b] ^= data.draw(st.integers(1, 255))
    assert fr.decode_symbols(fr.to_symbols(bytes(code))) == (channel, seq)


def test_rs_rejects_beyond_t_without_soft_information(rng: np.random.Generator) -> None:
    good = code_of(1234, 56789)
    wrong = 0
    for _ in range(200):
        code = bytearray(good)
        for b in rng.choice(12, size=5, replace=False):  # 5 byte errors > t = 3
            code[b] ^= int(rng.integers(1, 256))
        got = fr.decode_symbols(fr.to_symbols(bytes(code)))
        assert got != (1234, 56789)
        wrong += got is not None
    assert wrong == 0  # a mis-correction would also need the CRC to pass: ~1.5e-5 each


def test_erasures_from_confidence_extend_correction() -> None:
    sym = fr.encode_payload(77, 88)
    # stream symbols 0-5 (bits 0-29 = bytes 0-3) are sent at slots 7k mod 20
    slots = [0, 7, 14, 1, 8, 15]
    bad = sym.copy()
    bad[slots] ^= 0b10101
    hit = [i for i, (a, b) in enumerate(zip(fr.from_symbols(bad), fr.from_symbols(sym),
                                             strict=True)) if a != b]
    assert hit == [0, 1, 2, 3]  # 4 byte errors: beyond errors-only decoding (t = 3)
    conf = np.ones(20)
    conf[slots] = 0.01
    assert fr.decode_symbols(bad) != (77, 88)
    assert list(np.flatnonzero(fr.byte_confidence(conf) < 1)) == [0, 1, 2, 3]
    assert fr.decode_symbols(bad, conf) == (77, 88)  # the 4 weakest bytes erased


def test_random_words_are_rejected(rng: np.random.Generator) -> None:
    # 20000 random candidates, each with soft information: the computed bound is ~5e-10 per
    # candidate, so any acceptance here would reveal a broken check
    accepted = 0
    for _ in range(20000):
        sym = rng.integers(0, 32, size=20)
        accepted += fr.decode_symbols(sym, rng.random(20)) is not None
    assert accepted == 0


def test_chase_decoding_with_runner_up_values() -> None:
    sym = fr.encode_payload(77, 88)
    bad = sym.copy()
    bad[[0, 1, 2]] ^= 0b10101  # sent slots 0, 1, 2 carry bits of bytes 0-4: 5 byte errors
    conf = np.ones(20)
    conf[[0, 1, 2]] = 0.01
    assert fr.decode_symbols(bad, conf) is None  # beyond errors and the erasure budget
    runner_up = sym.copy()  # the true values came second
    assert fr.decode_symbols(bad, conf, second=runner_up) == (77, 88)
    assert fr.decode_symbols(bad, conf, second=runner_up, chase=0) is None


def test_random_words_with_runner_ups_are_rejected(rng: np.random.Generator) -> None:
    # 63 extra errors-only attempts per candidate: bound ~1.3e-8 per candidate (README)
    accepted = 0
    for _ in range(1000):
        accepted += fr.decode_symbols(rng.integers(0, 32, size=20), rng.random(20),
                                      second=rng.integers(0, 32, size=20)) is not None
    assert accepted == 0
