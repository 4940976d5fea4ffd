/**
 * Payload framing, mirroring trigger_codec.framing: 32-bit ID (channel << 20 | seq) + CRC-16 ->
 * K = 7 convolutional code, 8 of 108 bits punctured -> 100 bits interleaved over 20 symbols of
 * 5 bits (Gray-mapped 32-FSK); soft decoding with CRC-aided list Viterbi and the re-encoding
 * (z) check whose threshold MIN_Z carries the false-accept bound.
 * @module
 */
import { ParameterError } from "./errors.mjs";
import { TAIL, convEncode, iterListViterbi } from "./fec.mjs";
import { BITS_PER_SYMBOL, DATA_SYMBOLS, N_VALUES } from "./profiles.mjs";

export const MAX_CHANNEL = 4095;
export const MAX_SEQ = 1048575;
export const N_MESSAGE_BYTES = 6;
export const N_MESSAGE_BITS = 8 * N_MESSAGE_BYTES;
export const N_CODE_BITS = DATA_SYMBOLS * BITS_PER_SYMBOL;
/** Re-encoding check threshold (trigger_codec.framing.MIN_Z). */
export const MIN_Z = 3.8;
export const CHECK_TRIM = 3;
export const CHECK_CLIP = 12.0;
export const CHECK_MIN_SCALE = 0.3;
/** Words tried per candidate (CRC-aided list decoding). */
export const LIST_SIZE = 8;
const CRC_TAG = 0x5a3c;
const MOTHER_BITS = 2 * (N_MESSAGE_BITS + TAIL);

/** Indices of the 8 punctured bits: 2 round(linspace(3, 49, 8)) + 1. */
export const PUNCTURED = Array.from({ length: 8 }, (_, i) => 2 * Math.round(3 + (i * 46) / 7) + 1);
const KEEP = Array.from({ length: MOTHER_BITS }, (_, i) => i).filter((i) => !PUNCTURED.includes(i));

/**
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) XOR the jimaku tag.
 * @param {ArrayLike<number>} data bytes
 * @returns {number}
 */
export function crc16(data) {
  let crc = 0xffff;
  for (let i = 0; i < data.length; i++) {
    crc ^= data[i] << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc ^ CRC_TAG;
}

/**
 * The 6 message bytes (ID + CRC).
 * @param {number} channel 0..4095
 * @param {number} seq 0..1048575
 * @returns {Uint8Array}
 */
export function pack(channel, seq) {
  for (const [name, value, top] of /** @type {[string, number, number][]} */ ([["channel", channel, MAX_CHANNEL], ["seq", seq, MAX_SEQ]])) {
    if (!Number.isInteger(value) || value < 0 || value > top) {
      throw new ParameterError(`${name}=${String(value)} is out of range; use 0..${top}`);
    }
  }
  const word = ((channel << 20) | seq) >>> 0;
  const body = [word >>> 24, (word >>> 16) & 255, (word >>> 8) & 255, word & 255];
  const crc = crc16(body);
  return Uint8Array.from([...body, crc >> 8, crc & 255]);
}

/**
 * (channel, seq) of 6 message bytes, or null if the CRC does not match.
 * @param {ArrayLike<number>} message
 * @returns {[number, number] | null}
 */
export function unpack(message) {
  if (message.length !== N_MESSAGE_BYTES) return null;
  const body = [message[0], message[1], message[2], message[3]];
  if (crc16(body) !== ((message[4] << 8) | message[5])) return null;
  const word = ((message[0] << 24) | (message[1] << 16) | (message[2] << 8) | message[3]) >>> 0;
  return [word >>> 20, word & MAX_SEQ];
}

/**
 * The 100 sent code bits of 6 message bytes.
 * @param {ArrayLike<number>} message
 * @returns {Uint8Array}
 */
export function codeBits(message) {
  const bits = new Uint8Array(8 * message.length);
  for (let i = 0; i < bits.length; i++) bits[i] = (message[i >> 3] >> (7 - (i & 7))) & 1;
  const mother = convEncode(bits);
  return Uint8Array.from(KEEP, (i) => mother[i]);
}

/** @param {number} t @returns {number} */
const gray = (t) => t ^ (t >> 1);
const TONE_OF_WORD = new Uint8Array(N_VALUES);
for (let t = 0; t < N_VALUES; t++) TONE_OF_WORD[gray(t)] = t;
/** Stream symbol k is sent in time slot (7 k) mod 20. */
const SLOT_OF_STREAM = Array.from({ length: DATA_SYMBOLS }, (_, k) => (k * 7) % DATA_SYMBOLS);
/** Per bit position (MSB first), the 16 tones whose bit is 0, and those whose bit is 1. */
const TONES_BIT = [0, 1].map((v) =>
  Array.from({ length: BITS_PER_SYMBOL }, (_, k) =>
    Array.from({ length: N_VALUES }, (_, t) => t).filter((t) => ((gray(t) >> (BITS_PER_SYMBOL - 1 - k)) & 1) === v)));

/**
 * Tone index (0..31) of each of the 20 data symbols, time order, for 100 code bits.
 * @param {ArrayLike<number>} bits
 * @returns {Uint8Array}
 */
export function toSymbols(bits) {
  const out = new Uint8Array(DATA_SYMBOLS);
  for (let s = 0; s < DATA_SYMBOLS; s++) {
    let w = 0;
    for (let k = 0; k < BITS_PER_SYMBOL; k++) w = (w << 1) | bits[k * DATA_SYMBOLS + s];
    out[SLOT_OF_STREAM[s]] = TONE_OF_WORD[w];
  }
  return out;
}

/**
 * Inverse of toSymbols: 20 tone indices -> 100 code bits.
 * @param {ArrayLike<number>} symbols
 * @returns {Uint8Array}
 */
export function fromSymbols(symbols) {
  const bits = new Uint8Array(N_CODE_BITS);
  for (let s = 0; s < DATA_SYMBOLS; s++) {
    const w = gray(symbols[SLOT_OF_STREAM[s]]);
    for (let k = 0; k < BITS_PER_SYMBOL; k++) bits[k * DATA_SYMBOLS + s] = (w >> (BITS_PER_SYMBOL - 1 - k)) & 1;
  }
  return bits;
}

/**
 * The 20 data symbols' tone indices for channel/seq.
 * @param {number} channel
 * @param {number} seq
 * @returns {Uint8Array}
 */
export function encodePayload(channel, seq) {
  return toSymbols(codeBits(pack(channel, seq)));
}

/**
 * LLRs of the 100 code bits from per-symbol tone metrics (max-log, or log-sum-exp with a
 * sharpness), in code-bit order.
 * @param {Float64Array[]} metric 20 rows (time order) of 32 tone log-likelihoods
 * @param {number | null} sharpness null: max-log
 * @returns {Float64Array} length 100
 */
export function bitLlrs(metric, sharpness = null) {
  const llr = new Float64Array(N_CODE_BITS);
  const a = sharpness ?? 1;
  for (let s = 0; s < DATA_SYMBOLS; s++) {
    const m = metric[SLOT_OF_STREAM[s]];
    for (let k = 0; k < BITS_PER_SYMBOL; k++) {
      const side = [0, 0];
      for (let v = 0; v < 2; v++) {
        const tones = TONES_BIT[v][k];
        let top = -Infinity;
        for (const t of tones) top = Math.max(top, a * m[t]);
        if (sharpness === null) {
          side[v] = top;
        } else {
          let acc = 0;
          for (const t of tones) acc += Math.exp(a * m[t] - top);
          side[v] = top + Math.log(acc);
        }
      }
      llr[k * DATA_SYMBOLS + s] = side[0] - side[1];
    }
  }
  return llr;
}

/**
 * Check value of each symbol's chosen tone (trigger_codec.framing.check_terms): sqrt of the
 * energies against the row without its 3 largest cells, scale floored at 0.3 x the row mean,
 * clipped at 12.
 * @param {Float64Array[]} energies rows of 32 normalised energies (>= 0)
 * @param {ArrayLike<number>} tones chosen tone per row
 * @returns {Float64Array}
 */
export function checkTerms(energies, tones) {
  const out = new Float64Array(energies.length);
  const x = new Float64Array(N_VALUES);
  for (let i = 0; i < energies.length; i++) {
    const e = energies[i];
    let total = 0;
    for (let t = 0; t < N_VALUES; t++) {
      x[t] = Math.sqrt(Math.max(e[t], 0));
      total += x[t];
    }
    const picked = x[tones[i]];
    const ref = Float64Array.from(x).sort().subarray(0, N_VALUES - CHECK_TRIM);
    let sum = 0;
    for (let t = 0; t < ref.length; t++) sum += ref[t];
    const mean = sum / ref.length;
    let dev = 0;
    for (let t = 0; t < ref.length; t++) dev += (ref[t] - mean) * (ref[t] - mean);
    const scale = Math.max(Math.sqrt(dev / ref.length), CHECK_MIN_SCALE * (total / N_VALUES));
    out[i] = Math.min((picked - mean) / (scale + 1e-12), CHECK_CLIP);
  }
  return out;
}

/** @param {Float64Array} a @returns {number} */
function mean(a) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/**
 * @typedef {object} SoftDecision
 * @property {[number, number] | null} found (channel, seq) if the CRC and the z check pass
 * @property {boolean} crcOk whether a word's CRC matched
 * @property {number} z mean check term of that word (NaN if no CRC matched)
 * @property {number} rank its position in the list (-1: none matched)
 * @property {number} viterbiZ z of the Viterbi word if asked for and no CRC matched, else NaN
 * @property {string[]} wordsTried the 6-byte words examined (hex), up to the CRC-valid one
 * @property {Float64Array} llr the 108 mother-code LLRs (0 at punctured bits)
 */

/**
 * Decode one candidate from its tone metrics (trigger_codec.framing.decode_soft): list Viterbi,
 * the first CRC-valid word, re-encoded and z-checked on the check energies.
 * @param {Float64Array[]} metric 20 x 32
 * @param {Float64Array[]} checkEnergies 20 x 32
 * @param {{minZ?: number, listSize?: number, viterbiZ?: boolean, sharpness?: number | null}} [opts]
 * @returns {SoftDecision}
 */
export function decodeSoft(metric, checkEnergies, opts = {}) {
  const { minZ = MIN_Z, listSize = LIST_SIZE, viterbiZ = false, sharpness = null } = opts;
  const llr = new Float64Array(MOTHER_BITS);
  const bl = bitLlrs(metric, sharpness);
  for (let i = 0; i < KEEP.length; i++) llr[KEEP[i]] = bl[i];
  /** @type {[number, number] | null} */
  let found = null;
  let rank = -1;
  /** @type {Uint8Array | null} */
  let first = null;
  /** @type {Uint8Array | null} */
  let message = null;
  /** @type {string[]} */
  const wordsTried = [];
  for (const { bits } of iterListViterbi(llr, listSize)) {
    rank += 1;
    message = new Uint8Array(N_MESSAGE_BYTES);
    for (let i = 0; i < N_MESSAGE_BITS; i++) message[i >> 3] |= bits[i] << (7 - (i & 7));
    wordsTried.push(Array.from(message, (b) => b.toString(16).padStart(2, "0")).join(""));
    first = first ?? message;
    found = unpack(message);
    if (found) break;
  }
  if (!found || !message) {
    const vz = viterbiZ && first ? mean(checkTerms(checkEnergies, toSymbols(codeBits(first)))) : NaN;
    return { found: null, crcOk: false, z: NaN, rank: -1, viterbiZ: vz, wordsTried, llr };
  }
  const z = mean(checkTerms(checkEnergies, toSymbols(codeBits(message))));
  return { found: z >= minZ ? found : null, crcOk: true, z, rank, viterbiZ: NaN, wordsTried, llr };
}
