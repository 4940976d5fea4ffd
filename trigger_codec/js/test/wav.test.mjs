import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWav } from "../wav.mjs";
import { AudioFormatError } from "../errors.mjs";

/**
 * A WAV file's bytes; an odd-sized chunk before "data" puts the samples at an odd offset.
 * @param {number} format 1 PCM, 3 float @param {number} bits @param {number} channels
 * @param {number} rate @param {Uint8Array} samples
 */
function wav(format, bits, channels, rate, samples) {
  const extra = new Uint8Array([1, 2, 3]);
  const size = 12 + 24 + 8 + extra.length + 1 + 8 + samples.length;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  const tag = (/** @type {number} */ at, /** @type {string} */ s) => [...s].forEach((c, i) => { b[at + i] = c.charCodeAt(0); });
  tag(0, "RIFF"); v.setUint32(4, size - 8, true); tag(8, "WAVE");
  tag(12, "fmt "); v.setUint32(16, 16, true); v.setUint16(20, format, true); v.setUint16(22, channels, true);
  v.setUint32(24, rate, true); v.setUint32(28, (rate * channels * bits) / 8, true);
  v.setUint16(32, (channels * bits) / 8, true); v.setUint16(34, bits, true);
  tag(36, "LIST"); v.setUint32(40, extra.length, true); b.set(extra, 44);
  tag(48, "data"); v.setUint32(52, samples.length, true); b.set(samples, 56);
  return b;
}

test("16-bit stereo is mixed down by the mean; float32 and 24-bit mono read as is", () => {
  const s16 = new Uint8Array(new Int16Array([16384, -16384, 32767, 32767, -32768, 0]).buffer);
  const a = parseWav(wav(1, 16, 2, 48000, s16));
  assert.equal(a.sampleRate, 48000);
  assert.equal(a.channels, 2);
  assert.deepEqual(Array.from(a.mono), [0, 32767 / 32768, -0.5]);
  const f32 = new Float32Array([0.25, -1.5, 3e-5]);
  const b = parseWav(wav(3, 32, 1, 44100, new Uint8Array(f32.buffer)));
  assert.deepEqual(Array.from(b.mono), Array.from(f32));
  const s24 = new Uint8Array([0x00, 0x00, 0x40, 0xff, 0xff, 0xff]); // 0.5 and -1 / 2^23
  assert.deepEqual(Array.from(parseWav(wav(1, 24, 1, 8000, s24)).mono), [0.5, Math.fround(-1 / 8388608)]);
});

test("not a WAV, or a format it does not read: AudioFormatError with what to do", () => {
  assert.throws(() => parseWav(new Uint8Array([102, 76, 97, 67, 0, 0, 0, 0, 0, 0, 0, 0])), (e) => e instanceof AudioFormatError && /ffmpeg/.test(e.message));
  assert.throws(() => parseWav(wav(2, 4, 1, 8000, new Uint8Array(4))), (e) => e instanceof AudioFormatError && /16-bit PCM/.test(e.message));
});
