import { test } from "node:test";
import assert from "node:assert/strict";
import { ComplexFft, RealBandFft, factor } from "../fft.mjs";
import { BandDft } from "../dft.mjs";
import { rng } from "./synth.mjs";

/** Direct DFT power of bin k over x[start .. start + n). @param {Float32Array} x @param {number} start @param {number} n @param {number} k */
function directPower(x, start, n, k) {
  let re = 0;
  let im = 0;
  for (let t = 0; t < n; t++) {
    const ph = (-2 * Math.PI * ((k * t) % n)) / n;
    re += x[start + t] * Math.cos(ph);
    im += x[start + t] * Math.sin(ph);
  }
  return re * re + im * im;
}

test("complex FFT equals the direct DFT for mixed-radix lengths", () => {
  const r = rng(11);
  // every unrolled radix (2, 3, 4, 5, 7), inner and outer, and the generic one (11, 13)
  for (const m of [1, 2, 3, 4, 5, 7, 11, 12, 13, 49, 143, 242, 320, 441, 480, 500]) {
    const re = Float64Array.from({ length: m }, () => r() - 0.5);
    const im = Float64Array.from({ length: m }, () => r() - 0.5);
    const oRe = new Float64Array(m);
    const oIm = new Float64Array(m);
    new ComplexFft(m).transform(re, im, oRe, oIm);
    for (let k = 0; k < m; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < m; t++) {
        const ph = (-2 * Math.PI * ((k * t) % m)) / m;
        sr += re[t] * Math.cos(ph) - im[t] * Math.sin(ph);
        si += re[t] * Math.sin(ph) + im[t] * Math.cos(ph);
      }
      assert.ok(Math.abs(oRe[k] - sr) < 1e-9 && Math.abs(oIm[k] - si) < 1e-9, `m ${m} k ${k}`);
    }
  }
});

test("band powers: real FFT, Goertzel half frames and the direct DFT agree", () => {
  const r = rng(12);
  for (const n of [640, 882, 960, 1000]) {
    const bins = [];
    for (let k = 256; k < 305; k++) bins.push(k);
    if (n > 800) for (let k = 344; k < 387; k++) bins.push(k);
    const x = Float32Array.from({ length: 3 * n }, () => r() - 0.5);
    const fft = new RealBandFft(n, bins);
    const dft = new BandDft(n, bins);
    const a = new Float64Array(bins.length);
    const g = new Float64Array(bins.length);
    fft.framePower(x, n / 2, a);
    dft.framePower(x, n / 2, g);
    const h = n / 2;
    const r0 = new Float64Array(bins.length);
    const i0 = new Float64Array(bins.length);
    const r1 = new Float64Array(bins.length);
    const i1 = new Float64Array(bins.length);
    dft.partial(x, h, h, r0, i0);
    dft.partial(x, 2 * h, h, r1, i1);
    bins.forEach((k, b) => {
      const want = directPower(x, n / 2, n, k);
      const s = k & 1 ? -1 : 1;
      const halves = (r0[b] + s * r1[b]) ** 2 + (i0[b] + s * i1[b]) ** 2;
      /** @type {[string, number][]} */
      const got3 = [["fft", a[b]], ["goertzel", g[b]], ["halves", halves]];
      for (const [name, got] of got3) {
        assert.ok(Math.abs(got - want) <= 1e-9 * (want + 1), `${name} n ${n} k ${k}: ${got} vs ${want}`);
      }
    });
  }
});

test("every order of the radices gives the same transform; wrong radices are refused", () => {
  const r = rng(13);
  for (const [m, plans] of /** @type {[number, number[][]][]} */ ([
    [441, [[3, 3, 7, 7], [7, 7, 3, 3], [7, 3, 3, 7], [3, 7, 3, 7]]],
    [480, [[4, 4, 2, 3, 5], [5, 3, 2, 4, 4], [2, 4, 4, 3, 5], [3, 5, 4, 4, 2]]],
  ])) {
    assert.deepEqual(factor(m), plans[0]);
    const re = Float64Array.from({ length: m }, () => r() - 0.5);
    const im = Float64Array.from({ length: m }, () => r() - 0.5);
    for (const plan of plans) {
      const oRe = new Float64Array(m);
      const oIm = new Float64Array(m);
      new ComplexFft(m, plan).transform(re, im, oRe, oIm);
      for (let k = 0; k < m; k++) {
        let sr = 0;
        let si = 0;
        for (let t = 0; t < m; t++) {
          const ph = (-2 * Math.PI * ((k * t) % m)) / m;
          sr += re[t] * Math.cos(ph) - im[t] * Math.sin(ph);
          si += re[t] * Math.sin(ph) + im[t] * Math.cos(ph);
        }
        assert.ok(Math.abs(oRe[k] - sr) < 1e-9 && Math.abs(oIm[k] - si) < 1e-9, `${plan} k ${k}`);
      }
    }
  }
  assert.throws(() => new ComplexFft(12, [3, 2]), RangeError);
});
