/**
 * Web Worker of benchmarks/bench_js_decoder.py: receives {url, sampleRate, blocks, repeat, endsS},
 * fetches the float32 programme, posts back the cells (time: performance.now() inside the
 * worker, which only decodes, so that its wall time is its CPU time on an idle core).
 */
import { runCells } from "./bench_js_core.mjs";

/** @typedef {{postMessage(message: unknown): void, onmessage: ((ev: MessageEvent) => void) | null}} Scope */
const scope = /** @type {Scope} */ (/** @type {unknown} */ (globalThis));

scope.onmessage = async (/** @type {MessageEvent} */ ev) => {
  const { url, sampleRate, blocks, repeat, endsS } = ev.data;
  try {
    const buf = await (await fetch(url)).arrayBuffer();
    const cells = runCells(new Float32Array(buf), sampleRate, blocks, repeat, endsS, () => performance.now());
    scope.postMessage({ cells });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
