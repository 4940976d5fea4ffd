/**
 * Front end of the JS decoder: Goertzel half frames (what trigger_codec/js/dft.mjs does per hop)
 * against a mixed-radix real FFT of the whole frame (trigger_codec/js/fft.mjs), both
 * giving the power of the two profiles' 92 bins every 10 ms; and, for scale, the whole decoder
 * (FFT front end) on the same trigger-free noise in 1024-sample blocks, so that the front end's
 * share of a frame's cost can be read off.
 *
 * Usage: flock /tmp/jimaku-bench.lock node benchmarks/bench_js_fft.mjs [--seconds 20] [--repeat 5]
 * Prints ms of CPU per audio second (process CPU time, min and median of the repeats).
 */
import { BandDft } from "../trigger_codec/js/dft.mjs";
import { Decoder } from "../trigger_codec/js/decoder.mjs";
import { RealBandFft } from "../trigger_codec/js/fft.mjs";

const arg = (/** @type {string} */ name, /** @type {number} */ dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg("--seconds", 20);
const repeat = arg("--repeat", 5);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** @param {number[]} a */
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

console.log(`front end cost, ms per audio s (min / median of ${repeat}), ${seconds} s of audio`);
console.log("rate    goertzel         fft              decoder");
for (const sr of [44100, 48000]) {
  const n = sr / 50;
  const bins = [];
  for (let k = 344; k < 387; k++) bins.push(k);
  for (let k = 256; k < 305; k++) bins.push(k);
  const dft = new BandDft(n, bins);
  const fft = new RealBandFft(n, bins);
  let seed = 1;
  const x = Float32Array.from({ length: sr * seconds }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
  const re = new Float64Array(bins.length);
  const im = new Float64Array(bins.length);
  const out = new Float64Array(bins.length);
  const hop = n / 2;
  const hops = Math.floor((x.length - n) / hop);
  /** @type {number[]} */
  const g = [];
  /** @type {number[]} */
  const f = [];
  /** @type {number[]} */
  const d = [];
  for (let r = 0; r < repeat; r++) {
    let t = cpuMs();
    for (let j = 0; j < hops; j++) dft.partial(x, j * hop, hop, re, im);
    g.push((cpuMs() - t) / seconds);
    t = cpuMs();
    for (let j = 0; j < hops; j++) fft.framePower(x, j * hop, out);
    f.push((cpuMs() - t) / seconds);
    t = cpuMs();
    const dec = new Decoder({ sampleRate: sr });
    for (let i = 0; i < x.length; i += 1024) dec.feed(x.subarray(i, i + 1024));
    dec.flush();
    d.push((cpuMs() - t) / seconds);
  }
  /** @param {number[]} a */
  const cell = (a) => `${Math.min(...a).toFixed(2)} / ${median(a).toFixed(2)}`;
  console.log(`${sr}  ${cell(g)}   ${cell(f)}   ${cell(d)}`);
}
