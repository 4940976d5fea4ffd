/**
 * Node driver of benchmarks/bench_js_decoder.py:
 * node benchmarks/bench_js_node.mjs PROGRAMME.f32 SAMPLE_RATE REPEAT ENDS_JSON BLOCK...
 * prints the cells as one JSON line (CPU time of this process: process.cpuUsage()).
 */
import { readFileSync } from "node:fs";
import { runCells } from "./bench_js_core.mjs";

const [file, rate, repeat, ends, ...blocks] = process.argv.slice(2);
const bytes = readFileSync(file);
const x = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const clock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cells = runCells(x, Number(rate), blocks.map(Number), Number(repeat), JSON.parse(ends), clock);
process.stdout.write(`${JSON.stringify(cells)}\n`);
