/**
 * DFT of a few contiguous bins of a frame (the profiles' tone slots), without a full FFT.
 *
 * A frame of n samples (20 ms) hops by n / 2 (10 ms). For even n a frame's bin k is
 * A_j(k) + (-1)^k A_{j+1}(k), with A_j the DFT over the half frame j (samples j n/2 ..
 * (j + 1) n/2 - 1, phase measured from the half's start): each hop costs one half-frame DFT of
 * the band's bins, n / 2 x bins multiply-adds. Odd n (rates that are odd multiples of 50 Hz)
 * takes the direct sum over the whole frame.
 * @module
 */

export class BandDft {
  /**
   * @param {number} n frame length, samples
   * @param {ArrayLike<number>} bins DFT bin indices (cycles per frame), ascending
   */
  constructor(n, bins) {
    this.n = n;
    this.bins = Int32Array.from(bins);
    this.nBins = this.bins.length;
    // cos/sin of 2 pi k t / n for t in [0, n): argument reduced exactly (k t mod n)
    const len = n;
    this.cos = new Float64Array(this.nBins * len);
    this.sin = new Float64Array(this.nBins * len);
    for (let b = 0; b < this.nBins; b++) {
      const k = this.bins[b];
      for (let t = 0; t < len; t++) {
        const ph = (2 * Math.PI * ((k * t) % n)) / n;
        this.cos[b * len + t] = Math.cos(ph);
        this.sin[b * len + t] = Math.sin(ph);
      }
    }
  }

  /**
   * Partial DFT of `count` samples from x[start], bins b0 .. b1 - 1 (of this.bins).
   * @param {Float32Array} x samples
   * @param {number} start index into x
   * @param {number} count samples summed (n / 2 for a half frame, n for a frame)
   * @param {Float64Array} re out, indexed by bin position
   * @param {Float64Array} im out
   * @param {number} [b0]
   * @param {number} [b1]
   */
  partial(x, start, count, re, im, b0 = 0, b1 = this.nBins) {
    const n = this.n;
    for (let b = b0; b < b1; b++) {
      const c = this.cos;
      const s = this.sin;
      const off = b * n - start;
      let sr = 0;
      let si = 0;
      for (let i = start, end = start + count; i < end; i++) {
        const v = x[i];
        sr += v * c[off + i];
        si += v * s[off + i];
      }
      re[b] = sr;
      im[b] = si;
    }
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
