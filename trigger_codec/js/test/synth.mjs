/**
 * Test signals: a trigger built from the tone plan (23 Tukey-tapered 20 ms tones on their bins,
 * without the encoder's band-pass FIR), and seeded white noise. The FIR only removes
 * out-of-band splatter, so the decoder must find these as it finds encode()'s output.
 */
import { encodePayload } from "../framing.mjs";
import { BIN_HZ, LEAD_S, N_SYMBOLS, PROFILES, dataSlots, preambleSlots } from "../profiles.mjs";

/** @param {number} seed */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Trigger waveform (0.48 s, peak 0.1) for channel/seq.
 * @param {number} channel @param {number} seq @param {number} sampleRate @param {string} [profile]
 */
export function trigger(channel, seq, sampleRate, profile = "hf") {
  const p = PROFILES[profile];
  const n = sampleRate / BIN_HZ;
  const values = encodePayload(channel, seq);
  const ds = dataSlots(p);
  const slots = [...preambleSlots(p), ...Array.from(values, (v, i) => ds[i][v])];
  const out = new Float32Array(Math.round(0.48 * sampleRate));
  const lead = Math.round(LEAD_S * sampleRate);
  const ramp = Math.round(0.125 * n);
  for (let k = 0; k < N_SYMBOLS; k++) {
    const f = (p.firstBin + slots[k]) * BIN_HZ;
    for (let t = 0; t < n; t++) {
      let w = 1;
      if (t < ramp) w = 0.5 * (1 - Math.cos((Math.PI * t) / ramp));
      else if (t >= n - ramp) w = 0.5 * (1 - Math.cos((Math.PI * (n - 1 - t)) / ramp));
      out[lead + k * n + t] = 0.1 * w * Math.sin((2 * Math.PI * f * t) / sampleRate);
    }
  }
  return out;
}

/**
 * Seconds of white noise at an RMS level, seeded.
 * @param {number} seconds @param {number} sampleRate @param {number} rms @param {number} seed
 */
export function noise(seconds, sampleRate, rms, seed) {
  const r = rng(seed);
  const out = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) out[i] = (r() + r() + r() - 1.5) * 2 * rms;
  return out;
}
