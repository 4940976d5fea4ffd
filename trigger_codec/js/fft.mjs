/**
 * The decoder's front end where the half frame n / 2 has only small factors (2, 3, 5: 48 and
 * 32 kHz); trigger_codec/js/dft.mjs (Goertzel) elsewhere (44.1 kHz: 441 = 3^2 x 7^2, where the
 * radix-7 stages make the FFT no cheaper than the Goertzel passes). Measured with
 * benchmarks/bench_js_fft.mjs; checked against a direct DFT in test/fft.test.mjs.
 *
 * Mixed-radix FFT for the decoder's frame lengths (882 = 2 x 3^2 x 7^2 at 44.1 kHz, 960 =
 * 2^6 x 3 x 5 at 48 kHz): a real frame of n samples is transformed as a complex sequence of
 * n / 2 (even and odd samples as real and imaginary parts), and only the band's bins are
 * unpacked from it.
 *
 * Why not a library: fft.js (the usual npm choice) and PFFFT do powers of two (PFFFT also 3 and
 * 5, in multiples of 16/32) only, and the frame must stay exactly 20 ms so that every tone sits
 * on a bin centre; a power-of-two size would need Bluestein's algorithm (three transforms of
 * >= 2n points), which costs more than the Goertzel recursion it would replace. This is the
 * decimation-in-time recursion of KISS FFT (radix 4 and 2 butterflies, a generic one for the
 * other factors).
 * @module
 */

export class ComplexFft {
  /** @param {number} m transform length (>= 1) */
  constructor(m) {
    this.m = m;
    /** @type {{p: number, m: number}[]} radix and remaining length per stage */
    this.stages = [];
    let rest = m;
    let p = 4;
    while (rest > 1) {
      while (rest % p) {
        p = p === 4 ? 2 : p === 2 ? 3 : p + 2;
        if (p * p > rest) p = rest;
      }
      rest /= p;
      this.stages.push({ p, m: rest });
    }
    this.twRe = new Float64Array(m);
    this.twIm = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      this.twRe[i] = Math.cos((-2 * Math.PI * i) / m);
      this.twIm[i] = Math.sin((-2 * Math.PI * i) / m);
    }
    const maxP = Math.max(1, ...this.stages.map((s) => s.p));
    this.sRe = new Float64Array(maxP);
    this.sIm = new Float64Array(maxP);
    this.sumRe = new Float64Array(maxP);
    this.sumIm = new Float64Array(maxP);
    this.difRe = new Float64Array(maxP);
    this.difIm = new Float64Array(maxP);
    /** cos / sin of 2 pi q r / p per odd radix p: [q * p + r] */
    /** @type {Map<number, {c: Float64Array, s: Float64Array}>} */
    this.rot = new Map();
    for (const { p: q } of this.stages) {
      if (q % 2 && !this.rot.has(q)) {
        const c = new Float64Array(q * q);
        const sn = new Float64Array(q * q);
        for (let a = 0; a < q; a++) {
          for (let r = 0; r < q; r++) {
            c[a * q + r] = Math.cos((2 * Math.PI * ((a * r) % q)) / q);
            sn[a * q + r] = Math.sin((2 * Math.PI * ((a * r) % q)) / q);
          }
        }
        this.rot.set(q, { c, s: sn });
      }
    }
  }

  /**
   * Forward transform X[k] = sum_t x[t] exp(-2 pi i k t / m). Real-time path: no allocation.
   * @param {Float64Array} inRe @param {Float64Array} inIm input, length m
   * @param {Float64Array} outRe @param {Float64Array} outIm output, length m (not the input)
   */
  transform(inRe, inIm, outRe, outIm) {
    if (!this.stages.length) {
      outRe[0] = inRe[0];
      outIm[0] = inIm[0];
      return;
    }
    this.work(outRe, outIm, 0, inRe, inIm, 0, 1, 0);
  }

  /**
   * @param {Float64Array} oRe @param {Float64Array} oIm @param {number} o0 output offset
   * @param {Float64Array} iRe @param {Float64Array} iIm @param {number} i0 input offset
   * @param {number} fstride input stride @param {number} stage
   */
  work(oRe, oIm, o0, iRe, iIm, i0, fstride, stage) {
    const { p, m } = this.stages[stage];
    if (m === 1) {
      for (let q = 0; q < p; q++) {
        oRe[o0 + q] = iRe[i0 + q * fstride];
        oIm[o0 + q] = iIm[i0 + q * fstride];
      }
    } else {
      for (let q = 0; q < p; q++) this.work(oRe, oIm, o0 + q * m, iRe, iIm, i0 + q * fstride, fstride * p, stage + 1);
    }
    if (p === 2) this.bfly2(oRe, oIm, o0, fstride, m);
    else if (p === 4) this.bfly4(oRe, oIm, o0, fstride, m);
    else if (p === 3) this.bfly3(oRe, oIm, o0, fstride, m);
    else if (p === 5) this.bfly5(oRe, oIm, o0, fstride, m);
    else if (p % 2) this.bflyOdd(oRe, oIm, o0, fstride, p, m);
    else this.bflyGeneric(oRe, oIm, o0, fstride, p, m);
  }

  /** @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride @param {number} m */
  bfly2(re, im, o0, fstride, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    for (let u = 0; u < m; u++) {
      const a = o0 + u;
      const b = a + m;
      const wr = twRe[u * fstride];
      const wi = twIm[u * fstride];
      const tr = re[b] * wr - im[b] * wi;
      const ti = re[b] * wi + im[b] * wr;
      re[b] = re[a] - tr;
      im[b] = im[a] - ti;
      re[a] += tr;
      im[a] += ti;
    }
  }

  /** @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride @param {number} m */
  bfly4(re, im, o0, fstride, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    for (let u = 0; u < m; u++) {
      const i0 = o0 + u;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const w1 = u * fstride;
      const w2 = 2 * w1;
      const w3 = 3 * w1;
      const ar = re[i0], ai = im[i0];
      const br = re[i1] * twRe[w1] - im[i1] * twIm[w1];
      const bi = re[i1] * twIm[w1] + im[i1] * twRe[w1];
      const cr = re[i2] * twRe[w2] - im[i2] * twIm[w2];
      const ci = re[i2] * twIm[w2] + im[i2] * twRe[w2];
      const dr = re[i3] * twRe[w3] - im[i3] * twIm[w3];
      const di = re[i3] * twIm[w3] + im[i3] * twRe[w3];
      const s0r = ar + cr, s0i = ai + ci;
      const s1r = ar - cr, s1i = ai - ci;
      const s2r = br + dr, s2i = bi + di;
      const s3r = br - dr, s3i = bi - di;
      re[i0] = s0r + s2r;
      im[i0] = s0i + s2i;
      re[i2] = s0r - s2r;
      im[i2] = s0i - s2i;
      // forward transform: the odd pair turns by -i
      re[i1] = s1r + s3i;
      im[i1] = s1i - s3r;
      re[i3] = s1r - s3i;
      im[i3] = s1i + s3r;
    }
  }

  /** @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride @param {number} m */
  bfly3(re, im, o0, fstride, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    const k = Math.sqrt(3) / 2;
    for (let u = 0; u < m; u++) {
      const i0 = o0 + u;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const w1 = u * fstride;
      const w2 = 2 * w1;
      const br = re[i1] * twRe[w1] - im[i1] * twIm[w1];
      const bi = re[i1] * twIm[w1] + im[i1] * twRe[w1];
      const cr = re[i2] * twRe[w2] - im[i2] * twIm[w2];
      const ci = re[i2] * twIm[w2] + im[i2] * twRe[w2];
      const sr = br + cr, si = bi + ci;
      const dr = k * (br - cr), di = k * (bi - ci);
      const mr = re[i0] - 0.5 * sr, mi = im[i0] - 0.5 * si;
      re[i0] += sr;
      im[i0] += si;
      re[i1] = mr + di;
      im[i1] = mi - dr;
      re[i2] = mr - di;
      im[i2] = mi + dr;
    }
  }

  /** @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride @param {number} m */
  bfly5(re, im, o0, fstride, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    const c1 = Math.cos((2 * Math.PI) / 5), c2 = Math.cos((4 * Math.PI) / 5);
    const s1 = Math.sin((2 * Math.PI) / 5), s2 = Math.sin((4 * Math.PI) / 5);
    for (let u = 0; u < m; u++) {
      const i0 = o0 + u;
      const i1 = i0 + m, i2 = i1 + m, i3 = i2 + m, i4 = i3 + m;
      const w1 = u * fstride, w2 = 2 * w1, w3 = 3 * w1, w4 = 4 * w1;
      const ar = re[i0], ai = im[i0];
      const br = re[i1] * twRe[w1] - im[i1] * twIm[w1], bi = re[i1] * twIm[w1] + im[i1] * twRe[w1];
      const cr = re[i2] * twRe[w2] - im[i2] * twIm[w2], ci = re[i2] * twIm[w2] + im[i2] * twRe[w2];
      const dr = re[i3] * twRe[w3] - im[i3] * twIm[w3], di = re[i3] * twIm[w3] + im[i3] * twRe[w3];
      const er = re[i4] * twRe[w4] - im[i4] * twIm[w4], ei = re[i4] * twIm[w4] + im[i4] * twRe[w4];
      // pairs (1, 4) and (2, 3): sums and differences
      const p1r = br + er, p1i = bi + ei, q1r = br - er, q1i = bi - ei;
      const p2r = cr + dr, p2i = ci + di, q2r = cr - dr, q2i = ci - di;
      const C1r = ar + c1 * p1r + c2 * p2r, C1i = ai + c1 * p1i + c2 * p2i;
      const C2r = ar + c2 * p1r + c1 * p2r, C2i = ai + c2 * p1i + c1 * p2i;
      const S1r = s1 * q1r + s2 * q2r, S1i = s1 * q1i + s2 * q2i;
      const S2r = s2 * q1r - s1 * q2r, S2i = s2 * q1i - s1 * q2i;
      re[i0] = ar + p1r + p2r;
      im[i0] = ai + p1i + p2i;
      // y_q = C_q - i S_q, y_{5-q} = C_q + i S_q
      re[i1] = C1r + S1i;
      im[i1] = C1i - S1r;
      re[i4] = C1r - S1i;
      im[i4] = C1i + S1r;
      re[i2] = C2r + S2i;
      im[i2] = C2i - S2r;
      re[i3] = C2r - S2i;
      im[i3] = C2i + S2r;
    }
  }

  /**
   * Odd radix p: inputs turned by their twiddles, then a p-point DFT over the conjugate pairs
   * (r, p - r): per pair of outputs 4 (p - 1) / 2 real multiplies instead of 4 (p - 1).
   * @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride
   * @param {number} p @param {number} m
   */
  bflyOdd(re, im, o0, fstride, p, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    const aRe = this.sRe;
    const aIm = this.sIm;
    const { c, s } = /** @type {{c: Float64Array, s: Float64Array}} */ (this.rot.get(p));
    const h = (p - 1) >> 1;
    const { sumRe, sumIm, difRe, difIm } = this;
    for (let u = 0; u < m; u++) {
      const step = fstride * u;
      aRe[0] = re[o0 + u];
      aIm[0] = im[o0 + u];
      for (let q = 1, k = o0 + u + m, tw = step; q < p; q++, k += m, tw += step) {
        const xr = re[k];
        const xi = im[k];
        aRe[q] = xr * twRe[tw] - xi * twIm[tw];
        aIm[q] = xr * twIm[tw] + xi * twRe[tw];
      }
      let y0r = aRe[0];
      let y0i = aIm[0];
      for (let r = 1; r <= h; r++) {
        sumRe[r] = aRe[r] + aRe[p - r];
        sumIm[r] = aIm[r] + aIm[p - r];
        difRe[r] = aRe[r] - aRe[p - r];
        difIm[r] = aIm[r] - aIm[p - r];
        y0r += sumRe[r];
        y0i += sumIm[r];
      }
      for (let q = 1; q <= h; q++) {
        let cr = aRe[0];
        let ci = aIm[0];
        let sr = 0;
        let si = 0;
        for (let r = 1; r <= h; r++) {
          const cv = c[q * p + r];
          const sv = s[q * p + r];
          cr += sumRe[r] * cv;
          ci += sumIm[r] * cv;
          sr += difRe[r] * sv;
          si += difIm[r] * sv;
        }
        // y_q = C - i S, y_{p-q} = C + i S (forward: W = exp(-2 pi i / p))
        re[o0 + u + q * m] = cr + si;
        im[o0 + u + q * m] = ci - sr;
        re[o0 + u + (p - q) * m] = cr - si;
        im[o0 + u + (p - q) * m] = ci + sr;
      }
      re[o0 + u] = y0r;
      im[o0 + u] = y0i;
    }
  }

  /**
   * @param {Float64Array} re @param {Float64Array} im @param {number} o0 @param {number} fstride
   * @param {number} p @param {number} m
   */
  bflyGeneric(re, im, o0, fstride, p, m) {
    const twRe = this.twRe;
    const twIm = this.twIm;
    const sRe = this.sRe;
    const sIm = this.sIm;
    const n = this.m;
    for (let u = 0; u < m; u++) {
      for (let q = 0, k = o0 + u; q < p; q++, k += m) {
        sRe[q] = re[k];
        sIm[q] = im[k];
      }
      for (let q1 = 0, k = u; q1 < p; q1++, k += m) {
        const step = fstride * k;
        let tw = 0;
        let accR = sRe[0];
        let accI = sIm[0];
        for (let q = 1; q < p; q++) {
          tw += step;
          if (tw >= n) tw -= n;
          accR += sRe[q] * twRe[tw] - sIm[q] * twIm[tw];
          accI += sRe[q] * twIm[tw] + sIm[q] * twRe[tw];
        }
        re[o0 + k] = accR;
        im[o0 + k] = accI;
      }
    }
  }
}

/** Power of a band's bins of real frames of even length n, by one complex FFT of n / 2. */
export class RealBandFft {
  /**
   * @param {number} n frame length, even
   * @param {ArrayLike<number>} bins DFT bins wanted (each < n / 2)
   */
  constructor(n, bins) {
    this.n = n;
    this.half = n / 2;
    this.bins = Int32Array.from(bins);
    this.fft = new ComplexFft(this.half);
    this.zRe = new Float64Array(this.half);
    this.zIm = new Float64Array(this.half);
    this.ZRe = new Float64Array(this.half);
    this.ZIm = new Float64Array(this.half);
    this.wRe = Float64Array.from(this.bins, (k) => Math.cos((-2 * Math.PI * k) / n));
    this.wIm = Float64Array.from(this.bins, (k) => Math.sin((-2 * Math.PI * k) / n));
  }

  /**
   * |X(k)|^2 of the frame x[start .. start + n) for bins b0 .. b1 - 1, written to out[b - b0].
   * Real-time path: no allocation.
   * @param {Float32Array} x @param {number} start @param {Float64Array} out
   * @param {number} [b0] @param {number} [b1]
   */
  framePower(x, start, out, b0 = 0, b1 = this.bins.length) {
    const h = this.half;
    const zRe = this.zRe;
    const zIm = this.zIm;
    for (let i = 0; i < h; i++) {
      zRe[i] = x[start + 2 * i];
      zIm[i] = x[start + 2 * i + 1];
    }
    this.fft.transform(zRe, zIm, this.ZRe, this.ZIm);
    const ZRe = this.ZRe;
    const ZIm = this.ZIm;
    for (let b = b0; b < b1; b++) {
      const k = this.bins[b];
      const j = k === 0 ? 0 : h - k;
      // even part (Z[k] + conj Z[h-k]) / 2, odd part (Z[k] - conj Z[h-k]) / 2i
      const er = 0.5 * (ZRe[k] + ZRe[j]);
      const ei = 0.5 * (ZIm[k] - ZIm[j]);
      const or = 0.5 * (ZIm[k] + ZIm[j]);
      const oi = -0.5 * (ZRe[k] - ZRe[j]);
      const xr = er + this.wRe[b] * or - this.wIm[b] * oi;
      const xi = ei + this.wRe[b] * oi + this.wIm[b] * or;
      out[b - b0] = xr * xr + xi * xi;
    }
  }
}
