import { test } from "node:test";
import assert from "node:assert/strict";
import { convEncode, hardWord, iterListViterbi, viterbi } from "../fec.mjs";
import { ParameterError } from "../errors.mjs";

/** @param {ArrayLike<number>} code @param {number} [amp] */
function llrOf(code, amp = 1) {
  return Float64Array.from(code, (c) => (c ? -amp : amp));
}
/** @param {ArrayLike<number>} bits @param {Float64Array} llr */
function wordMetric(bits, llr) {
  const c = convEncode(bits);
  let m = 0;
  for (let i = 0; i < c.length; i++) m += (1 - 2 * c[i]) * llr[i];
  return m;
}

test("Viterbi decodes a clean word and corrects scattered errors", () => {
  const bits = Array.from({ length: 48 }, (_, i) => ((i * 37) >> 2) & 1);
  const llr = llrOf(convEncode(bits));
  assert.deepEqual([...viterbi(llr).bits], bits);
  assert.deepEqual([.../** @type {Uint8Array} */ (hardWord(llr))], bits);
  for (const i of [3, 40, 77]) llr[i] = -llr[i];
  assert.equal(hardWord(llr), null);
  assert.deepEqual([...viterbi(llr).bits], bits);
});

test("list Viterbi: best first, distinct words, metrics as claimed; second is the exact runner-up", () => {
  // k = 8 information bits: all 256 words can be listed by brute force
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let trial = 0; trial < 20; trial++) {
    const llr = Float64Array.from({ length: 28 }, () => rand() * 4 - 2);
    const all = [];
    for (let w = 0; w < 256; w++) {
      const bits = Array.from({ length: 8 }, (_, i) => (w >> (7 - i)) & 1);
      all.push(wordMetric(bits, llr));
    }
    all.sort((a, b) => b - a);
    const list = [...iterListViterbi(llr, 8)];
    assert.ok(Math.abs(list[0].metric - all[0]) < 1e-9);
    assert.ok(Math.abs(list[1].metric - all[1]) < 1e-9);
    const seen = new Set();
    for (let i = 0; i < list.length; i++) {
      assert.ok(Math.abs(list[i].metric - wordMetric(list[i].bits, llr)) < 1e-9);
      if (i) assert.ok(list[i].metric <= list[i - 1].metric + 1e-12);
      seen.add(list[i].bits.join(""));
    }
    assert.equal(seen.size, list.length);
  }
  assert.throws(() => iterListViterbi(new Float64Array(28), 0).next(), ParameterError);
});
