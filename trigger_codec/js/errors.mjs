/**
 * Exceptions of the JavaScript trigger decoder, the same tree as trigger_codec.errors:
 *
 *     CodecError                 (base: catch this to catch everything the decoder throws)
 *     +-- ParameterError         a bad argument: sample rate not a multiple of 50 Hz or too low
 *     +-- AudioFormatError       audio of the wrong type, or holding NaN/Infinity
 *
 * A candidate that fails the CRC or the re-encoding check is "no trigger here", never an error.
 * @module
 */

export class CodecError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "CodecError";
  }
}

/** An argument is out of range or inconsistent (the message says which and what to do). */
export class ParameterError extends CodecError {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ParameterError";
  }
}

/** Audio input has the wrong type or holds non-finite samples. */
export class AudioFormatError extends CodecError {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "AudioFormatError";
  }
}
