/**
 * The timing loop of benchmarks/bench_js_decoder.py, shared by its Node driver
 * (bench_js_node.mjs) and its Web Worker (bench_js_worker.mjs): decode a programme in fixed
 * blocks, `repeat` times, and report the cost per audio second and the detection latency.
 */
import { Decoder } from "../trigger_codec/js/decoder.mjs";

/**
 * @typedef {object} Cell
 * @property {number} block samples per feed()
 * @property {number[]} msPerS cost of each run, ms per audio second
 * @property {number} found detections
 * @property {number[]} latencyMs per placed trigger found: audio fed after its last sample
 *   until feed() returned it
 */

/**
 * @param {Float32Array} x programme
 * @param {number} sampleRate Hz
 * @param {number[]} blocks samples per feed()
 * @param {number} repeat runs per block size
 * @param {number[]} endsS placed triggers' last sample, s
 * @param {() => number} clock ms (CPU time in Node, performance.now() in a worker)
 * @returns {Cell[]}
 */
export function runCells(x, sampleRate, blocks, repeat, endsS, clock) {
  /** @type {Cell[]} */
  const cells = blocks.map((block) => ({ block, msPerS: [], found: 0, latencyMs: [] }));
  const audioS = x.length / sampleRate;
  // round-robin over the cells so that a slow spell of the shared machine hits them alike
  for (let r = 0; r < repeat; r++) {
    for (const cell of cells) {
      const dec = new Decoder({ sampleRate });
      /** @type {{endS: number, at: number}[]} */
      const got = [];
      const t0 = clock();
      for (let i = 0; i < x.length; i += cell.block) {
        const dets = dec.feed(x.subarray(i, i + cell.block));
        for (const d of dets) got.push({ endS: d.endS, at: Math.min(i + cell.block, x.length) / sampleRate });
      }
      for (const d of dec.flush()) got.push({ endS: d.endS, at: audioS });
      cell.msPerS.push((clock() - t0) / audioS);
      cell.found = got.length;
      cell.latencyMs = [];
      for (const end of endsS) {
        const hit = got.find((g) => Math.abs(g.endS - end) < 0.05);
        if (hit) cell.latencyMs.push(1000 * (hit.at - end));
      }
    }
  }
  return cells;
}
