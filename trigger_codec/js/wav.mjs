/**
 * WAV (RIFF/WAVE) parsing for the decode CLI: PCM 8/16/24/32-bit and IEEE float 32/64-bit,
 * any channel count (mixed down to mono by the mean, as audio_io.mono does). No I/O here: the
 * caller passes the file's bytes.
 * @module
 */
import { AudioFormatError } from "./errors.mjs";

/**
 * @typedef {object} Wav
 * @property {number} sampleRate Hz
 * @property {number} channels in the file
 * @property {Float32Array} mono samples in [-1, 1], mixed down
 */

/**
 * Parse a WAV file's bytes.
 * @param {Uint8Array} bytes
 * @returns {Wav}
 * @throws {AudioFormatError} not a WAV file, or a sample format this reader does not handle
 */
export function parseWav(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  /** @param {number} at @returns {string} */
  const tag = (at) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new AudioFormatError("not a WAV file (no RIFF/WAVE header); convert it with ffmpeg -i IN OUT.wav");
  }
  let at = 12;
  /** @type {{format: number, channels: number, rate: number, bits: number, align: number} | null} */
  let fmt = null;
  /** @type {Uint8Array | null} */
  let data = null;
  while (at + 8 <= bytes.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16) throw new AudioFormatError("WAV fmt chunk is too short");
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // extensible
      fmt = {
        format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true),
        align: view.getUint16(body + 12, true), bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      // a streamed WAV may say 0 or 0xFFFFFFFF: take what is there
      data = bytes.subarray(body, Math.min(bytes.length, body + (size || bytes.length)));
      if (fmt) break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new AudioFormatError("WAV file has no fmt chunk");
  if (!data) throw new AudioFormatError("WAV file has no data chunk");
  const { format, channels, rate, bits } = fmt;
  const width = bits / 8;
  const ok = (format === 1 && [8, 16, 24, 32].includes(bits)) || (format === 3 && [32, 64].includes(bits));
  if (!ok || channels < 1) {
    throw new AudioFormatError(
      `unsupported WAV sample format (format tag ${format}, ${bits} bits, ${channels} channels); ` +
      "use 16-bit PCM or 32-bit float");
  }
  const frames = Math.floor(data.length / (width * channels));
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  /** @type {(offset: number) => number} */
  let read;
  if (format === 3) read = bits === 32 ? (o) => dv.getFloat32(o, true) : (o) => dv.getFloat64(o, true);
  else if (bits === 16) read = (o) => dv.getInt16(o, true) / 32768;
  else if (bits === 8) read = (o) => (dv.getUint8(o) - 128) / 128;
  else if (bits === 24) read = (o) => ((dv.getUint8(o) | (dv.getUint8(o + 1) << 8) | (dv.getInt8(o + 2) << 16))) / 8388608;
  else read = (o) => dv.getInt32(o, true) / 2147483648;
  const mono = new Float32Array(frames);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (le && ((format === 1 && bits === 16) || (format === 3 && bits === 32))) {
    // fast path: a typed view over an aligned copy of the samples
    const raw = new Uint8Array(data.subarray(0, frames * width * channels)).buffer;
    const v = bits === 16 ? new Int16Array(raw) : new Float32Array(raw);
    const scale = bits === 16 ? 1 / 32768 : 1;
    if (channels === 1) {
      for (let i = 0; i < frames; i++) mono[i] = v[i] * scale;
    } else {
      for (let i = 0, o = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) acc = Math.fround(acc + Math.fround(v[o++] * scale));
        mono[i] = Math.fround(acc / channels);
      }
    }
    return { sampleRate: rate, channels, mono };
  }
  const step = width * channels;
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc = Math.fround(acc + Math.fround(read(i * step + c * width)));
    mono[i] = channels === 1 ? acc : Math.fround(acc / channels);
  }
  return { sampleRate: rate, channels, mono };
}
