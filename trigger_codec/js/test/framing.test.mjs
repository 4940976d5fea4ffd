import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PUNCTURED, bitLlrs, checkTerms, codeBits, crc16, decodeSoft, encodePayload, fromSymbols, pack,
  toSymbols, unpack,
} from "../framing.mjs";
import { convEncode } from "../fec.mjs";
import { ParameterError } from "../errors.mjs";

/** A tiny deterministic PRNG (mulberry32) so the tests need no seed library. */
/** @param {number} seed */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("CRC-16/CCITT-FALSE check value, XOR the jimaku tag 0x5A3C", () => {
  const digits = [..."123456789"].map((c) => c.charCodeAt(0));
  assert.equal(crc16(digits), 0x29b1 ^ 0x5a3c);
  assert.equal(crc16([]), 0xffff ^ 0x5a3c);
});

test("pack/unpack: big-endian channel << 20 | seq, CRC rejects any flipped bit", () => {
  const m = pack(4095, 1048575);
  assert.deepEqual([...m.subarray(0, 4)], [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(unpack(m), [4095, 1048575]);
  assert.deepEqual(unpack(pack(7, 123456)), [7, 123456]);
  for (let bit = 0; bit < 48; bit++) {
    const bad = Uint8Array.from(m);
    bad[bit >> 3] ^= 0x80 >> (bit & 7);
    assert.equal(unpack(bad), null, `bit ${bit}`);
  }
  assert.throws(() => pack(4096, 0), ParameterError);
  assert.throws(() => pack(0, -1), ParameterError);
  assert.throws(() => pack(1.5, 0), ParameterError);
});

test("convolutional code matches an independent shift register (171, 133 octal)", () => {
  const r = rng(1);
  const bits = Array.from({ length: 48 }, () => (r() < 0.5 ? 1 : 0));
  let reg = 0; // bit 6 = newest input
  const expect = [];
  for (const u of [...bits, 0, 0, 0, 0, 0, 0]) {
    reg = ((reg >> 1) | (u << 6)) & 0x7f;
    for (const g of [0o171, 0o133]) {
      let p = 0;
      for (let x = reg & g; x; x >>= 1) p ^= x & 1;
      expect.push(p);
    }
  }
  assert.deepEqual([...convEncode(bits)], expect);
});

test("puncturing, interleaving and Gray map", () => {
  assert.deepEqual(PUNCTURED, [7, 21, 33, 47, 59, 73, 85, 99]);
  const cb = codeBits(pack(7, 123456));
  assert.equal(cb.length, 100);
  const sym = toSymbols(cb);
  assert.equal(sym.length, 20);
  assert.deepEqual([...fromSymbols(sym)], [...cb]);
  assert.deepEqual([...encodePayload(7, 123456)], [...sym]);
  // stream symbol 1 (bits 1, 21, 41, 61, 81) is sent in slot 7, Gray-mapped
  const w = (cb[1] << 4) | (cb[21] << 3) | (cb[41] << 2) | (cb[61] << 1) | cb[81];
  assert.equal(sym[7] ^ (sym[7] >> 1), w);
});

test("bit LLRs of a clean metric carry the code bits (max-log and log-sum-exp)", () => {
  const sym = encodePayload(99, 4242);
  const metric = Array.from(sym, (t) => Float64Array.from({ length: 32 }, (_, v) => (v === t ? 3 : 0)));
  const cb = codeBits(pack(99, 4242));
  for (const sharp of [null, 2.0]) {
    const llr = bitLlrs(metric, sharp);
    for (let i = 0; i < 100; i++) assert.equal(llr[i] < 0 ? 1 : 0, cb[i], `bit ${i}`);
  }
});

test("check terms: trimmed reference, clipped at 12, scale floor", () => {
  const row = new Float64Array(32).fill(1);
  row[5] = 4; // sqrt 2, the rest sqrt 1: std of the reference is 0, floor 0.3 * mean
  const mean = (31 + 2) / 32;
  const [z] = checkTerms([row], [5]);
  assert.ok(Math.abs(z - (2 - 1) / (0.3 * mean)) < 1e-9);
  row[5] = 1e6;
  assert.equal(checkTerms([row], [5])[0], 12);
});

test("decodeSoft: a clean word decodes, a noisy one is rejected by the check", () => {
  const sym = encodePayload(1234, 567890);
  const e = Array.from(sym, (t) => Float64Array.from({ length: 32 }, (_, v) => (v === t ? 50 : 1)));
  const metric = e.map((row) => row.map((v) => Math.log(v + 0.1)));
  const sd = decodeSoft(metric, e);
  assert.deepEqual(sd.found, [1234, 567890]);
  assert.equal(sd.rank, 0);
  assert.ok(sd.z > 3.8);
  const r = rng(7);
  let accepted = 0;
  for (let k = 0; k < 200; k++) {
    const noise = Array.from({ length: 20 }, () => Float64Array.from({ length: 32 }, () => -Math.log(1 - r())));
    if (decodeSoft(noise.map((row) => row.map((v) => Math.log(v + 0.1))), noise).found) accepted++;
  }
  assert.equal(accepted, 0);
});
