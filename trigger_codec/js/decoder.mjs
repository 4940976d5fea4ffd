/**
 * Streaming trigger decoder, the JavaScript twin of trigger_codec.decoder (same stages, same
 * constants, same acceptance: CRC, re-encoding z check at MIN_Z, band balance rule).
 *
 * Per 20 ms frame (n = sampleRate / 50 samples, hop n / 2: frame j starts at sample
 * floor(j n / 2), so frames never depend on how the stream is split into blocks):
 *
 * 1. DFT power P of the profiles' tone-slot bins: a mixed-radix real FFT of the frame (fft.mjs),
 *    Goertzel for odd n (dft.mjs).
 * 2. Per profile: E = P / (F + m) (F: per-bin exponential floor of past frames, 200 ms; m: the
 *    frame's mean power over the band), the share S = E / sum(E).
 * 3. Sync metric Y of the candidate starting at frame j: mean over the 3 preamble symbols of S
 *    of the known tone in frame j + 2k. Candidates >= SYNC_MEAN, or >= SYNC_LOW and a local
 *    maximum whose data frames hold concentrated tones, are decoded at phases 0, -1, +1 (by
 *    sync), and -2 after a near miss; not if the band's upper half is empty (balance rule), if
 *    a rival preamble 3-40 hops before / 6-40 after is stronger, or inside a reported airing.
 * 4. Soft demodulation, list Viterbi, CRC, re-encoding check (framing.mjs), retried on near
 *    misses with a second metric, log-sum-exp bits, and frames half a hop later.
 * 5. The same ID of a profile within 15 hops of a previous start is reported once.
 *
 * Unlike the Python decoder, which analyses frames in batches, a candidate is evaluated as soon
 * as its last frame is in (its decisions depend only on the frames, not on the batch). Memory is
 * bounded: a ring of the last RING frames and a sample buffer of ~0.6 s plus one block.
 * @module
 */
import { AudioFormatError, ParameterError } from "./errors.mjs";
import { BandDft } from "./dft.mjs";
import { RealBandFft } from "./fft.mjs";
import { decodeSoft, encodePayload } from "./framing.mjs";
import {
  BIN_HZ, DATA_SYMBOLS, LEAD_S, N_SYMBOLS, N_VALUES, PREAMBLE_SYMBOLS, PROFILES, airtimeS,
  dataSlots, frameLength, preambleSlots,
} from "./profiles.mjs";

export const SYNC_MEAN = 0.1;
export const SYNC_LOW = 0.06;
export const SYNC_DATA = 0.12;
const RIVAL_BEFORE = 3;
const RIVAL_AFTER = 6;
const RIVAL_LAST = 40;
const RIVAL_MARGIN = 1.5;
const SPAN = 2 * (N_SYMBOLS - 1) + 1;
const CAND_LAG = 3;
const PRE_SPAN = 2 * (PREAMBLE_SYMBOLS - 1);
const FLOOR_FRAMES = 20;
const DEDUP_FRAMES = 15;
const AIRING_FRAMES = 2 * N_SYMBOLS;
const TAIL_LAGS = [2, 3, 4, 5, 6, 7, 8];
const TAIL_WEIGHTS = TAIL_LAGS.map((_, i) => 0.5 ** i);
/** Decoding metrics log(E[j] + wn E[j + 1] + wp E[j - 1] + 0.1) as [wn, wp]. */
const METRICS = [[0.4, 0.0], [0.7, 0.2]];
const RETRY_Z = 2.5;
const HALF_Z = 2.5;
/** Decoding stages: [metric index, bit sharpness (null: max-log)]. */
/** @type {[number, number | null][]} */
const STAGES = [[0, null], [1, null], [0, 2.0], [1, 2.0]];
const PHASES = [0, -1, 1];
const NEAR_MISS_PHASE = -2;
const DEAD_FLOOR = 0.5;
const MIN_BALANCE = 0.25;
const KEEP_HOPS = 8;
const CHECK_TAIL = 0.25;
const CHECK_MEAN = 4.0;
const TINY = 1e-20;
/** Frames kept in the ring: a candidate needs frames c - 45 .. c + 47. */
const RING = 128;
const MASK = RING - 1;

/**
 * One decoded trigger (trigger_codec.Detection).
 * @typedef {object} Detection
 * @property {number} channel 0..4095
 * @property {number} seq 0..1048575
 * @property {string} profile "hf" or "robust"
 * @property {number} startS time of the trigger waveform's first sample, s from the first
 *   sample fed
 * @property {number} endS startS + airtime (0.48 s)
 * @property {number} snrDb estimated in-band SNR, dB (one decimal)
 */

/**
 * @typedef {object} Band
 * @property {import("./profiles.mjs").Profile} profile
 * @property {number} index position among the decoder's bands
 * @property {number} offset first column of the band in the combined grid
 * @property {number} nSlots
 * @property {number[]} pre grid columns of the 3 preamble tones
 * @property {Int32Array} data grid columns of the data tones, 20 x 32 row-major
 */

/** @typedef {Float64Array[]} Mat rows of 32 */

/**
 * Streaming decoder listening for every profile that fits below Nyquist.
 *
 * Not for concurrent use from several streams; results do not depend on the block split.
 */
export class Decoder {
  /**
   * @param {{sampleRate: number, trace?: (event: Record<string, unknown>) => void}} options
   *   sampleRate in Hz, a multiple of 50 (44100, 48000); at 32000 only "robust" is heard, below
   *   that no profile fits. trace (diagnostics, tests): called with the events of
   *   trigger_codec/SPEC.md section 18.2 (sync_hit, rival, decode), in evaluation order; tracing
   *   never changes a detection.
   * @throws {ParameterError} unsupported sample rate
   */
  constructor({ sampleRate, trace }) {
    this.trace = trace ?? null;
    this.n = frameLength(sampleRate);
    this.sampleRate = sampleRate;
    this.lead = Math.round(LEAD_S * sampleRate);
    const fitting = Object.values(PROFILES).filter((p) => sampleRate / 2 > p.fHiHz);
    if (!fitting.length) {
      const lowest = Math.min(...Object.values(PROFILES).map((p) => p.fHiHz));
      throw new ParameterError(
        `sample rate ${sampleRate} Hz is too low for every trigger profile (the lowest band ends ` +
        `at ${lowest / 1000} kHz); record at 44100 or 48000 Hz`);
    }
    /** @type {Band[]} */
    this.bands = [];
    /** @type {number[]} */
    const bins = [];
    let off = 0;
    for (const p of fitting) {
      const ds = dataSlots(p);
      const data = new Int32Array(DATA_SYMBOLS * N_VALUES);
      for (let i = 0; i < DATA_SYMBOLS; i++) {
        for (let v = 0; v < N_VALUES; v++) data[i * N_VALUES + v] = ds[i][v] + off;
      }
      this.bands.push({
        profile: p, index: this.bands.length, offset: off, nSlots: p.nSlots,
        pre: preambleSlots(p).map((s) => s + off), data,
      });
      for (let k = 0; k < p.nSlots; k++) bins.push(p.firstBin + k);
      off += p.nSlots;
    }
    this.cols = off;
    this.dft = new BandDft(this.n, bins);
    // a whole-frame FFT per hop for even n (measured cheaper than Goertzel half frames at 44.1
    // and 48 kHz, benchmarks/bench_js_fft.mjs), Goertzel whole frames for odd n; both give the
    // same powers to ~1e-12 (test/fft.test.mjs)
    /** @type {RealBandFft | null} */
    this.fft = this.n % 2 === 0 ? new RealBandFft(this.n, bins) : null;
    // stream state, (re)initialised by reset()
    const cols = this.cols;
    this.buf = new Float32Array(0);
    this.bufStart = 0; // absolute index of buf[0]
    this.bufLen = 0;
    this.total = 0; // samples fed
    this.nextFrame = 0; // next frame to analyse
    // ring of the last RING frames: power, floor before the frame, share; sync metric per band
    this.P = new Float64Array(RING * cols);
    this.F = new Float64Array(RING * cols);
    this.S = new Float64Array(RING * cols);
    this.Y = new Float64Array(RING * this.bands.length);
    this.floor = new Float64Array(cols);
    /** @type {{name: string, channel: number, seq: number, frame: number}[]} */
    this.recent = [];
    /** @type {Map<string, Set<number>>} frames already decoded per profile */
    this.tried = new Map();
    this.reset();
  }

  /** Forget the stream: the next sample fed is sample 0 of a new one. */
  reset() {
    this.buf = new Float32Array(8 * this.n);
    this.bufStart = 0;
    this.bufLen = 0;
    this.total = 0;
    this.nextFrame = 0;
    for (const a of [this.P, this.F, this.S, this.Y, this.floor]) a.fill(0);
    this.recent = [];
    this.tried = new Map(this.bands.map((b) => [b.profile.name, new Set()]));
  }

  /** Samples fed since the start of the stream. */
  get position() {
    return this.total;
  }

  /**
   * Consume a block of mono samples; return the triggers completed in it.
   * @param {Float32Array | Float64Array | Int16Array | number[]} block floats in [-1, 1]
   *   (beyond accepted) or int16; any length
   * @returns {Detection[]} in order of start time
   * @throws {AudioFormatError} wrong type or NaN/Infinity samples (the block is not consumed)
   */
  feed(block) {
    const kind = checkBlock(block);
    if (!block.length) return [];
    this.append(block, kind);
    return this.process();
  }

  /**
   * End the stream: decode what is pending, then reset to a fresh stream.
   * @returns {Detection[]}
   */
  flush() {
    this.append(new Float32Array(this.n), "f");
    const dets = this.process();
    this.reset();
    return dets;
  }

  /**
   * @param {ArrayLike<number>} x validated samples
   * @param {string} kind "f" float32, "d" float64, "h" int16
   */
  append(x, kind) {
    const size = x.length;
    if (this.bufLen + size > this.buf.length) this.makeRoom(size);
    const b = this.buf;
    let at = this.bufLen;
    if (kind === "h") {
      for (let i = 0; i < size; i++) b[at++] = x[i] / 32768;
    } else if (kind === "d") {
      for (let i = 0; i < size; i++) b[at++] = Math.min(Math.max(x[i], -1e6), 1e6);
    } else {
      b.set(x, at);
    }
    this.bufLen += size;
    this.total += size;
  }

  /** @param {number} size samples about to be appended */
  makeRoom(size) {
    const nextCand = this.nextFrame - SPAN - CAND_LAG + 1;
    const keepFrame = Math.max(0, Math.min(this.nextFrame, nextCand) - KEEP_HOPS - 4);
    const keepFrom = Math.max(0, Math.floor((keepFrame * this.n) / 2) - this.n - this.bufStart);
    const keepLen = this.bufLen - keepFrom;
    if (2 * (keepLen + size) <= this.buf.length) {
      this.buf.copyWithin(0, keepFrom, this.bufLen);
    } else {
      const nb = new Float32Array(Math.max(2 * (keepLen + size), 8 * this.n));
      nb.set(this.buf.subarray(keepFrom, this.bufLen));
      this.buf = nb;
    }
    this.bufStart += keepFrom;
    this.bufLen = keepLen;
  }

  /** @returns {Detection[]} */
  process() {
    const n = this.n;
    const end = this.bufStart + this.bufLen;
    /** @type {Detection[]} */
    const out = [];
    while (Math.floor((this.nextFrame * n) / 2) + n <= end) {
      const f = this.nextFrame;
      this.frame(f);
      this.nextFrame = f + 1;
      if (f - PRE_SPAN >= 0) this.syncMetric(f - PRE_SPAN);
      const c = f - SPAN - CAND_LAG + 1;
      if (c >= 0) this.candidate(c, out);
    }
    out.sort((a, b) => a.startS - b.startS);
    return out;
  }

  /** @param {number} f analyse frame f into the ring */
  frame(f) {
    const n = this.n;
    const cols = this.cols;
    const row = (f & MASK) * cols;
    const P = this.P;
    const start = Math.floor((f * n) / 2) - this.bufStart;
    (this.fft ?? this.dft).framePower(this.buf, start, P.subarray(row, row + cols));
    const F = this.F;
    const S = this.S;
    const floor = this.floor;
    const a = 1 / FLOOR_FRAMES;
    for (let c = 0; c < cols; c++) {
      F[row + c] = floor[c];
      floor[c] = (1 - a) * floor[c] + a * P[row + c];
    }
    for (const b of this.bands) {
      const o = row + b.offset;
      let sumP = 0;
      for (let k = 0; k < b.nSlots; k++) sumP += P[o + k];
      const m = sumP / b.nSlots;
      let sumE = 0;
      for (let k = 0; k < b.nSlots; k++) {
        const e = P[o + k] / (m + F[o + k] + TINY);
        S[o + k] = e;
        sumE += e;
      }
      sumE += TINY;
      for (let k = 0; k < b.nSlots; k++) S[o + k] /= sumE;
    }
  }

  /** @param {number} j compute the sync metric of the candidate starting at frame j */
  syncMetric(j) {
    const cols = this.cols;
    for (const b of this.bands) {
      let acc = 0;
      for (let k = 0; k < PREAMBLE_SYMBOLS; k++) acc += this.S[((j + 2 * k) & MASK) * cols + b.pre[k]];
      this.Y[(j & MASK) * this.bands.length + b.index] = acc / PREAMBLE_SYMBOLS;
    }
  }

  /** @param {number} j @param {Band} b @returns {number} sync metric, 0 before the stream */
  y(j, b) {
    return j < 0 ? 0 : this.Y[(j & MASK) * this.bands.length + b.index];
  }

  /**
   * Evaluate the candidate starting at frame c (its frames up to c + 47 are in).
   * @param {number} c
   * @param {Detection[]} out
   */
  candidate(c, out) {
    for (const b of this.bands) {
      const sm = this.y(c, b);
      if (sm < SYNC_LOW) continue;
      if (sm < SYNC_MEAN) {
        let peak = true;
        for (let d = -2; d <= 2; d++) if (this.y(c + d, b) > sm) peak = false;
        if (!peak || this.concentration(b, c) < SYNC_DATA) continue;
      }
      const order = PHASES.map((d, i) => ({ d, i, s: this.y(c + d, b) }))
        .sort((p, q) => q.s - p.s || p.i - q.i).map((p) => p.d);
      const inAiring = this.frameInAiring(b, c);
      if (this.trace) {
        this.trace({
          kind: "sync_hit", frame: c, profile: b.profile.name, y: sm, tier: sm >= SYNC_MEAN ? 1 : 2,
          in_airing: inAiring, balance: this.balance(b, c), phase_order: order,
        });
      }
      if (inAiring) continue;
      if (this.balance(b, c) < MIN_BALANCE) continue;
      const tried = /** @type {Set<number>} */ (this.tried.get(b.profile.name));
      for (const f of tried) if (f < c - 4 * DEDUP_FRAMES) tried.delete(f);
      let near = false;
      for (const d of [...order, NEAR_MISS_PHASE]) {
        if (d === NEAR_MISS_PHASE && !near) break;
        const row = c + d;
        if (row < 0 || tried.has(row)) continue;
        tried.add(row);
        const [det, vz] = this.demodulate(b, row);
        if (det) {
          out.push(det);
          break;
        }
        near = near || vz >= RETRY_Z;
      }
    }
  }

  /** Mean over the data symbols of the largest share among its 32 tones. @param {Band} b @param {number} c */
  concentration(b, c) {
    let acc = 0;
    for (let i = 0; i < DATA_SYMBOLS; i++) {
      const r = ((c + 2 * (PREAMBLE_SYMBOLS + i)) & MASK) * this.cols;
      let top = -Infinity;
      for (let v = 0; v < N_VALUES; v++) top = Math.max(top, this.S[r + b.data[i * N_VALUES + v]]);
      acc += top;
    }
    return acc / DATA_SYMBOLS;
  }

  /** Upper half of the band's power over the lower half's, over the 23 symbol frames. @param {Band} b @param {number} c */
  balance(b, c) {
    const half = b.nSlots >> 1;
    let lower = 0;
    let upper = 0;
    for (let k = 0; k < N_SYMBOLS; k++) {
      const o = ((c + 2 * k) & MASK) * this.cols + b.offset;
      for (let s = 0; s < b.nSlots; s++) {
        if (s < half) lower += this.P[o + s];
        else upper += this.P[o + s];
      }
    }
    return upper / (lower + TINY);
  }

  /** @param {Band} b @param {number} frame @returns {boolean} */
  frameInAiring(b, frame) {
    const name = b.profile.name;
    return this.recent.some((r) => r.name === name && r.frame - DEDUP_FRAMES <= frame &&
      frame < r.frame + AIRING_FRAMES);
  }

  /** Whether a candidate 3-40 hops before or 6-40 after `row` has a stronger preamble. @param {Band} b @param {number} row */
  rivalPreamble(b, row) {
    const lo = Math.max(row - RIVAL_LAST, 0);
    const hi = row + RIVAL_LAST;
    let best = -Infinity;
    let nearMax = -Infinity;
    for (let f = lo; f <= hi; f++) {
      const off = f - row;
      const v = this.y(f, b);
      if (Math.abs(off) <= 2) nearMax = Math.max(nearMax, v);
      if ((off >= RIVAL_AFTER || off <= -RIVAL_BEFORE) && !this.frameInAiring(b, f)) best = Math.max(best, v);
    }
    if (best === -Infinity || nearMax === -Infinity) return false;
    return best >= SYNC_MEAN && best > RIVAL_MARGIN * nearMax;
  }

  /**
   * Weight of the band mean in each data candidate's check denominator (20 x 32).
   * @param {Band} b @param {number} row
   * @returns {Mat}
   */
  floorShape(b, row) {
    const o = (row & MASK) * this.cols;
    let mean = 0;
    for (let s = 0; s < b.nSlots; s++) mean += this.F[o + b.offset + s];
    mean /= b.nSlots;
    const out = [];
    for (let i = 0; i < DATA_SYMBOLS; i++) {
      const w = new Float64Array(N_VALUES);
      for (let v = 0; v < N_VALUES; v++) {
        w[v] = Math.min(this.F[o + b.data[i * N_VALUES + v]] / (DEAD_FLOOR * mean + TINY), 1);
      }
      out.push(w);
    }
    return out;
  }

  /**
   * E' = P / (R/2 + F + m) of every row; Ec = P / (R/4 + F + 4 w m) of the aligned rows.
   * @param {Band} b @param {number} row
   * @param {Mat} P @param {Mat} R @param {Mat} F @param {number[]} m
   * @param {number} a0 first aligned row (20 rows)
   * @returns {[Mat, Mat]}
   */
  normalise(b, row, P, R, F, m, a0) {
    const E = P.map((p, s) => p.map((v, c) => v / (0.5 * R[s][c] + F[s][c] + m[s] + TINY)));
    const w = this.floorShape(b, row);
    const Ec = [];
    for (let i = 0; i < DATA_SYMBOLS; i++) {
      const s = a0 + i;
      Ec.push(P[s].map((v, c) => v / (CHECK_TAIL * R[s][c] + F[s][c] + CHECK_MEAN * m[s] * w[i][c] + TINY)));
    }
    return [E, Ec];
  }

  /**
   * Energies of the 20 data symbols' tones at the given hop offsets, and the check energies.
   * @param {Band} b @param {number} row @param {number[]} hops (hops[0] must be 0 for Ec)
   * @returns {[Mat[], Mat]}
   */
  energies(b, row, hops) {
    const cols = this.cols;
    /** @type {Mat} */
    const P = [];
    /** @type {Mat} */
    const R = [];
    /** @type {Mat} */
    const F = [];
    /** @type {number[]} */
    const m = [];
    for (const h of hops) {
      for (let i = 0; i < DATA_SYMBOLS; i++) {
        const fr = row + h + 2 * (PREAMBLE_SYMBOLS + i);
        const o = (fr & MASK) * cols;
        const p = new Float64Array(N_VALUES);
        const r = new Float64Array(N_VALUES);
        const fl = new Float64Array(N_VALUES);
        for (let v = 0; v < N_VALUES; v++) {
          const col = b.data[i * N_VALUES + v];
          p[v] = this.P[o + col];
          fl[v] = this.F[o + col];
          let acc = 0;
          for (let l = 0; l < TAIL_LAGS.length; l++) {
            acc += TAIL_WEIGHTS[l] * this.P[(Math.max(fr - TAIL_LAGS[l], 0) & MASK) * cols + col];
          }
          r[v] = acc;
        }
        let sum = 0;
        for (let s = 0; s < b.nSlots; s++) sum += this.P[o + b.offset + s];
        P.push(p);
        R.push(r);
        F.push(fl);
        m.push(sum / b.nSlots);
      }
    }
    const [E, Ec] = this.normalise(b, row, P, R, F, m, 0);
    const out = hops.map((_, k) => E.slice(k * DATA_SYMBOLS, (k + 1) * DATA_SYMBOLS));
    return [out, Ec];
  }

  /**
   * Energies at hops (0, 1, -1) of the frames a quarter frame later, from the kept samples.
   * @param {Band} b @param {number} row
   * @returns {[Mat[], Mat] | null} null if the samples are not buffered (stream start)
   */
  halfEnergies(b, row) {
    const n = this.n;
    const q0 = row - 3;
    const q1 = row + 2 * N_SYMBOLS;
    const first = Math.floor((q0 * n) / 2) + Math.floor(n / 4);
    const last = Math.floor(((q1 - 1) * n) / 2) + Math.floor(n / 4);
    if (first < this.bufStart || last + n > this.bufStart + this.bufLen) return null;
    /** @type {Float64Array[]} */
    const HP = [];
    for (let q = q0; q < q1; q++) {
      const p = new Float64Array(b.nSlots);
      const start = Math.floor((q * n) / 2) + Math.floor(n / 4) - this.bufStart;
      (this.fft ?? this.dft).framePower(this.buf, start, p, b.offset, b.offset + b.nSlots);
      HP.push(p);
    }
    const cols = this.cols;
    const P = [];
    const R = [];
    const F = [];
    const m = [];
    for (const h of [-1, 0, 1]) {
      for (let i = 0; i < DATA_SYMBOLS; i++) {
        const idx = h + 2 * (PREAMBLE_SYMBOLS + i) + 3;
        const fo = ((row - 3 + idx) & MASK) * cols;
        const p = new Float64Array(N_VALUES);
        const r = new Float64Array(N_VALUES);
        const fl = new Float64Array(N_VALUES);
        for (let v = 0; v < N_VALUES; v++) {
          const col = b.data[i * N_VALUES + v];
          const lc = col - b.offset;
          p[v] = HP[idx][lc];
          fl[v] = this.F[fo + col];
          let acc = 0;
          for (let l = 0; l < TAIL_LAGS.length; l++) acc += TAIL_WEIGHTS[l] * HP[idx - TAIL_LAGS[l]][lc];
          r[v] = acc;
        }
        let sum = 0;
        for (let s = 0; s < b.nSlots; s++) sum += HP[idx][s];
        P.push(p);
        R.push(r);
        F.push(fl);
        m.push(sum / b.nSlots);
      }
    }
    const [E, Ec] = this.normalise(b, row, P, R, F, m, DATA_SYMBOLS);
    const byHop = [0, 1, 2].map((k) => E.slice(k * DATA_SYMBOLS, (k + 1) * DATA_SYMBOLS));
    return [[byHop[1], byHop[2], byHop[0]], Ec];
  }

  /**
   * Decode from energies at hops (0, 1[, -1]) and the check energies, stage by stage.
   * @param {Mat[]} E @param {Mat} Ec
   * @param {[Band, number] | null} prev computes hop -1 when a stage needs it
   * @param {{band: Band, row: number, frames: string} | null} at the attempt, for the trace
   * @returns {[[number, number] | null, number]} (ID or null, the first stage's Viterbi z)
   */
  decode(E, Ec, prev = null, at = null) {
    let vz = NaN;
    /** @type {Map<number, Mat>} */
    const metrics = new Map();
    for (let k = 0; k < STAGES.length; k++) {
      const [mi, sharpness] = STAGES[k];
      let metric = metrics.get(mi);
      if (!metric) {
        const [wn, wp] = METRICS[mi];
        if (wp && E.length < 3 && prev) E = [...E, this.energies(prev[0], prev[1], [-1])[0][0]];
        metric = E[0].map((e0, i) => e0.map((v, t) => Math.log(
          v + wn * E[1][i][t] + (wp ? wp * E[2][i][t] : 0) + 0.1)));
        metrics.set(mi, metric);
      }
      const sd = decodeSoft(metric, Ec, { viterbiZ: k === 0, sharpness });
      if (this.trace && at) {
        this.trace({
          kind: "decode", profile: at.band.profile.name, frame: at.row, frames: at.frames, stage: k,
          words_tried: sd.wordsTried, crc_ok: sd.crcOk, z: sd.z, viterbi_z: sd.viterbiZ,
          found: sd.found, metric: k < 2 ? metric : null, check_energies: k === 0 ? Ec : null,
          llr: sd.llr,
        });
      }
      if (k === 0) vz = sd.viterbiZ;
      if (sd.found || !(vz >= RETRY_Z)) return [sd.found, vz];
    }
    return [null, vz];
  }

  /**
   * Decode the candidate at frame `row`.
   * @param {Band} b @param {number} row
   * @returns {[Detection | null, number]} (detection or null, Viterbi-word z)
   */
  demodulate(b, row) {
    if (this.rivalPreamble(b, row)) {
      if (this.trace) this.trace({ kind: "rival", frame: row, profile: b.profile.name });
      return [null, NaN];
    }
    const [E, Ec] = this.energies(b, row, [0, 1]);
    const at = { band: b, row, frames: "regular" };
    const first = this.decode(E, Ec, [b, row], at);
    let found = first[0];
    const vz = first[1];
    if (!found && vz >= HALF_Z) {
      const half = this.halfEnergies(b, row);
      if (half) [found] = this.decode(half[0], half[1], null, { ...at, frames: "half" });
    }
    if (!found) return [null, vz];
    const [channel, seq] = found;
    const best = encodePayload(channel, seq);
    const name = b.profile.name;
    this.recent = this.recent.filter((r) => row - r.frame <= 4 * DEDUP_FRAMES);
    for (const r of this.recent) {
      if (r.name === name && r.channel === channel && r.seq === seq &&
          Math.abs(row - r.frame) <= DEDUP_FRAMES) return [null, vz];
    }
    this.recent.push({ name, channel, seq, frame: row });
    const phase = this.bestPhase(b, row, best);
    const startS = (Math.floor((phase * this.n) / 2) - this.lead) / this.sampleRate;
    const snrDb = this.snrDb(b, phase, best);
    return [{ channel, seq, profile: name, startS, endS: startS + airtimeS(), snrDb }, vz];
  }

  /** Grid columns of the 23 symbols' tones. @param {Band} b @param {Uint8Array} best @returns {number[]} */
  toneCols(b, best) {
    return [...b.pre, ...Array.from(best, (t, i) => b.data[i * N_VALUES + t])];
  }

  /** The phase (-1, 0, +1) with the larger mean tone share. @param {Band} b @param {number} row @param {Uint8Array} best */
  bestPhase(b, row, best) {
    const cols = this.toneCols(b, best);
    let top = -Infinity;
    let pick = 0;
    for (const d of [-1, 0, 1]) {
      if (row + d < 0) continue;
      let acc = 0;
      for (let k = 0; k < N_SYMBOLS; k++) acc += this.S[((row + d + 2 * k) & MASK) * this.cols + cols[k]];
      const score = acc / N_SYMBOLS;
      if (score >= top) {
        top = score;
        pick = d;
      }
    }
    return row + pick;
  }

  /** In-band SNR, dB: tone power over noise power across the band's slots. @param {Band} b @param {number} row @param {Uint8Array} best */
  snrDb(b, row, best) {
    const cols = this.toneCols(b, best);
    let tone = 0;
    for (let k = 0; k < N_SYMBOLS; k++) tone += this.P[((row + 2 * k) & MASK) * this.cols + cols[k]];
    tone /= N_SYMBOLS;
    const o = (row & MASK) * this.cols + b.offset;
    const fl = Float64Array.from(this.F.subarray(o, o + b.nSlots)).sort();
    const mid = fl.length >> 1;
    const median = fl.length % 2 ? fl[mid] : (fl[mid - 1] + fl[mid]) / 2;
    const noise = median + TINY;
    const sig = Math.max(tone - noise, TINY);
    const snr = 10 * Math.log10(sig / (b.nSlots * noise));
    return Math.round(Math.min(Math.max(snr, -30), 60) * 10) / 10;
  }
}

/**
 * Largest float sample magnitude accepted (24 dB above full scale): beyond it a block is not
 * audio (an int16-scale float, a units mistake) and would hold the noise floor up for seconds.
 * SPEC.md 5.1.
 */
const MAX_SAMPLE_ABS = 16;

/**
 * Validate a block; return its kind: "f" float32, "d" float64 or plain numbers, "h" int16.
 * @param {unknown} block
 * @returns {string}
 */
function checkBlock(block) {
  let kind;
  if (block instanceof Int16Array) return "h";
  if (block instanceof Float32Array) kind = "f";
  else if (block instanceof Float64Array || Array.isArray(block)) kind = "d";
  else {
    const what = block === null ? "null" : typeof block === "object" ? block.constructor.name : typeof block;
    throw new AudioFormatError(
      `block must be a Float32Array, Float64Array, Int16Array or array of numbers, got ${what}`);
  }
  const x = /** @type {ArrayLike<number>} */ (block);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) {
      throw new AudioFormatError(
        `block holds a non-finite sample (${String(v)} at index ${i}); the block was not ` +
        "consumed: replace NaN/Infinity and feed it again");
    }
    if (v > MAX_SAMPLE_ABS || v < -MAX_SAMPLE_ABS) {
      throw new AudioFormatError(
        `block holds a sample of ${v} at index ${i}, beyond +-${MAX_SAMPLE_ABS}: float audio is ` +
        "full scale at +-1 (int16 values as floats: divide by 32768); the block was not consumed");
    }
  }
  return kind;
}

export { BIN_HZ };
