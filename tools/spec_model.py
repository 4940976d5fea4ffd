"""An independent, whole-signal model of the trigger decoder, written from trigger_codec/SPEC.md.

It imports nothing from ``trigger_codec``: every constant and rule is re-typed from the spec
(section numbers in the comments), so that ``tests/test_codec_spec_vectors.py`` can hold the
spec against the Python decoder (same detections, same start sample, same SNR) and
``tools/make_spec_vectors.py`` can record the intermediate values of a decode (metrics, LLRs,
words tried, z) that a second implementation must reach. Not streaming and not fast: the
whole signal is analysed at once (the spec's results do not depend on the block split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.fft

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# section 1
PROFILES = {  # name: (f_hi_hz, first_bin, n_slots), in the normative order hf, robust
    "hf": (19500.0, 344, 43),
    "robust": (15500.0, 256, 49),
}
# section 2.3
PUNCTURED = (7, 21, 33, 47, 59, 73, 85, 99)
KEEP = [i for i in range(108) if i not in PUNCTURED]
G0, G1 = 0o171, 0o133


# ---------------------------------------------------------------- frame (section 2)
def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE XOR 0x5A3C, bit by bit (section 2.1)."""
    reg = 0xFFFF
    for byte in data:
        reg ^= byte << 8
        for _ in range(8):
            reg = ((reg << 1) ^ 0x1021) & 0xFFFF if reg & 0x8000 else (reg << 1) & 0xFFFF
    return reg ^ 0x5A3C


def message(channel: int, seq: int) -> bytes:
    """Return the 6 message bytes (section 2.1)."""
    body = ((channel << 20) | seq).to_bytes(4, "big")
    return body + crc16(body).to_bytes(2, "big")


def unpack(msg: bytes) -> tuple[int, int] | None:
    """``(channel, seq)`` or None if the CRC fails (section 2.1)."""
    if crc16(msg[:4]) != int.from_bytes(msg[4:], "big"):
        return None
    word = int.from_bytes(msg[:4], "big")
    return word >> 20, word & 0xFFFFF


def bits_of(msg: bytes) -> list[int]:
    """48 bits MSB first."""
    return [(byte >> (7 - k)) & 1 for byte in msg for k in range(8)]


def parity(x: int) -> int:
    """XOR of the bits of ``x``."""
    return bin(x).count("1") & 1


def mother_code(bits: list[int]) -> list[int]:
    """108 mother code bits: shift register, 6 zero tail bits (section 2.2)."""
    state, out = 0, []
    for u in [*bits, 0, 0, 0, 0, 0, 0]:
        r = (u << 6) | state
        out += [parity(r & G0), parity(r & G1)]
        state = r >> 1
    return out


def gray(t: int) -> int:
    """Gray code of ``t``."""
    return t ^ (t >> 1)


def tones_of(msg: bytes) -> list[int]:
    """20 tone indices in time order (sections 2.2-2.4)."""
    c = mother_code(bits_of(msg))
    b = [c[i] for i in KEEP]
    inv = {gray(t): t for t in range(32)}
    tones = [0] * 20
    for k in range(20):
        v = sum(b[20 * p + k] << (4 - p) for p in range(5))
        tones[(7 * k) % 20] = inv[v]
    return tones


def preamble_slots(n: int) -> list[int]:
    """Section 2.5."""
    return [1, n - 2, n // 2]


def data_slots(n: int) -> I64:
    """``data_slot[i][t]``, shape (20, 32) (section 2.5)."""
    i = np.arange(20)[:, None]
    t = np.arange(32)[None, :]
    return np.asarray((t + (13 * i) % n) % n, dtype=np.int64)


def waveform(channel: int, seq: int, fs: int, profile: str) -> npt.NDArray[np.float32]:
    """Return the trigger waveform by section 3 (direct convolution, numpy only)."""
    _, first, n_slots = PROFILES[profile]
    n = fs // 50
    tones = tones_of(message(channel, seq))
    data = data_slots(n_slots)
    bins = [first + s for s in preamble_slots(n_slots)]
    bins += [first + int(data[i, t]) for i, t in enumerate(tones)]
    k = np.arange(n, dtype=np.float64)
    width = math.floor(0.25 * (n - 1) / 2.0)
    w = np.ones(n)
    lo_part, hi_part = k <= width, k >= n - width - 1
    w[lo_part] = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * k[lo_part] / 0.25 / (n - 1))))
    w[hi_part] = 0.5 * (1 + np.cos(np.pi * (-2.0 / 0.25 + 1 + 2.0 * k[hi_part] / 0.25 / (n - 1))))
    body = np.concatenate([np.sin(2 * np.pi * (b * 50.0) * k / fs) * w for b in bins])
    taps = round(0.020 * fs) + 1
    m = np.arange(taps) - (taps - 1) / 2
    fl = (first * 50 - 100) / (fs / 2)
    fh = ((first + n_slots - 1) * 50 + 100) / (fs / 2)
    kaiser = np.i0(6.76 * np.sqrt(1 - (2 * np.arange(taps) / (taps - 1) - 1) ** 2)) / np.i0(6.76)
    h = (fh * np.sinc(fh * m) - fl * np.sinc(fl * m)) * kaiser
    wave = np.convolve(body, h)
    return np.asarray(wave * (0.1 / np.max(np.abs(wave))), dtype=np.float32)


# ---------------------------------------------------------------- LLRs, Viterbi (11, 12)
_Z = [[t for t in range(32) if not (gray(t) >> (4 - p)) & 1] for p in range(5)]
_O = [[t for t in range(32) if (gray(t) >> (4 - p)) & 1] for p in range(5)]


def _lse(v: F64) -> float:
    top = float(v.max())
    return top + math.log(float(np.exp(v - top).sum()))


def llrs(metric: F64, sharpness: float | None) -> F64:
    """108 mother-order LLRs, punctured bits 0 (section 11)."""
    code = np.zeros(100)
    for k in range(20):
        ms = metric[(7 * k) % 20]
        for p in range(5):
            z, o = ms[_Z[p]], ms[_O[p]]
            if sharpness is None:
                value = float(z.max()) - float(o.max())
            else:
                value = _lse(sharpness * z) - _lse(sharpness * o)
            code[20 * p + k] = value
    out = np.zeros(108)
    out[KEEP] = code
    return out


def list_viterbi(llr: F64, size: int = 8) -> list[list[int]]:
    """Return the list of up to ``size`` 48-bit words, in order (section 12)."""
    sgn = np.array([[1 - 2 * parity(r & G0), 1 - 2 * parity(r & G1)] for r in range(128)], float)
    metric = np.full(64, -1e30)
    metric[0] = 0.0
    choice = np.zeros((54, 64), dtype=np.int64)
    delta = np.zeros((54, 64))
    for t in range(54):
        new = np.empty(64)
        for ns in range(64):
            cands = []
            for b in (0, 1):
                r = (ns << 1) | b
                bm = sgn[r, 0] * llr[2 * t] + sgn[r, 1] * llr[2 * t + 1]
                cands.append(metric[r & 63] + bm)
            choice[t, ns] = 1 if cands[1] > cands[0] else 0
            delta[t, ns] = abs(cands[1] - cands[0])
            new[ns] = max(cands)
        metric = new

    def traceback(state: int, last: int, flip: bool) -> list[int]:
        u = [0] * (last + 1)
        for t in range(last, -1, -1):
            u[t] = state >> 5
            c = int(choice[t, state]) ^ int(flip and t == last)
            state = ((state & 31) << 1) | c
        return u

    best = traceback(0, 53, False)
    words = [best[:48]]
    nodes, state = [], 0
    for t in range(54):
        state = (best[t] << 5) | (state >> 1)
        nodes.append(state)
    margin = [float(delta[t, nodes[t]]) for t in range(54)]
    for t in sorted(range(54), key=lambda s: (margin[s], s))[: size - 1]:
        if margin[t] >= 1e29:
            break
        words.append((traceback(nodes[t], t, True) + best[t + 1 :])[:48])
    return words


def word_bytes(bits: list[int]) -> bytes:
    """48 bits MSB first -> 6 bytes."""
    return bytes(sum(bits[8 * k + i] << (7 - i) for i in range(8)) for k in range(6))


def zcheck(ec: F64, tones: list[int]) -> tuple[float, F64]:
    """Mean of the check terms and the terms (section 13.1)."""
    terms = np.empty(20)
    for i in range(20):
        x = np.sqrt(np.maximum(ec[i], 0.0))
        ref = np.sort(x)[:29]
        mu = ref.sum() / 29
        sd = math.sqrt(float(((ref - mu) ** 2).sum()) / 29)
        scale = max(sd, 0.3 * float(x.sum()) / 32)
        terms[i] = min((float(x[tones[i]]) - mu) / (scale + 1e-12), 12.0)
    return float(terms.mean()), terms


@dataclass
class Soft:
    """Outcome of one ``decode_soft`` (section 13), with what it tried."""

    found: tuple[int, int] | None
    crc_ok: bool
    z: float
    viterbi_z: float
    words: list[str]  # hex of the 6 bytes of every word examined, in order
    llr: F64


def decode_soft(metric: F64, ec: F64, sharpness: float | None, want_vz: bool) -> Soft:
    """Section 13."""
    llr = llrs(metric, sharpness)
    tried: list[str] = []
    first = b""
    for bits in list_viterbi(llr):
        msg = word_bytes(bits)
        first = first or msg
        tried.append(msg.hex())
        got = unpack(msg)
        if got is not None:
            z, _ = zcheck(ec, tones_of(msg))
            return Soft(got if z >= 3.8 else None, True, z, math.nan, tried, llr)
    vz = zcheck(ec, tones_of(first))[0] if want_vz else math.nan
    return Soft(None, False, math.nan, vz, tried, llr)


# ---------------------------------------------------------------- the decoder (4-17)
@dataclass
class Band:
    """One usable profile's columns."""

    name: str
    offset: int
    n: int
    pre: list[int]
    data: I64  # (20, 32) band-local slots


@dataclass
class Detection:
    """Section 16.2, plus the start sample and the attempt frame."""

    channel: int
    seq: int
    profile: str
    start: int
    start_s: float
    end_s: float
    snr_db: float
    frame: int


@dataclass
class Model:
    """The whole-signal decoder; ``trace`` collects every decode attempt's values."""

    fs: int
    trace: list[dict[str, Any]] = field(default_factory=list)

    def run(self, x: npt.NDArray[np.float32]) -> list[Detection]:
        """Decode the float32 stream ``x`` as ``feed`` of all of it then ``flush`` would."""
        fs = self.fs
        n = fs // 50
        self.n = n
        self.lead = round(0.010 * fs)
        self.x = np.concatenate([np.asarray(x, np.float32), np.zeros(n, np.float32)])
        self.bands, cols, off = [], [], 0
        for name, (f_hi, first, slots) in PROFILES.items():
            if fs / 2 > f_hi:
                self.bands.append(Band(name, off, slots, preamble_slots(slots), data_slots(slots)))
                cols += list(range(first, first + slots))
                off += slots
        self.cols = np.array(cols)
        frames = (2 * (self.x.size - n)) // n + 1
        self.P32 = self._powers(np.arange(frames) * n // 2)
        self.P = np.asarray(self.P32, dtype=np.float64)
        self.F = np.zeros((frames + 1, off))  # section 5.3: F[j] before frame j
        for j in range(frames):
            self.F[j + 1] = 0.95 * self.F[j] + 0.05 * self.P[j]
        self.S = np.zeros_like(self.P)
        self.Y = np.zeros((frames, len(self.bands)))
        for b in self.bands:
            cs = slice(b.offset, b.offset + b.n)
            m = self.P32[:, cs].sum(axis=1, dtype=np.float32) * (1.0 / b.n)
            E = self.P[:, cs] / (m[:, None] + self.F[:frames, cs] + 1e-20)
            self.S[:, cs] = E / (E.sum(axis=1, keepdims=True) + 1e-20)
        for bi, b in enumerate(self.bands):
            for j in range(frames - 4):
                s = self.S[j, b.offset + b.pre[0]] + self.S[j + 2, b.offset + b.pre[1]]
                self.Y[j, bi] = (s + self.S[j + 4, b.offset + b.pre[2]]) / 3
        self.tried: dict[str, set[int]] = {b.name: set() for b in self.bands}
        self.recent: list[tuple[str, int, int, int]] = []
        out: list[Detection] = []
        for j in range(frames - 47):  # section 7.1: frame j + 47 must exist
            for bi, b in enumerate(self.bands):
                det = self._candidate(j, bi, b)
                if det is not None:
                    out.append(det)
        return out

    def _powers(self, starts: I64) -> npt.NDArray[np.float32]:
        """Float32 power of the tone bins of the frames starting at ``starts`` (section 5.2)."""
        frames = self.x[starts[:, None] + np.arange(self.n)[None, :]]
        spec = scipy.fft.rfft(frames, axis=1)[:, self.cols]  # complex64 for float32 rows
        return np.asarray(spec.real * spec.real + spec.imag * spec.imag, dtype=np.float32)

    def y(self, j: int, bi: int) -> float:
        """``Y`` with 0 before the stream (section 6.1)."""
        return float(self.Y[j, bi]) if j >= 0 else 0.0

    def _airing(self, name: str, g: int) -> bool:
        return any(r[0] == name and r[3] - 15 <= g < r[3] + 46 for r in self.recent)

    def _candidate(self, j: int, bi: int, b: Band) -> Detection | None:
        o, yj = b.offset, self.y(j, bi)
        hit = yj >= 0.10
        if not hit and yj >= 0.06:  # section 6.2, tier 2
            peak = all(yj >= self.y(j + e, bi) for e in range(-2, 3))
            rows = j + 6 + 2 * np.arange(20)
            conc = float(self.S[rows[:, None], o + b.data].max(axis=1).mean())
            hit = peak and conc >= 0.12
        if not hit:
            return None
        T = self.P[j + 2 * np.arange(23), o : o + b.n].sum(axis=0)  # section 7.2 gate 3
        balance = float(T[b.n // 2 :].sum() / (T[: b.n // 2].sum() + 1e-20))
        order = sorted([0, -1, 1], key=lambda d: -self.y(j + d, bi))
        airing = self._airing(b.name, j)
        self.trace.append(
            {
                "hit": j,
                "profile": b.name,
                "y": yj,
                "tier": 1 if yj >= 0.10 else 2,
                "in_airing": airing,
                "balance": balance,
                "order": order,
            }
        )
        if airing or balance < 0.25:
            return None
        near = False
        for d in (*order, -2):
            if d == -2 and not near:
                break
            f = j + d
            if f < 0 or f in self.tried[b.name]:
                continue
            self.tried[b.name].add(f)
            det, vz = self._attempt(f, bi, b, j)
            if det is not None:
                return det
            near = near or vz >= 2.5
        return None

    def _rival(self, f: int, bi: int, b: Band) -> bool:
        g = np.arange(max(f - 40, 0), f + 41)
        near = [self.y(int(k), bi) for k in g if abs(k - f) <= 2]
        side = [
            self.y(int(k), bi)
            for k in g
            if (k - f >= 6 or k - f <= -3) and not self._airing(b.name, int(k))
        ]
        return bool(side) and max(side) >= 0.10 and max(side) > 1.5 * max(near)

    def _floor_shape(self, f: int, b: Band) -> F64:
        fl = self.F[f, b.offset : b.offset + b.n]
        w = np.minimum(fl / (0.5 * fl.mean() + 1e-20), 1.0)
        return np.asarray(w[b.data], dtype=np.float64)

    def _energies(
        self, P: F64, F: F64, rows: I64, b: Band, w: F64, half: bool = False
    ) -> tuple[F64, F64]:
        """Return ``E'`` for hops (0, +1, -1) and ``Ec`` (sections 10.1, 15).

        ``P``: a power grid (rows: frames), ``F`` the floor grid aligned with it, ``rows`` the
        row of each data symbol at hop 0.
        """
        E = np.empty((3, 20, 32))
        Ec = np.empty((20, 32))
        for hi, h in enumerate((0, 1, -1)):
            for i in range(20):
                r = int(rows[i]) + h
                c = b.data[i]
                p = P[r, b.offset + c]
                R = sum(0.5**lag * P[max(r - 2 - lag, 0), b.offset + c] for lag in range(7))
                fl = F[r, b.offset + c]
                row = P[r, b.offset : b.offset + b.n]
                # section 15: the half-phase band mean is a float32 mean in the reference
                mr = float(row.astype(np.float32).mean()) if half else row.mean()
                E[hi, i] = p / (0.5 * R + fl + mr + 1e-20)
                if h == 0:
                    Ec[i] = p / ((0.25 * R + fl) + (4 * mr) * w[i] + 1e-20)
        return E, Ec

    def _decode(self, E: F64, Ec: F64, what: str, f: int, name: str) -> tuple[Any, float]:
        metrics = [
            np.log(E[0] + 0.4 * E[1] + 0.1),
            np.log((E[0] + 0.7 * E[1]) + 0.2 * E[2] + 0.1),
        ]
        vz = math.nan
        for k, (mi, a) in enumerate(((0, None), (1, None), (0, 2.0), (1, 2.0))):
            sd = decode_soft(metrics[mi], Ec, a, k == 0)
            if k == 0:
                vz = sd.viterbi_z
            self.trace.append(
                {
                    "profile": name,
                    "frame": f,
                    "frames": what,
                    "stage": k,
                    "metric": metrics[mi],
                    "check_energies": Ec,
                    "llr": sd.llr,
                    "words": sd.words,
                    "crc_ok": sd.crc_ok,
                    "z": sd.z,
                    "viterbi_z": sd.viterbi_z,
                    "found": sd.found,
                }
            )
            if sd.found is not None or not vz >= 2.5:
                return sd.found, vz
        return None, vz

    def _attempt(self, f: int, bi: int, b: Band, j: int) -> tuple[Detection | None, float]:
        if self._rival(f, bi, b):
            self.trace.append({"profile": b.name, "frame": f, "rival": True})
            return None, math.nan
        w = self._floor_shape(f, b)
        rows = f + 6 + 2 * np.arange(20)
        found, vz = self._decode(*self._energies(self.P, self.F, rows, b, w), "regular", f, b.name)
        if found is None and vz >= 2.5 and f >= 3:  # section 15
            n = self.n
            q = np.arange(f - 3, f + 46)
            Ph = np.asarray(self._powers((q * n) // 2 + n // 4), dtype=np.float64)
            Fh = self.F[f - 3 : f + 46]
            hrows = 9 + 2 * np.arange(20)
            found, _ = self._decode(
                *self._energies(Ph, Fh, hrows, b, w, half=True), "half", f, b.name
            )
        if found is None:
            return None, vz
        channel, seq = found
        self.recent = [r for r in self.recent if f - r[3] <= 60]  # section 16.1
        if any(r[:3] == (b.name, channel, seq) and abs(f - r[3]) <= 15 for r in self.recent):
            return None, vz
        self.recent.append((b.name, channel, seq, f))
        tones = tones_of(message(channel, seq))
        slots = np.array(b.pre + [int(b.data[i, tones[i]]) for i in range(20)]) + b.offset
        qs = 2 * np.arange(23)
        best = max(
            (float(self.S[f + d + qs, slots].sum()) / 23, d) for d in (-1, 0, 1) if f + d >= 0
        )
        fs_ = f + best[1]
        start = (fs_ * self.n) // 2 - self.lead
        start_s = start / (50 * self.n)
        tone = float(self.P[fs_ + qs, slots].mean())
        noise = float(np.median(self.F[fs_, b.offset : b.offset + b.n])) + 1e-20
        snr = 10 * math.log10(max(tone - noise, 1e-20) / (b.n * noise))
        snr = round(min(max(snr, -30.0), 60.0), 1)
        return Detection(channel, seq, b.name, start, start_s, start_s + 0.48, snr, f), vz
