/**
 * DFT of a few bins of a frame (the profiles' tone slots) by the Goertzel recursion, without a
 * full FFT.
 *
 * A frame of n samples (20 ms) hops by n / 2 (10 ms). For even n a frame's bin k is
 * A_j(k) + (-1)^k A_{j+1}(k), with A_j the DFT over half frame j (samples j n/2 .. (j + 1) n/2 - 1,
 * phase from the half's start): each hop costs one half-frame pass over the band's bins. Odd n
 * (rates that are odd multiples of 50 Hz) takes a whole-frame pass per hop.
 *
 * Goertzel instead of a table of twiddles: per sample and bin one multiply and two adds, no table
 * loads; bins run four at a time so that four independent recursions hide each other's latency.
 * After M samples, y = s[M-1] - e^{-i w} s[M-2] = e^{i w (M-1)} sum_t x[t] e^{-i w t}: the phase
 * factor is the same for both halves of a frame (same M), so |A_j + (-1)^k A_{j+1}|^2 is computed
 * from the y values directly.
 * @module
 */

export class BandDft {
  /**
   * @param {number} n frame length, samples
   * @param {ArrayLike<number>} bins DFT bin indices (cycles per frame)
   */
  constructor(n, bins) {
    this.n = n;
    this.bins = Int32Array.from(bins);
    this.nBins = this.bins.length;
    /** 2 cos w, cos w, sin w of each bin, w = 2 pi k / n */
    this.coef = new Float64Array(this.nBins);
    this.cos = new Float64Array(this.nBins);
    this.sin = new Float64Array(this.nBins);
    for (let b = 0; b < this.nBins; b++) {
      const w = (2 * Math.PI * this.bins[b]) / n;
      this.cos[b] = Math.cos(w);
      this.sin[b] = Math.sin(w);
      this.coef[b] = 2 * this.cos[b];
    }
  }

  /**
   * Goertzel outputs y (up to a phase factor common to all blocks of the same length) of
   * `count` samples from x[start], for bins b0 .. b1 - 1; written to re[b], im[b].
   * Real-time path: no allocation.
   * @param {Float32Array} x samples
   * @param {number} start index into x
   * @param {number} count samples (n / 2 for a half frame, n for a frame)
   * @param {Float64Array} re out, indexed by bin position
   * @param {Float64Array} im out
   * @param {number} [b0]
   * @param {number} [b1]
   */
  partial(x, start, count, re, im, b0 = 0, b1 = this.nBins) {
    const end = start + count;
    const coef = this.coef;
    let b = b0;
    for (; b + 4 <= b1; b += 4) {
      const c0 = coef[b];
      const c1 = coef[b + 1];
      const c2 = coef[b + 2];
      const c3 = coef[b + 3];
      let p0 = 0, q0 = 0, p1 = 0, q1 = 0, p2 = 0, q2 = 0, p3 = 0, q3 = 0;
      for (let i = start; i < end; i++) {
        const v = x[i];
        const s0 = v + c0 * p0 - q0;
        const s1 = v + c1 * p1 - q1;
        const s2 = v + c2 * p2 - q2;
        const s3 = v + c3 * p3 - q3;
        q0 = p0; p0 = s0;
        q1 = p1; p1 = s1;
        q2 = p2; p2 = s2;
        q3 = p3; p3 = s3;
      }
      this.finish(b, p0, q0, re, im);
      this.finish(b + 1, p1, q1, re, im);
      this.finish(b + 2, p2, q2, re, im);
      this.finish(b + 3, p3, q3, re, im);
    }
    for (; b < b1; b++) {
      const c = coef[b];
      let p = 0;
      let q = 0;
      for (let i = start; i < end; i++) {
        const s = x[i] + c * p - q;
        q = p;
        p = s;
      }
      this.finish(b, p, q, re, im);
    }
  }

  /**
   * y = s[M-1] - e^{-i w} s[M-2].
   * @param {number} b @param {number} last s[M-1] @param {number} prev s[M-2]
   * @param {Float64Array} re @param {Float64Array} im
   */
  finish(b, last, prev, re, im) {
    re[b] = last - this.cos[b] * prev;
    im[b] = this.sin[b] * prev;
  }

  /**
   * Power |X(k)|^2 of a whole frame from x[start], bins b0 .. b1 - 1, written to out[b - b0].
   * @param {Float32Array} x
   * @param {number} start
   * @param {Float64Array} out
   * @param {number} [b0]
   * @param {number} [b1]
   */
  framePower(x, start, out, b0 = 0, b1 = this.nBins) {
    const re = new Float64Array(this.nBins);
    const im = new Float64Array(this.nBins);
    this.partial(x, start, this.n, re, im, b0, b1);
    for (let b = b0; b < b1; b++) out[b - b0] = re[b] * re[b] + im[b] * im[b];
  }
}
