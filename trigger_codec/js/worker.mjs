/**
 * Web Worker entry of the JavaScript trigger decoder (a module worker:
 * `new Worker(new URL("./worker.mjs", import.meta.url), {type: "module"})`).
 *
 * Messages in:
 *   {type: "init", sampleRate}            start a stream (a new Decoder)
 *   {type: "feed", samples: Float32Array} mono samples (transfer the buffer to avoid a copy)
 *   {type: "flush"}                       end the stream (decoder reset to a fresh one)
 * Messages out:
 *   {type: "ready", sampleRate, profiles}
 *   {type: "detections", detections: Detection[], position, busyMs}  after a feed that
 *     completed triggers, and after every flush (busyMs: time spent decoding so far, ms)
 *   {type: "error", message}              bad sample rate or bad block (one line)
 * @module
 */
import { Decoder } from "./decoder.mjs";
import { CodecError } from "./errors.mjs";

/** @typedef {{postMessage(message: unknown): void, onmessage: ((ev: MessageEvent) => void) | null}} Scope */
const scope = /** @type {Scope} */ (/** @type {unknown} */ (globalThis));
/** @type {Decoder | null} */
let decoder = null;
let busyMs = 0;

/** @param {unknown} err */
function report(err) {
  if (!(err instanceof CodecError)) throw err;
  scope.postMessage({ type: "error", message: err.message });
}

scope.onmessage = (/** @type {MessageEvent} */ ev) => {
  const msg = ev.data;
  try {
    if (msg.type === "init") {
      decoder = new Decoder({ sampleRate: msg.sampleRate });
      busyMs = 0;
      scope.postMessage({ type: "ready", sampleRate: msg.sampleRate, profiles: decoder.bands.map((b) => b.profile.name) });
      return;
    }
    if (!decoder) {
      scope.postMessage({ type: "error", message: `"${String(msg.type)}" before "init": send {type: "init", sampleRate} first` });
      return;
    }
    const t0 = performance.now();
    const flush = msg.type === "flush";
    const detections = flush ? decoder.flush() : decoder.feed(msg.samples);
    busyMs += performance.now() - t0;
    if (flush || detections.length) {
      scope.postMessage({ type: "detections", detections, position: decoder.position, busyMs });
    }
  } catch (err) {
    report(err);
  }
};
