/**
 * Web Worker of benchmarks/bench_js_decoder.py. Messages:
 *   {load: url}                                    fetch the float32 programme -> {loaded: samples}
 *   {run: {sampleRate, block, endsS}}              decode it once -> {cell} (runCells, 1 run)
 * The driver measures the browser's CPU time around each run (the worker only decodes);
 * the cell's own time is performance.now() inside the worker (wall time).
 */
import { runCells } from "./bench_js_core.mjs";

/** @typedef {{postMessage(message: unknown): void, onmessage: ((ev: MessageEvent) => void) | null}} Scope */
const scope = /** @type {Scope} */ (/** @type {unknown} */ (globalThis));
let x = new Float32Array(0);

scope.onmessage = async (/** @type {MessageEvent} */ ev) => {
  try {
    if (ev.data.load) {
      x = new Float32Array(await (await fetch(ev.data.load)).arrayBuffer());
      scope.postMessage({ loaded: x.length });
      return;
    }
    const { sampleRate, block, endsS } = ev.data.run;
    const [cell] = runCells(x, sampleRate, [block], 1, endsS, () => performance.now());
    scope.postMessage({ cell });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
