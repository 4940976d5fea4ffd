/**
 * Named signal profiles (the tone plan of each trigger band), mirroring trigger_codec.profiles
 * and trigger_codec.modem. A frame is 20 ms (sampleRate / 50 samples), so DFT bins are 50 Hz
 * apart and every tone sits on a bin centre; one symbol lasts one frame.
 * @module
 */
import { ParameterError } from "./errors.mjs";

/** Symbol / analysis frame duration, s. */
export const FRAME_S = 0.02;
/** DFT bin spacing of the frame grid, Hz. */
export const BIN_HZ = 50;
/** Known tones that open every trigger (sync). */
export const PREAMBLE_SYMBOLS = 3;
/** Bits per 32-FSK data symbol. */
export const BITS_PER_SYMBOL = 5;
export const N_VALUES = 1 << BITS_PER_SYMBOL;
export const DATA_SYMBOLS = 20;
export const N_SYMBOLS = PREAMBLE_SYMBOLS + DATA_SYMBOLS;
/** Length of the encoder's band-pass FIR, s. */
export const FILTER_S = 0.02;
/** Symbol 0 starts this long after the waveform's first sample (the FIR's group delay), s. */
export const LEAD_S = FILTER_S / 2;
const HOP_STEP = 13;

/**
 * @typedef {object} Profile
 * @property {string} name "hf" or "robust"
 * @property {number} fLoHz lower band edge, Hz
 * @property {number} fHiHz upper band edge, Hz
 * @property {number} firstBin bin (x 50 Hz) of the lowest tone
 * @property {number} nSlots number of tone positions
 */

/** @type {Readonly<Record<string, Profile>>} */
export const PROFILES = Object.freeze({
  hf: Object.freeze({ name: "hf", fLoHz: 17000, fHiHz: 19500, firstBin: 344, nSlots: 43 }),
  robust: Object.freeze({ name: "robust", fLoHz: 12500, fHiHz: 15500, firstBin: 256, nSlots: 49 }),
});

/**
 * Duration of one trigger, s (symbols plus the band-pass filter's tails); the same for both
 * profiles.
 * @returns {number}
 */
export function airtimeS() {
  return Math.round((N_SYMBOLS * FRAME_S + FILTER_S) * 1e6) / 1e6;
}

/**
 * Samples per 20 ms frame.
 * @param {number} sampleRate Hz, a positive multiple of 50
 * @returns {number}
 * @throws {ParameterError} unless the rate is a positive multiple of 50 Hz
 */
export function frameLength(sampleRate) {
  if (typeof sampleRate !== "number" || !Number.isInteger(sampleRate) || sampleRate <= 0 ||
      sampleRate % BIN_HZ !== 0) {
    throw new ParameterError(
      `sample rate ${String(sampleRate)} Hz is not supported: it must be a positive multiple of ` +
      `${BIN_HZ} Hz so tones sit on DFT bins; use 44100 or 48000 Hz`);
  }
  return sampleRate / BIN_HZ;
}

/**
 * Slots (0..nSlots-1) of the preamble's tones.
 * @param {Profile} profile
 * @returns {number[]} length 3
 */
export function preambleSlots(profile) {
  const n = profile.nSlots;
  return [1, n - 2, Math.floor(n / 2), Math.floor(n / 2) + 7].slice(0, PREAMBLE_SYMBOLS);
}

/**
 * Slot of value v in data symbol i: dataSlots(p)[i][v].
 * @param {Profile} profile
 * @returns {number[][]} shape (20, 32)
 */
export function dataSlots(profile) {
  const out = [];
  for (let i = 0; i < DATA_SYMBOLS; i++) {
    const hop = (i * HOP_STEP) % profile.nSlots;
    const row = [];
    for (let v = 0; v < N_VALUES; v++) row.push((v + hop) % profile.nSlots);
    out.push(row);
  }
  return out;
}
