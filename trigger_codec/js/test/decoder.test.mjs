import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Decoder } from "../decoder.mjs";
import { AudioFormatError, ParameterError } from "../errors.mjs";
import { parseWav } from "../wav.mjs";
import { noise, trigger } from "./synth.mjs";

const FIXTURES = fileURLToPath(new URL("../../../audio_fixtures/", import.meta.url));

/** @typedef {{channel: number, seq: number, profile: string, at: number}} Placed */

/**
 * Programme with triggers added at the given starts (s).
 * @param {number} sampleRate @param {number} seconds @param {Placed[]} placed @param {number} [seed]
 */
function programme(sampleRate, seconds, placed, seed = 1) {
  const x = noise(seconds, sampleRate, 0.001, seed);
  for (const { channel, seq, profile, at } of placed) {
    const w = trigger(channel, seq, sampleRate, profile);
    const s0 = Math.round(at * sampleRate);
    for (let i = 0; i < w.length; i++) x[s0 + i] += w[i];
  }
  return x;
}

/** @param {Float32Array} x @param {number} sampleRate @param {number} block */
function decodeAll(x, sampleRate, block) {
  const dec = new Decoder({ sampleRate });
  const out = [];
  for (let i = 0; i < x.length; i += block) out.push(...dec.feed(x.subarray(i, i + block)));
  out.push(...dec.flush());
  return out;
}

for (const sampleRate of [44100, 48000]) {
  test(`both profiles decode at ${sampleRate} Hz, independent of the block split`, () => {
    const placed = [
      { channel: 17, seq: 99999, profile: "hf", at: 0.3 },
      { channel: 4095, seq: 0, profile: "robust", at: 0.45 },
      { channel: 0, seq: 1048575, profile: "hf", at: 1.5 },
    ];
    const x = programme(sampleRate, 2.5, placed);
    const ref = decodeAll(x, sampleRate, 4096);
    assert.deepEqual(ref.map((d) => [d.profile, d.channel, d.seq]).sort(),
      placed.map((p) => [p.profile, p.channel, p.seq]).sort());
    for (const d of ref) {
      const p = /** @type {Placed} */ (placed.find((q) => q.channel === d.channel));
      assert.ok(Math.abs(d.startS - p.at) <= 0.011, `start ${d.startS} vs ${p.at}`);
      assert.ok(Math.abs(d.endS - d.startS - 0.48) < 1e-9);
      assert.ok(d.snrDb > 10, `snr ${d.snrDb}`);
    }
    for (const block of [1, 128, 441, 4097, x.length]) {
      assert.deepEqual(decodeAll(x, sampleRate, block), ref, `block ${block}`);
    }
  });
}

test("32 kHz hears only robust; rates below every band and off the 50 Hz grid are refused", () => {
  const x = programme(32000, 1.5, [
    { channel: 5, seq: 6, profile: "robust", at: 0.2 },
  ]);
  assert.deepEqual(decodeAll(x, 32000, 1000).map((d) => [d.profile, d.channel, d.seq]), [["robust", 5, 6]]);
  assert.throws(() => new Decoder({ sampleRate: 22050 }), (e) => e instanceof ParameterError && /too low/.test(e.message));
  assert.throws(() => new Decoder({ sampleRate: 44101 }), ParameterError);
});

test("trigger-free noise gives nothing; memory stays bounded over a long stream", () => {
  const dec = new Decoder({ sampleRate: 48000 });
  let found = 0;
  let maxBuf = 0;
  for (let s = 0; s < 60; s++) {
    const x = noise(1, 48000, 0.05, 100 + s);
    found += dec.feed(x).length;
    maxBuf = Math.max(maxBuf, dec.buf.length);
  }
  assert.equal(found + dec.flush().length, 0);
  assert.ok(maxBuf <= 4 * 48000, `sample buffer ${maxBuf}`);
});

test("bad blocks: one clear error, nothing consumed", () => {
  const dec = new Decoder({ sampleRate: 48000 });
  dec.feed(new Float32Array(100));
  const bad = new Float32Array(10);
  bad[3] = NaN;
  assert.throws(() => dec.feed(bad), (e) => e instanceof AudioFormatError && /index 3/.test(e.message));
  assert.throws(() => dec.feed(/** @type {any} */ ("abc")), AudioFormatError);
  const loud = new Float32Array(10);
  loud[7] = -16.5;
  assert.throws(() => dec.feed(loud), (e) => e instanceof AudioFormatError && /index 7/.test(e.message));
  loud[7] = -16;
  dec.feed(loud);
  assert.equal(dec.position, 110);
  assert.deepEqual(dec.feed(Int16Array.from([1000, -1000])), []);
  assert.equal(dec.position, 112);
});

test("stereo WAV fixture: both triggers at the manifest's times", () => {
  const manifest = JSON.parse(readFileSync(`${FIXTURES}manifest.json`, "utf8"));
  const entry = manifest.files.find((/** @type {{file: string}} */ f) => f.file === "stereo_hf_48k.wav");
  const wav = parseWav(readFileSync(`${FIXTURES}${entry.file}`));
  assert.equal(wav.channels, 2);
  const dets = decodeAll(wav.mono, wav.sampleRate, 128);
  assert.deepEqual(dets.map((d) => [d.profile, d.channel, d.seq]),
    entry.triggers.map((/** @type {Placed} */ t) => [t.profile, t.channel, t.seq]));
  dets.forEach((d, i) => assert.ok(Math.abs(d.startS - entry.triggers[i].start_s) <= 0.011));
});
