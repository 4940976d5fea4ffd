// What band the microphone really passes: the noise floor at probe frequencies (Goertzel, Hann
// window) against the floor at 1-4 kHz. Some phones and browsers low-pass the microphone (voice
// processing at 16 or 24 kHz); then the trigger bands never arrive and the page must say so.
// Pure: no DOM, no audio API (runs in the decoder's worker; tested under node).

/** Probe frequencies, Hz: a reference range, the robust profile's band and the hf one. */
export const PROBES_HZ = [1000, 2000, 3000, 4000, 6000, 8000, 10000, 11000, 12000, 12500, 13500,
  14500, 15500, 16000, 17000, 17500, 18500, 19500];
const REF = [1000, 2000, 3000, 4000];
const ROBUST = [12500, 13500, 14500, 15500];
const HF = [17000, 17500, 18500, 19500];
/** A probe "passes" when its floor is within this of the reference floor... */
export const PASS_BELOW_REF_DB = 50;
/** ...and above this absolute floor (16-bit quantisation noise lies below it), dBFS per bin. */
export const PASS_ABS_DB = -115;
/** Below this reference floor the input is silent, not band-limited (no verdict). */
export const SILENT_REF_DB = -100;
const FRAME = 1024;

/**
 * @typedef {object} BandReport
 * @property {"ok"|"robust_only"|"none"|"silent"} verdict
 * @property {number} cutoffHz   highest probe frequency above 4 kHz passed without a gap
 * @property {number} refDb      floor at 1-4 kHz, dB
 * @property {number} robustDb   floor at 12.5-15.5 kHz, dB
 * @property {number} hfDb       floor at 17-19.5 kHz, dB
 * @property {number} seconds    audio analysed, s
 */

export class BandMeter {
  /**
   * @param {number} sampleRate  Hz (the AudioContext's own rate)
   * @param {number} [everyFrames]  analyse one frame of 1024 samples in this many (CPU)
   */
  constructor(sampleRate, everyFrames = 4) {
    this.sampleRate = sampleRate;
    this.every = everyFrames;
    this.probes = PROBES_HZ.filter((f) => f < 0.5 * sampleRate);
    this.coef = this.probes.map((f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate));
    this.window = new Float32Array(FRAME);
    for (let i = 0; i < FRAME; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FRAME);
    this.buf = new Float32Array(FRAME);
    this.fill = 0;
    this.frame = 0;
    /** @type {number[][]} per probe: dB of each analysed frame (last ~10 s) */
    this.history = this.probes.map(() => []);
    this.samples = 0;
  }

  /**
   * Feed samples (any block size).
   * @param {Float32Array} block  samples in [-1, 1], shape (n,)
   */
  feed(block) {
    this.samples += block.length;
    let i = 0;
    while (i < block.length) {
      const n = Math.min(FRAME - this.fill, block.length - i);
      this.buf.set(block.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      if (this.fill === FRAME) {
        this.fill = 0;
        if (this.frame++ % this.every === 0) this.analyse();
      }
    }
  }

  analyse() {
    const keep = Math.ceil((10 * this.sampleRate) / (FRAME * this.every));
    const x = this.buf;
    const w = this.window;
    for (let p = 0; p < this.probes.length; p++) {
      const c = this.coef[p];
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < FRAME; i++) {
        const s0 = x[i] * w[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const power = (s1 * s1 + s2 * s2 - c * s1 * s2) / ((FRAME * FRAME) / 4);
      const h = this.history[p];
      h.push(10 * Math.log10(power + 1e-30));
      if (h.length > keep) h.shift();
    }
  }

  /** @param {number} f */
  floor(f) {
    const h = this.history[this.probes.indexOf(f)];
    if (!h || !h.length) return -300;
    const s = h.slice().sort((a, b) => a - b);
    return s[Math.floor(0.2 * (s.length - 1))];
  }

  /** @param {number[]} fs */
  bandFloor(fs) {
    const v = fs.filter((f) => this.probes.includes(f)).map((f) => this.floor(f)).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : -300;
  }

  /**
   * The verdict so far (null before 2 s of audio).
   * @returns {BandReport|null}
   */
  report() {
    const seconds = this.samples / this.sampleRate;
    if (seconds < 2) return null;
    const refDb = this.bandFloor(REF);
    const robustDb = this.bandFloor(ROBUST);
    const hfDb = this.bandFloor(HF);
    const passes = (/** @type {number} */ db) => db > refDb - PASS_BELOW_REF_DB && db > PASS_ABS_DB;
    let cutoffHz = 4000;
    for (const f of this.probes) {
      if (f <= 4000) continue;
      if (!passes(this.floor(f))) break;
      cutoffHz = f;
    }
    /** @type {BandReport["verdict"]} */
    let verdict = "none";
    if (refDb < SILENT_REF_DB) verdict = "silent";
    else if (passes(hfDb)) verdict = "ok";
    else if (passes(robustDb)) verdict = "robust_only";
    return { verdict, cutoffHz, refDb, robustDb, hfDb, seconds };
  }
}
