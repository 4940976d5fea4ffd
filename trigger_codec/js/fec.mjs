/**
 * Convolutional code K = 7, rate 1/2 (generators 171, 133 octal) and its soft Viterbi decoder,
 * mirroring trigger_codec.fec: the encoder starts in state 0 and ends with 6 zero tail bits;
 * punctured bits get an LLR of 0. LLR convention: llr > 0 means the bit is more likely 0; the
 * decoder maximises sum((1 - 2 c) llr) over code words c (max-log maximum likelihood).
 * @module
 */
import { ParameterError } from "./errors.mjs";

export const CONSTRAINT = 7;
export const GENERATORS = [0o171, 0o133];
export const TAIL = CONSTRAINT - 1;
const N_STATES = 1 << TAIL;
const HALF = N_STATES >> 1;
/** Start metric of the unreachable states (finite, so metric margins stay finite). */
const UNREACHABLE = -1e30;
/** Margins at least this large involve an unreachable state. */
const REACHABLE_LIMIT = 1e29;

/** @param {number} x @returns {number} */
function parity(x) {
  let p = 0;
  while (x) {
    p ^= x & 1;
    x >>>= 1;
  }
  return p;
}

// register r = (u << 6) | state (state: the 6 previous inputs, most recent at bit 5); the next
// state is r >> 1. SIGN[2 r + j] is +1 for a 0 output bit j of register r, -1 for a 1.
const SIGN = new Float64Array(4 * N_STATES);
for (let r = 0; r < 2 * N_STATES; r++) {
  for (let j = 0; j < 2; j++) SIGN[2 * r + j] = 1 - 2 * parity(r & GENERATORS[j]);
}
/** Taps of each generator on u[t], u[t-1], ..., u[t-6]. */
const TAPS = GENERATORS.map((g) => Array.from({ length: CONSTRAINT }, (_, i) => (g >> (TAIL - i)) & 1));

/**
 * Encode bits plus 6 zero tail bits.
 * @param {ArrayLike<number>} bits 0/1, length k
 * @returns {Uint8Array} length 2 (k + 6): the two outputs of each step interleaved
 */
export function convEncode(bits) {
  const steps = bits.length + TAIL;
  const out = new Uint8Array(2 * steps);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < 2; j++) {
      let acc = 0;
      for (let i = 0; i < CONSTRAINT; i++) {
        const s = t - i;
        if (s >= 0 && s < bits.length) acc ^= TAPS[j][i] & bits[s];
      }
      out[2 * t + j] = acc;
    }
  }
  return out;
}

/** Power series of 1 / g0(D) over GF(2), per length (u = a / g0 for the first stream a). */
const divisionCache = new Map();
/** @param {number} steps @returns {Uint8Array} */
function divisionSeries(steps) {
  let h = divisionCache.get(steps);
  if (!h) {
    h = new Uint8Array(steps);
    for (let t = 0; t < steps; t++) {
      let acc = t === 0 ? 1 : 0;
      for (let i = 1; i <= Math.min(t, CONSTRAINT - 1); i++) acc ^= TAPS[0][i] & h[t - i];
      h[t] = acc;
    }
    divisionCache.set(steps, h);
  }
  return h;
}

/**
 * The Viterbi word without the trellis if the hard decisions are a code word, else null (as
 * trigger_codec.fec.hard_word: such a word attains sum |llr|, so it is the maximum-likelihood
 * word, the only one when the first output stream has no zero LLR).
 * @param {Float64Array} llr length 2 (k + 6)
 * @returns {Uint8Array | null} the k information bits
 */
export function hardWord(llr) {
  const steps = llr.length >> 1;
  for (let t = 0; t < steps; t++) if (llr[2 * t] === 0) return null;
  const h = divisionSeries(steps);
  const u = new Uint8Array(steps);
  for (let t = 0; t < steps; t++) {
    let acc = 0;
    for (let s = 0; s <= t; s++) acc ^= h[t - s] & (llr[2 * s] < 0 ? 1 : 0);
    u[t] = acc;
  }
  for (let t = steps - TAIL; t < steps; t++) if (u[t]) return null;
  const info = u.slice(0, steps - TAIL);
  const code = convEncode(info);
  for (let i = 0; i < llr.length; i++) {
    if (llr[i] !== 0 && code[i] !== (llr[i] < 0 ? 1 : 0)) return null;
  }
  return info;
}

/**
 * Viterbi forward pass.
 * @param {Float64Array} llr
 * @param {boolean} deltas also return every choice's metric margin
 * @returns {{choice: Uint8Array, delta: Float64Array | null, metric: number, steps: number}}
 *   choice[t * 64 + s]: low bit of the predecessor register of the survivor into state s after
 *   step t; delta the same cells' margins over the other predecessor
 */
function forward(llr, deltas) {
  const steps = llr.length >> 1;
  const choice = new Uint8Array(steps * N_STATES);
  const delta = deltas ? new Float64Array(steps * N_STATES) : null;
  let metric = new Float64Array(N_STATES).fill(UNREACHABLE);
  metric[0] = 0;
  let next = new Float64Array(N_STATES);
  for (let t = 0; t < steps; t++) {
    const l0 = llr[2 * t];
    const l1 = llr[2 * t + 1];
    const base = t * N_STATES;
    for (let ns = 0; ns < N_STATES; ns++) {
      const r0 = ns << 1;
      const r1 = r0 | 1;
      const c0 = metric[r0 & (N_STATES - 1)] + (SIGN[2 * r0] * l0 + SIGN[2 * r0 + 1] * l1);
      const c1 = metric[r1 & (N_STATES - 1)] + (SIGN[2 * r1] * l0 + SIGN[2 * r1 + 1] * l1);
      const pick = c1 > c0 ? 1 : 0;
      choice[base + ns] = pick;
      next[ns] = pick ? c1 : c0;
      if (delta) delta[base + ns] = Math.abs(c1 - c0);
    }
    const tmp = metric;
    metric = next;
    next = tmp;
  }
  return { choice, delta, metric: metric[0], steps };
}

/**
 * Input bits of steps 0..last of the survivor ending in `state` after step `last`.
 * @param {Uint8Array} choice
 * @param {number} state
 * @param {number} last
 * @param {boolean} flipFirst enter `state` from the losing predecessor
 * @returns {number[]}
 */
function traceback(choice, state, last, flipFirst = false) {
  const u = new Array(last + 1).fill(0);
  for (let t = last; t >= 0; t--) {
    u[t] = state >> (TAIL - 1);
    const c = choice[t * N_STATES + state] ^ (flipFirst && t === last ? 1 : 0);
    state = ((state & (HALF - 1)) << 1) | c;
  }
  return u;
}

/**
 * Maximum-likelihood decoding of a terminated code word.
 * @param {Float64Array} llr length 2 (k + 6), 0 for punctured bits
 * @returns {{bits: Uint8Array, metric: number}} the k information bits and the word's metric
 */
export function viterbi(llr) {
  const { choice, metric, steps } = forward(llr, false);
  const u = traceback(choice, 0, steps - 1);
  return { bits: Uint8Array.from(u.slice(0, steps - TAIL)), metric };
}

/**
 * The maximum-likelihood word, then its best single-detour alternatives (lazy), as
 * trigger_codec.fec.iter_list_viterbi: an alternative leaves the best path at one step through
 * the predecessor the Viterbi decision discarded there; listed by decreasing metric.
 * @param {Float64Array} llr length 2 (k + 6)
 * @param {number} size words at most (>= 1)
 * @returns {Generator<{bits: Uint8Array, metric: number}>}
 */
export function* iterListViterbi(llr, size) {
  if (!(size >= 1)) throw new ParameterError(`list size must be >= 1, got ${size}`);
  const hard = hardWord(llr);
  if (hard) {
    let sum = 0;
    for (let i = 0; i < llr.length; i++) sum += Math.abs(llr[i]);
    yield { bits: hard, metric: sum };
    if (size === 1) return;
  }
  const { choice, delta, metric, steps } = forward(llr, size > 1);
  const best = traceback(choice, 0, steps - 1);
  if (!hard) yield { bits: Uint8Array.from(best.slice(0, steps - TAIL)), metric };
  if (!delta) return;
  const regs = new Array(steps);
  const margin = new Array(steps);
  let state = 0;
  for (let t = 0; t < steps; t++) {
    state = (best[t] << (TAIL - 1)) | (state >> 1);
    regs[t] = state;
    margin[t] = delta[t * N_STATES + state];
  }
  // a stable sort by margin, as numpy's argsort(kind="stable")
  const order = Array.from({ length: steps }, (_, t) => t).sort((a, b) => margin[a] - margin[b] || a - b);
  for (const t of order.slice(0, size - 1)) {
    if (margin[t] >= REACHABLE_LIMIT) break;
    const u = traceback(choice, regs[t], t, true).concat(best.slice(t + 1));
    yield { bits: Uint8Array.from(u.slice(0, steps - TAIL)), metric: metric - margin[t] };
  }
}
