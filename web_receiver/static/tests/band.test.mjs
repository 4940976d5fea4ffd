// The band check against signals whose band is known by construction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BandMeter } from "../band.mjs";

/** White noise (seeded LCG) at an RMS, optionally low-passed by a windowed-sinc FIR at cutoffHz. */
function noise(/** @type {number} */ sr, /** @type {number} */ seconds, /** @type {number|null} */ cutoffHz) {
  let s = 12345;
  const n = Math.round(sr * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s / 2147483648 - 0.5) * 0.05;
  }
  if (cutoffHz === null) return x;
  const taps = 255;
  const h = new Float32Array(taps);
  const fc = cutoffHz / sr;
  for (let k = 0; k < taps; k++) {
    const m = k - (taps - 1) / 2;
    const sinc = m === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * m) / (Math.PI * m);
    h[k] = sinc * (0.42 - 0.5 * Math.cos((2 * Math.PI * k) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * k) / (taps - 1)));
  }
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < taps && k <= i; k++) acc += h[k] * x[i - k];
    // 16-bit quantisation, as a recording would have
    y[i] = Math.round(acc * 32767) / 32767;
  }
  return y;
}

for (const sr of [44100, 48000]) {
  test(`full-band noise at ${sr} Hz passes every band`, () => {
    const m = new BandMeter(sr, 1);
    m.feed(noise(sr, 3, null));
    const r = m.report();
    assert.ok(r);
    assert.equal(r.verdict, "ok");
    assert.ok(r.cutoffHz >= 19500, String(r.cutoffHz));
  });
  test(`noise low-passed at 8 kHz (${sr} Hz) reaches no trigger band`, () => {
    const m = new BandMeter(sr, 1);
    m.feed(noise(sr, 3, 8000));
    const r = m.report();
    assert.ok(r);
    assert.equal(r.verdict, "none", JSON.stringify(r));
    assert.ok(r.cutoffHz >= 6000 && r.cutoffHz <= 10000, String(r.cutoffHz));
  });
  test(`noise low-passed at 16 kHz (${sr} Hz) reaches only the robust band`, () => {
    const m = new BandMeter(sr, 1);
    m.feed(noise(sr, 3, 16500));
    const r = m.report();
    assert.ok(r);
    assert.equal(r.verdict, "robust_only", JSON.stringify(r));
  });
}

test("silence gives the silent verdict, and nothing before 2 s", () => {
  const m = new BandMeter(48000, 1);
  m.feed(new Float32Array(48000));
  assert.equal(m.report(), null);
  m.feed(new Float32Array(96000));
  assert.equal(m.report()?.verdict, "silent");
});
