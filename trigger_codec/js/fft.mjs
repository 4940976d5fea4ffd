/**
 * The decoder's front end for even frame lengths (trigger_codec/js/dft.mjs, Goertzel, for odd
 * ones). Measured against Goertzel half frames with benchmarks/bench_js_fft.mjs; checked against
 * a direct DFT in test/fft.test.mjs.
 *
 * Mixed-radix FFT for the decoder's frame lengths (882 = 2 x 3^2 x 7^2 at 44.1 kHz, 960 =
 * 2^6 x 3 x 5 at 48 kHz): a real frame of n samples is transformed as a complex sequence of
 * n / 2 (even and odd samples as real and imaginary parts, read in place from the frame: the
 * interleaved samples are that sequence), and only the band's bins are unpacked from it.
 *
 * Why not a library: fft.js (the usual npm choice) and PFFFT do powers of two (PFFFT also 3 and
 * 5, in multiples of 16/32) only, and the frame must stay exactly 20 ms so that every tone sits
 * on a bin centre; a power-of-two size would need Bluestein's algorithm (three transforms of
 * >= 2n points), which costs more than the Goertzel recursion it would replace. This is the
 * decimation-in-time recursion of KISS FFT, with unrolled radix 2, 3, 4, 5 and 7 butterflies
 * (a generic one for other factors), each stage's twiddles stored in the order its butterflies
 * read them, and the innermost stage (whose twiddles are all 1) fused with the strided read of
 * the input.
 * @module
 */

const C7 = [1, 2, 3].map((q) => Math.cos((2 * Math.PI * q) / 7));
const S7 = [1, 2, 3].map((q) => Math.sin((2 * Math.PI * q) / 7));
const C5 = [1, 2].map((q) => Math.cos((2 * Math.PI * q) / 5));
const S5 = [1, 2].map((q) => Math.sin((2 * Math.PI * q) / 5));
const K3 = Math.sqrt(3) / 2;
/** Radices with an unrolled butterfly. */
const UNROLLED = new Set([2, 3, 4, 5, 7]);

/**
 * @typedef {object} Stage
 * @property {number} p radix
 * @property {number} m length of each of the p sub-transforms it combines
 * @property {Float64Array} twRe twiddles W^(q u fstride), [u (p - 1) + q - 1], q = 1 .. p - 1
 * @property {Float64Array} twIm
 */

/**
 * Radices of an m-point transform, outermost stage first: 4s, then 2s, then odd factors
 * (KISS FFT's order), so that the innermost stage, whose twiddles are all 1, has the largest.
 * @param {number} m
 * @returns {number[]}
 */
export function factor(m) {
  const out = [];
  let rest = m;
  let p = 4;
  while (rest > 1) {
    while (rest % p) {
      p = p === 4 ? 2 : p === 2 ? 3 : p + 2;
      if (p * p > rest) p = rest;
    }
    rest /= p;
    out.push(p);
  }
  return out;
}

export class ComplexFft {
  /**
   * @param {number} m transform length (>= 1)
   * @param {number[]} [radices] factors of m, outermost stage first (default: factor(m))
   */
  constructor(m, radices = factor(m)) {
    if (radices.reduce((a, b) => a * b, 1) !== m) {
      throw new RangeError(`radices ${radices.join(" x ")} do not multiply to ${m}`);
    }
    this.m = m;
    /** @type {Stage[]} outermost first */
    this.stages = [];
    let rest = m;
    let fstride = 1;
    for (const p of radices) {
      rest /= p;
      const twRe = new Float64Array((p - 1) * rest);
      const twIm = new Float64Array((p - 1) * rest);
      for (let u = 0; u < rest; u++) {
        for (let q = 1; q < p; q++) {
          // q u fstride < p rest fstride = m: no reduction needed
          const w = (-2 * Math.PI * q * u * fstride) / m;
          twRe[u * (p - 1) + q - 1] = Math.cos(w);
          twIm[u * (p - 1) + q - 1] = Math.sin(w);
        }
      }
      this.stages.push({ p, m: rest, twRe, twIm });
      fstride *= p;
    }
    /** the transform, interleaved: X[k] = (out[2k], out[2k + 1]) */
    this.out = new Float64Array(2 * m);
    /** interleaved copy of transform()'s input */
    this.inter = new Float64Array(2 * m);
    const maxP = Math.max(1, ...this.stages.map((s) => s.p));
    this.sRe = new Float64Array(maxP);
    this.sIm = new Float64Array(maxP);
    this.sumRe = new Float64Array(maxP);
    this.sumIm = new Float64Array(maxP);
    this.difRe = new Float64Array(maxP);
    this.difIm = new Float64Array(maxP);
    /** cos / sin of 2 pi q r / p per generic odd radix p: [q * p + r] */
    /** @type {Map<number, {c: Float64Array, s: Float64Array}>} */
    this.rot = new Map();
    for (const { p: q } of this.stages) {
      if (q % 2 && !UNROLLED.has(q) && !this.rot.has(q)) {
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
   * Forward transform X[k] = sum_t x[t] exp(-2 pi i k t / m) of separate real and imaginary
   * parts (tests, other callers; the decoder uses run()).
   * @param {Float64Array} inRe @param {Float64Array} inIm input, length m
   * @param {Float64Array} outRe @param {Float64Array} outIm output, length m
   */
  transform(inRe, inIm, outRe, outIm) {
    const z = this.inter;
    for (let t = 0; t < this.m; t++) {
      z[2 * t] = inRe[t];
      z[2 * t + 1] = inIm[t];
    }
    this.run(z, 0);
    const out = this.out;
    for (let k = 0; k < this.m; k++) {
      outRe[k] = out[2 * k];
      outIm[k] = out[2 * k + 1];
    }
  }

  /**
   * Forward transform of the interleaved sequence x[t] = (x[start + 2t], x[start + 2t + 1]),
   * t < m, into this.out (interleaved). Real-time path: no allocation.
   * @param {Float32Array | Float64Array} x @param {number} start
   */
  run(x, start) {
    if (!this.stages.length) {
      this.out[0] = x[start];
      this.out[1] = x[start + 1];
      return;
    }
    this.work(x, start, 0, 1, 0);
  }

  /**
   * Transform of the m_s elements from input element offset i0 (a float index) with stride
   * fstride elements into out[o0 ..], m_s being the length at stage s.
   * @param {Float32Array | Float64Array} x @param {number} i0 @param {number} o0
   * @param {number} fstride @param {number} s stage
   */
  work(x, i0, o0, fstride, s) {
    const st = this.stages[s];
    const p = st.p;
    const m = st.m;
    const out = this.out;
    if (m === 1) {
      const d = 2 * fstride;
      if (p === 7) leaf7(x, i0, d, out, 2 * o0);
      else if (p === 3) leaf3(x, i0, d, out, 2 * o0);
      else if (p === 5) leaf5(x, i0, d, out, 2 * o0);
      else if (p === 4) leaf4(x, i0, d, out, 2 * o0);
      else if (p === 2) leaf2(x, i0, d, out, 2 * o0);
      else {
        for (let q = 0; q < p; q++) {
          out[2 * (o0 + q)] = x[i0 + q * d];
          out[2 * (o0 + q) + 1] = x[i0 + q * d + 1];
        }
        this.generic(out, o0, st);
      }
      return;
    }
    const leaf = this.stages[s + 1];
    if (leaf.m === 1 && UNROLLED.has(leaf.p)) {
      // the p innermost transforms, called here rather than through work() (a third of the
      // calls at 441 points)
      const d = 2 * fstride * p;
      const lp = leaf.p;
      const di = 2 * fstride;
      const dq = 2 * m;
      let i = i0;
      let o = 2 * o0;
      if (lp === 7) for (let q = 0; q < p; q++, i += di, o += dq) leaf7(x, i, d, out, o);
      else if (lp === 5) for (let q = 0; q < p; q++, i += di, o += dq) leaf5(x, i, d, out, o);
      else if (lp === 3) for (let q = 0; q < p; q++, i += di, o += dq) leaf3(x, i, d, out, o);
      else if (lp === 4) for (let q = 0; q < p; q++, i += di, o += dq) leaf4(x, i, d, out, o);
      else for (let q = 0; q < p; q++, i += di, o += dq) leaf2(x, i, d, out, o);
    } else {
      for (let q = 0; q < p; q++) this.work(x, i0 + 2 * q * fstride, o0 + q * m, fstride * p, s + 1);
    }
    if (p === 3) bfly3(out, 2 * o0, m, st.twRe, st.twIm);
    else if (p === 7) bfly7(out, 2 * o0, m, st.twRe, st.twIm);
    else if (p === 4) bfly4(out, 2 * o0, m, st.twRe, st.twIm);
    else if (p === 2) bfly2(out, 2 * o0, m, st.twRe, st.twIm);
    else if (p === 5) bfly5(out, 2 * o0, m, st.twRe, st.twIm);
    else this.generic(out, o0, st);
  }

  /**
   * A stage of an odd radix p without an unrolled butterfly (the factoring takes 4 and 2
   * first, so every other radix is odd): inputs turned by their twiddles, then a p-point DFT
   * over the conjugate pairs (r, p - r): per pair of outputs 4 (p - 1) / 2 real multiplies
   * instead of 4 (p - 1).
   * @param {Float64Array} out @param {number} o0 element offset @param {Stage} st
   */
  generic(out, o0, st) {
    const { p, m, twRe, twIm } = st;
    const aRe = this.sRe;
    const aIm = this.sIm;
    for (let u = 0; u < m; u++) {
      const base = 2 * (o0 + u);
      aRe[0] = out[base];
      aIm[0] = out[base + 1];
      for (let q = 1; q < p; q++) {
        const k = base + 2 * q * m;
        const t = u * (p - 1) + q - 1;
        const xr = out[k];
        const xi = out[k + 1];
        aRe[q] = xr * twRe[t] - xi * twIm[t];
        aIm[q] = xr * twIm[t] + xi * twRe[t];
      }
      this.oddDft(out, base, 2 * m, p);
    }
  }

  /**
   * p-point DFT (p odd) of (sRe, sIm), written to out[base + q step], out[base + q step + 1].
   * @param {Float64Array} out @param {number} base @param {number} step @param {number} p
   */
  oddDft(out, base, step, p) {
    const aRe = this.sRe;
    const aIm = this.sIm;
    const { c, s } = /** @type {{c: Float64Array, s: Float64Array}} */ (this.rot.get(p));
    const h = (p - 1) >> 1;
    const { sumRe, sumIm, difRe, difIm } = this;
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
      out[base + q * step] = cr + si;
      out[base + q * step + 1] = ci - sr;
      out[base + (p - q) * step] = cr - si;
      out[base + (p - q) * step + 1] = ci + sr;
    }
    out[base] = y0r;
    out[base + 1] = y0i;
  }
}

// Butterflies. bflyP(out, b0, m, twRe, twIm): in place on the interleaved out, the p
// sub-transforms of length m starting at float index b0, 2m floats apart. leafP(x, i0, d, out,
// b0): the innermost stage, p inputs d floats apart from x[i0] into out[b0 ..] (twiddles 1).

/** @param {Float64Array} out @param {number} b0 @param {number} m @param {Float64Array} twRe @param {Float64Array} twIm */
function bfly2(out, b0, m, twRe, twIm) {
  const m2 = 2 * m;
  for (let u = 0; u < m; u++) {
    const a = b0 + 2 * u;
    const b = a + m2;
    const wr = twRe[u];
    const wi = twIm[u];
    const br = out[b], bi = out[b + 1];
    const tr = br * wr - bi * wi;
    const ti = br * wi + bi * wr;
    const ar = out[a], ai = out[a + 1];
    out[b] = ar - tr;
    out[b + 1] = ai - ti;
    out[a] = ar + tr;
    out[a + 1] = ai + ti;
  }
}

/** @param {Float32Array | Float64Array} x @param {number} i0 @param {number} d @param {Float64Array} out @param {number} b0 */
function leaf2(x, i0, d, out, b0) {
  const ar = x[i0], ai = x[i0 + 1];
  const br = x[i0 + d], bi = x[i0 + d + 1];
  out[b0] = ar + br;
  out[b0 + 1] = ai + bi;
  out[b0 + 2] = ar - br;
  out[b0 + 3] = ai - bi;
}

/** @param {Float64Array} out @param {number} b0 @param {number} m @param {Float64Array} twRe @param {Float64Array} twIm */
function bfly4(out, b0, m, twRe, twIm) {
  const m2 = 2 * m;
  for (let u = 0, t = 0; u < m; u++, t += 3) {
    const i0 = b0 + 2 * u;
    const i1 = i0 + m2;
    const i2 = i1 + m2;
    const i3 = i2 + m2;
    const ar = out[i0], ai = out[i0 + 1];
    let xr = out[i1], xi = out[i1 + 1], wr = twRe[t], wi = twIm[t];
    const br = xr * wr - xi * wi, bi = xr * wi + xi * wr;
    xr = out[i2]; xi = out[i2 + 1]; wr = twRe[t + 1]; wi = twIm[t + 1];
    const cr = xr * wr - xi * wi, ci = xr * wi + xi * wr;
    xr = out[i3]; xi = out[i3 + 1]; wr = twRe[t + 2]; wi = twIm[t + 2];
    const dr = xr * wr - xi * wi, di = xr * wi + xi * wr;
    const s0r = ar + cr, s0i = ai + ci;
    const s1r = ar - cr, s1i = ai - ci;
    const s2r = br + dr, s2i = bi + di;
    const s3r = br - dr, s3i = bi - di;
    out[i0] = s0r + s2r;
    out[i0 + 1] = s0i + s2i;
    out[i2] = s0r - s2r;
    out[i2 + 1] = s0i - s2i;
    // forward transform: the odd pair turns by -i
    out[i1] = s1r + s3i;
    out[i1 + 1] = s1i - s3r;
    out[i3] = s1r - s3i;
    out[i3 + 1] = s1i + s3r;
  }
}

/** @param {Float32Array | Float64Array} x @param {number} i0 @param {number} d @param {Float64Array} out @param {number} b0 */
function leaf4(x, i0, d, out, b0) {
  const ar = x[i0], ai = x[i0 + 1];
  const br = x[i0 + d], bi = x[i0 + d + 1];
  const cr = x[i0 + 2 * d], ci = x[i0 + 2 * d + 1];
  const dr = x[i0 + 3 * d], di = x[i0 + 3 * d + 1];
  const s0r = ar + cr, s0i = ai + ci;
  const s1r = ar - cr, s1i = ai - ci;
  const s2r = br + dr, s2i = bi + di;
  const s3r = br - dr, s3i = bi - di;
  out[b0] = s0r + s2r;
  out[b0 + 1] = s0i + s2i;
  out[b0 + 4] = s0r - s2r;
  out[b0 + 5] = s0i - s2i;
  out[b0 + 2] = s1r + s3i;
  out[b0 + 3] = s1i - s3r;
  out[b0 + 6] = s1r - s3i;
  out[b0 + 7] = s1i + s3r;
}

/** @param {Float64Array} out @param {number} b0 @param {number} m @param {Float64Array} twRe @param {Float64Array} twIm */
function bfly3(out, b0, m, twRe, twIm) {
  const m2 = 2 * m;
  for (let u = 0, t = 0; u < m; u++, t += 2) {
    const i0 = b0 + 2 * u;
    const i1 = i0 + m2;
    const i2 = i1 + m2;
    let xr = out[i1], xi = out[i1 + 1], wr = twRe[t], wi = twIm[t];
    const br = xr * wr - xi * wi, bi = xr * wi + xi * wr;
    xr = out[i2]; xi = out[i2 + 1]; wr = twRe[t + 1]; wi = twIm[t + 1];
    const cr = xr * wr - xi * wi, ci = xr * wi + xi * wr;
    const sr = br + cr, si = bi + ci;
    const dr = K3 * (br - cr), di = K3 * (bi - ci);
    const ar = out[i0], ai = out[i0 + 1];
    const mr = ar - 0.5 * sr, mi = ai - 0.5 * si;
    out[i0] = ar + sr;
    out[i0 + 1] = ai + si;
    out[i1] = mr + di;
    out[i1 + 1] = mi - dr;
    out[i2] = mr - di;
    out[i2 + 1] = mi + dr;
  }
}

/** @param {Float32Array | Float64Array} x @param {number} i0 @param {number} d @param {Float64Array} out @param {number} b0 */
function leaf3(x, i0, d, out, b0) {
  const ar = x[i0], ai = x[i0 + 1];
  const br = x[i0 + d], bi = x[i0 + d + 1];
  const cr = x[i0 + 2 * d], ci = x[i0 + 2 * d + 1];
  const sr = br + cr, si = bi + ci;
  const dr = K3 * (br - cr), di = K3 * (bi - ci);
  const mr = ar - 0.5 * sr, mi = ai - 0.5 * si;
  out[b0] = ar + sr;
  out[b0 + 1] = ai + si;
  out[b0 + 2] = mr + di;
  out[b0 + 3] = mi - dr;
  out[b0 + 4] = mr - di;
  out[b0 + 5] = mi + dr;
}

/** @param {Float64Array} out @param {number} b0 @param {number} m @param {Float64Array} twRe @param {Float64Array} twIm */
function bfly5(out, b0, m, twRe, twIm) {
  const m2 = 2 * m;
  const c1 = C5[0], c2 = C5[1], s1 = S5[0], s2 = S5[1];
  for (let u = 0, t = 0; u < m; u++, t += 4) {
    const i0 = b0 + 2 * u;
    const i1 = i0 + m2, i2 = i1 + m2, i3 = i2 + m2, i4 = i3 + m2;
    const ar = out[i0], ai = out[i0 + 1];
    let xr = out[i1], xi = out[i1 + 1], wr = twRe[t], wi = twIm[t];
    const br = xr * wr - xi * wi, bi = xr * wi + xi * wr;
    xr = out[i2]; xi = out[i2 + 1]; wr = twRe[t + 1]; wi = twIm[t + 1];
    const cr = xr * wr - xi * wi, ci = xr * wi + xi * wr;
    xr = out[i3]; xi = out[i3 + 1]; wr = twRe[t + 2]; wi = twIm[t + 2];
    const dr = xr * wr - xi * wi, di = xr * wi + xi * wr;
    xr = out[i4]; xi = out[i4 + 1]; wr = twRe[t + 3]; wi = twIm[t + 3];
    const er = xr * wr - xi * wi, ei = xr * wi + xi * wr;
    // pairs (1, 4) and (2, 3): sums and differences
    const p1r = br + er, p1i = bi + ei, q1r = br - er, q1i = bi - ei;
    const p2r = cr + dr, p2i = ci + di, q2r = cr - dr, q2i = ci - di;
    const C1r = ar + c1 * p1r + c2 * p2r, C1i = ai + c1 * p1i + c2 * p2i;
    const C2r = ar + c2 * p1r + c1 * p2r, C2i = ai + c2 * p1i + c1 * p2i;
    const S1r = s1 * q1r + s2 * q2r, S1i = s1 * q1i + s2 * q2i;
    const S2r = s2 * q1r - s1 * q2r, S2i = s2 * q1i - s1 * q2i;
    out[i0] = ar + p1r + p2r;
    out[i0 + 1] = ai + p1i + p2i;
    // y_q = C_q - i S_q, y_{5-q} = C_q + i S_q
    out[i1] = C1r + S1i;
    out[i1 + 1] = C1i - S1r;
    out[i4] = C1r - S1i;
    out[i4 + 1] = C1i + S1r;
    out[i2] = C2r + S2i;
    out[i2 + 1] = C2i - S2r;
    out[i3] = C2r - S2i;
    out[i3 + 1] = C2i + S2r;
  }
}

/** @param {Float32Array | Float64Array} x @param {number} i0 @param {number} d @param {Float64Array} out @param {number} b0 */
function leaf5(x, i0, d, out, b0) {
  const c1 = C5[0], c2 = C5[1], s1 = S5[0], s2 = S5[1];
  const ar = x[i0], ai = x[i0 + 1];
  const br = x[i0 + d], bi = x[i0 + d + 1];
  const cr = x[i0 + 2 * d], ci = x[i0 + 2 * d + 1];
  const dr = x[i0 + 3 * d], di = x[i0 + 3 * d + 1];
  const er = x[i0 + 4 * d], ei = x[i0 + 4 * d + 1];
  const p1r = br + er, p1i = bi + ei, q1r = br - er, q1i = bi - ei;
  const p2r = cr + dr, p2i = ci + di, q2r = cr - dr, q2i = ci - di;
  const C1r = ar + c1 * p1r + c2 * p2r, C1i = ai + c1 * p1i + c2 * p2i;
  const C2r = ar + c2 * p1r + c1 * p2r, C2i = ai + c2 * p1i + c1 * p2i;
  const S1r = s1 * q1r + s2 * q2r, S1i = s1 * q1i + s2 * q2i;
  const S2r = s2 * q1r - s1 * q2r, S2i = s2 * q1i - s1 * q2i;
  out[b0] = ar + p1r + p2r;
  out[b0 + 1] = ai + p1i + p2i;
  out[b0 + 2] = C1r + S1i;
  out[b0 + 3] = C1i - S1r;
  out[b0 + 8] = C1r - S1i;
  out[b0 + 9] = C1i + S1r;
  out[b0 + 4] = C2r + S2i;
  out[b0 + 5] = C2i - S2r;
  out[b0 + 6] = C2r - S2i;
  out[b0 + 7] = C2i + S2r;
}

/** @param {Float64Array} out @param {number} b0 @param {number} m @param {Float64Array} twRe @param {Float64Array} twIm */
function bfly7(out, b0, m, twRe, twIm) {
  const m2 = 2 * m;
  const c1 = C7[0], c2 = C7[1], c3 = C7[2], s1 = S7[0], s2 = S7[1], s3 = S7[2];
  for (let u = 0, t = 0; u < m; u++, t += 6) {
    const i0 = b0 + 2 * u;
    const i1 = i0 + m2, i2 = i1 + m2, i3 = i2 + m2, i4 = i3 + m2, i5 = i4 + m2, i6 = i5 + m2;
    const ar = out[i0], ai = out[i0 + 1];
    let xr = out[i1], xi = out[i1 + 1], wr = twRe[t], wi = twIm[t];
    const br = xr * wr - xi * wi, bi = xr * wi + xi * wr;
    xr = out[i2]; xi = out[i2 + 1]; wr = twRe[t + 1]; wi = twIm[t + 1];
    const cr = xr * wr - xi * wi, ci = xr * wi + xi * wr;
    xr = out[i3]; xi = out[i3 + 1]; wr = twRe[t + 2]; wi = twIm[t + 2];
    const dr = xr * wr - xi * wi, di = xr * wi + xi * wr;
    xr = out[i4]; xi = out[i4 + 1]; wr = twRe[t + 3]; wi = twIm[t + 3];
    const er = xr * wr - xi * wi, ei = xr * wi + xi * wr;
    xr = out[i5]; xi = out[i5 + 1]; wr = twRe[t + 4]; wi = twIm[t + 4];
    const fr = xr * wr - xi * wi, fi = xr * wi + xi * wr;
    xr = out[i6]; xi = out[i6 + 1]; wr = twRe[t + 5]; wi = twIm[t + 5];
    const gr = xr * wr - xi * wi, gi = xr * wi + xi * wr;
    // pairs (1, 6), (2, 5), (3, 4): sums p and differences q
    const p1r = br + gr, p1i = bi + gi, q1r = br - gr, q1i = bi - gi;
    const p2r = cr + fr, p2i = ci + fi, q2r = cr - fr, q2i = ci - fi;
    const p3r = dr + er, p3i = di + ei, q3r = dr - er, q3i = di - ei;
    const C1r = ar + c1 * p1r + c2 * p2r + c3 * p3r, C1i = ai + c1 * p1i + c2 * p2i + c3 * p3i;
    const C2r = ar + c2 * p1r + c3 * p2r + c1 * p3r, C2i = ai + c2 * p1i + c3 * p2i + c1 * p3i;
    const C3r = ar + c3 * p1r + c1 * p2r + c2 * p3r, C3i = ai + c3 * p1i + c1 * p2i + c2 * p3i;
    const S1r = s1 * q1r + s2 * q2r + s3 * q3r, S1i = s1 * q1i + s2 * q2i + s3 * q3i;
    const S2r = s2 * q1r - s3 * q2r - s1 * q3r, S2i = s2 * q1i - s3 * q2i - s1 * q3i;
    const S3r = s3 * q1r - s1 * q2r + s2 * q3r, S3i = s3 * q1i - s1 * q2i + s2 * q3i;
    out[i0] = ar + p1r + p2r + p3r;
    out[i0 + 1] = ai + p1i + p2i + p3i;
    // y_q = C_q - i S_q, y_{7-q} = C_q + i S_q
    out[i1] = C1r + S1i;
    out[i1 + 1] = C1i - S1r;
    out[i6] = C1r - S1i;
    out[i6 + 1] = C1i + S1r;
    out[i2] = C2r + S2i;
    out[i2 + 1] = C2i - S2r;
    out[i5] = C2r - S2i;
    out[i5 + 1] = C2i + S2r;
    out[i3] = C3r + S3i;
    out[i3 + 1] = C3i - S3r;
    out[i4] = C3r - S3i;
    out[i4 + 1] = C3i + S3r;
  }
}

/** @param {Float32Array | Float64Array} x @param {number} i0 @param {number} d @param {Float64Array} out @param {number} b0 */
function leaf7(x, i0, d, out, b0) {
  const c1 = C7[0], c2 = C7[1], c3 = C7[2], s1 = S7[0], s2 = S7[1], s3 = S7[2];
  const ar = x[i0], ai = x[i0 + 1];
  const br = x[i0 + d], bi = x[i0 + d + 1];
  const cr = x[i0 + 2 * d], ci = x[i0 + 2 * d + 1];
  const dr = x[i0 + 3 * d], di = x[i0 + 3 * d + 1];
  const er = x[i0 + 4 * d], ei = x[i0 + 4 * d + 1];
  const fr = x[i0 + 5 * d], fi = x[i0 + 5 * d + 1];
  const gr = x[i0 + 6 * d], gi = x[i0 + 6 * d + 1];
  const p1r = br + gr, p1i = bi + gi, q1r = br - gr, q1i = bi - gi;
  const p2r = cr + fr, p2i = ci + fi, q2r = cr - fr, q2i = ci - fi;
  const p3r = dr + er, p3i = di + ei, q3r = dr - er, q3i = di - ei;
  const C1r = ar + c1 * p1r + c2 * p2r + c3 * p3r, C1i = ai + c1 * p1i + c2 * p2i + c3 * p3i;
  const C2r = ar + c2 * p1r + c3 * p2r + c1 * p3r, C2i = ai + c2 * p1i + c3 * p2i + c1 * p3i;
  const C3r = ar + c3 * p1r + c1 * p2r + c2 * p3r, C3i = ai + c3 * p1i + c1 * p2i + c2 * p3i;
  const S1r = s1 * q1r + s2 * q2r + s3 * q3r, S1i = s1 * q1i + s2 * q2i + s3 * q3i;
  const S2r = s2 * q1r - s3 * q2r - s1 * q3r, S2i = s2 * q1i - s3 * q2i - s1 * q3i;
  const S3r = s3 * q1r - s1 * q2r + s2 * q3r, S3i = s3 * q1i - s1 * q2i + s2 * q3i;
  out[b0] = ar + p1r + p2r + p3r;
  out[b0 + 1] = ai + p1i + p2i + p3i;
  out[b0 + 2] = C1r + S1i;
  out[b0 + 3] = C1i - S1r;
  out[b0 + 12] = C1r - S1i;
  out[b0 + 13] = C1i + S1r;
  out[b0 + 4] = C2r + S2i;
  out[b0 + 5] = C2i - S2r;
  out[b0 + 10] = C2r - S2i;
  out[b0 + 11] = C2i + S2r;
  out[b0 + 6] = C3r + S3i;
  out[b0 + 7] = C3i - S3r;
  out[b0 + 8] = C3r - S3i;
  out[b0 + 9] = C3i + S3r;
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
    // the frame's samples, read as (even, odd) pairs, are the complex sequence z
    this.fft.run(x, start);
    const Z = this.fft.out;
    const bins = this.bins;
    const wRe = this.wRe;
    const wIm = this.wIm;
    for (let b = b0; b < b1; b++) {
      const k = bins[b];
      const k2 = 2 * k;
      const j2 = k === 0 ? 0 : 2 * (h - k);
      const zr = Z[k2], zi = Z[k2 + 1], yr = Z[j2], yi = Z[j2 + 1];
      // even part (Z[k] + conj Z[h-k]) / 2, odd part (Z[k] - conj Z[h-k]) / 2i
      const er = 0.5 * (zr + yr);
      const ei = 0.5 * (zi - yi);
      const or = 0.5 * (zi + yi);
      const oi = -0.5 * (zr - yr);
      const xr = er + wRe[b] * or - wIm[b] * oi;
      const xi = ei + wRe[b] * oi + wIm[b] * or;
      out[b - b0] = xr * xr + xi * xi;
    }
  }
}
