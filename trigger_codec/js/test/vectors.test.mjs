/**
 * trigger_codec/spec/vectors.json (SPEC.md section 18, made from the Python reference): the
 * frame (CRC, code bits, interleaving, tones, slots) and the decoder's detections, sync metric
 * and every traced sync hit, rival stop and decode attempt.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Decoder } from "../decoder.mjs";
import { codeBits, crc16, encodePayload, pack } from "../framing.mjs";
import { PROFILES, dataSlots, preambleSlots } from "../profiles.mjs";

const VECTORS = JSON.parse(readFileSync(new URL("../../spec/vectors.json", import.meta.url), "utf8"));
/** float32 FFT in the reference: values agree to ~1e-6 relative */
const REL = 1e-4;

/** @param {number} a @param {number} b @param {number} rel */
const close = (a, b, rel = REL) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
/** @param {ArrayLike<number>} bits @returns {string} */
const bitString = (bits) => Array.from(bits).join("");

test("encode vectors: word, CRC, message, code bits, tones, slots, bins", () => {
  assert.ok(VECTORS.encode.length >= 1);
  for (const v of VECTORS.encode) {
    const m = pack(v.channel, v.seq);
    const hex = Array.from(m, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(hex, v.message_hex);
    assert.equal(hex.slice(0, 8), v.word_hex);
    assert.equal(crc16(m.subarray(0, 4)).toString(16).padStart(4, "0"), v.crc16_hex);
    assert.equal(bitString(codeBits(m)), v.code_bits);
    const tones = encodePayload(v.channel, v.seq);
    assert.deepEqual(Array.from(tones), v.tones);
    const p = PROFILES[v.profile];
    const ds = dataSlots(p);
    const slots = [...preambleSlots(p), ...Array.from(tones, (t, i) => ds[i][t])];
    assert.deepEqual(slots, v.slots);
    assert.deepEqual(slots.map((s) => s + p.firstBin), v.bins);
    assert.equal(Math.round(0.01 * v.sample_rate), v.lead);
  }
});

/** @param {{pcm16le_b64: string}} v @returns {Int16Array} */
function pcm(v) {
  const bytes = Buffer.from(v.pcm16le_b64, "base64");
  const out = new Int16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}

/** @param {unknown} got @param {unknown} want @param {string} what */
function matClose(got, want, what) {
  const g = /** @type {ArrayLike<number>[]} */ (got);
  const w = /** @type {number[][]} */ (want);
  assert.equal(g.length, w.length, what);
  w.forEach((row, i) => row.forEach((x, j) => assert.ok(close(g[i][j], x), `${what}[${i}][${j}] ${g[i][j]} vs ${x}`)));
}

for (const v of VECTORS.decode) {
  test(`decode vector ${v.name}: detections, sync metric, trace`, () => {
    const x = pcm(v);
    assert.equal(x.length, v.n_samples);
    for (const block of [4096, 333]) {
      /** @type {Record<string, any>[]} */
      const trace = [];
      const dec = new Decoder({ sampleRate: v.sample_rate, trace: (e) => trace.push(e) });
      const dets = [];
      for (let i = 0; i < x.length; i += block) dets.push(...dec.feed(x.subarray(i, i + block)));
      if (block === 4096) {
        const y = v.sync_around_detection;
        for (const [name, s] of Object.entries(y)) {
          const b = dec.bands.find((bb) => bb.profile.name === name);
          s.y.forEach((/** @type {number} */ want, /** @type {number} */ i) => {
            const got = dec.y(s.from_frame + i, /** @type {any} */ (b));
            assert.ok(Math.abs(got - want) <= 1e-6 + REL * want, `Y ${name} frame ${s.from_frame + i}: ${got} vs ${want}`);
          });
        }
      }
      dets.push(...dec.flush());
      assert.deepEqual(dets.map((d) => [d.channel, d.seq, d.profile]),
        v.detections.map((/** @type {any} */ d) => [d.channel, d.seq, d.profile]), `block ${block}`);
      dets.forEach((d, i) => {
        const want = v.detections[i];
        assert.equal(Math.round(d.startS * v.sample_rate), want.start_sample);
        assert.ok(Math.abs(d.snrDb - want.snr_db) <= 0.11, `snr ${d.snrDb} vs ${want.snr_db}`);
      });
      assert.equal(trace.length, v.trace.length, `trace length, block ${block}`);
      v.trace.forEach((/** @type {Record<string, any>} */ want, /** @type {number} */ i) => {
        const got = trace[i];
        const what = `${v.name} trace[${i}] ${want.kind} frame ${want.frame}`;
        for (const key of ["kind", "frame", "profile"]) assert.equal(got[key], want[key], `${what}: ${key}`);
        if (want.kind === "sync_hit") {
          assert.equal(got.tier, want.tier, what);
          assert.equal(got.in_airing, want.in_airing, what);
          assert.deepEqual(got.phase_order, want.phase_order, what);
          assert.ok(close(got.y, want.y) && close(got.balance, want.balance), what);
        } else if (want.kind === "decode") {
          assert.equal(got.frames, want.frames, what);
          assert.equal(got.stage, want.stage, what);
          assert.deepEqual(got.words_tried, want.words_tried, what);
          assert.equal(got.crc_ok, want.crc_ok, what);
          assert.deepEqual(got.found, want.found, what);
          for (const key of ["z", "viterbi_z"]) {
            if (want[key] === null) assert.ok(Number.isNaN(got[key]), `${what}: ${key}`);
            else assert.ok(close(got[key], want[key], 1e-3), `${what}: ${key} ${got[key]} vs ${want[key]}`);
          }
          if (want.metric) matClose(got.metric, want.metric, `${what} metric`);
          if (want.check_energies) matClose(got.check_energies, want.check_energies, `${what} Ec`);
          want.llr.forEach((/** @type {number} */ l, /** @type {number} */ j) => assert.ok(close(got.llr[j], l, 1e-3), `${what} llr[${j}]`));
        }
      });
    }
  });
}
