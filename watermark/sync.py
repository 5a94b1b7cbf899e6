"""Synchronization: undo scale, rotation and translation without the key.

The mark is a tile repeated on a square lattice, so the (whitened) image's
autocorrelation has peaks on that lattice whatever the crop, and the lattice
basis gives the scale and the rotation (modulo 90 degrees; the remaining
rotations and the mirror image are the 8 dihedral hypotheses tried by the
detector). Everything here is computed from the image alone and never looks
at the key: that is what keeps the false-positive bound of `stats.py` exact.
After the geometry is undone the image is folded modulo the tile, so what
is left of translation is a cyclic shift of one T x T tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft as sfft

from .pattern import T

# search range of the lattice period in working pixels (nominal: 128)
P_MIN, P_MAX = 40.0, 300.0
CANDIDATES = 4  # lattice candidates tested (each multiplies the hypothesis count)


@dataclass(frozen=True)
class Lattice:
    period: float  # working pixels per tile
    angle: float  # degrees, in [-45, 45)
    score: float


def whiten(y: np.ndarray) -> np.ndarray:
    """Band-pass and locally normalize so host content correlates little with the mark."""
    band = cv2.GaussianBlur(y, (0, 0), 0.6) - cv2.GaussianBlur(y, (0, 0), 4.0)
    energy = cv2.GaussianBlur(band * band, (0, 0), 6.0)
    r = band / np.sqrt(energy + 1.0)
    return np.clip(r, -3.0, 3.0)


def autocorrelation(rs: list[np.ndarray]) -> np.ndarray:
    """Spectrally flattened autocorrelation, centred (fftshift), normalized.

    Several frames of one clip (same size) add their flattened spectra: the
    mark's lattice is the same in each, the content is not.
    """
    total = None
    for r in rs:
        if r.shape != rs[0].shape:
            continue
        spec = np.abs(sfft.rfft2(r)) ** 2
        # dividing by the locally smoothed spectrum keeps the mark's spectral
        # lines and flattens the smooth host spectrum
        smooth = cv2.GaussianBlur(spec.astype(np.float32), (0, 0), 4.0) + 1e-6
        total = spec / smooth if total is None else total + spec / smooth
    a = sfft.irfft2(total, s=rs[0].shape)
    a = sfft.fftshift(a).astype(np.float32)
    a = cv2.GaussianBlur(a, (0, 0), 0.8)
    a -= a.mean()
    return a / (np.std(a) + 1e-9)


_LAT = np.array([(i, j) for i in range(-3, 4) for j in range(0, 4) if j > 0 or i > 0])
_HALF = np.array([(0.5, 0), (0, 0.5), (0.5, 0.5), (0.5, -0.5), (1.5, 0), (0, 1.5)])


def _sample(a: np.ndarray, pts_x: np.ndarray, pts_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of the centred cyclic autocorrelation at lags (x, y).

    Lags wrap around (the autocorrelation is cyclic), which lets a crop
    holding only two tiles along a side still show its lattice.
    """
    h, w = a.shape
    shape = pts_x.shape
    mx = (pts_x + w // 2).astype(np.float32).reshape(-1, 1)
    my = (pts_y + h // 2).astype(np.float32).reshape(-1, 1)
    out = cv2.remap(a, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return out.reshape(shape)


def _score(
    a: np.ndarray, period: np.ndarray, angle: np.ndarray, lat=_LAT, half=_HALF
) -> np.ndarray:
    """Matched-filter score of a lattice hypothesis against the autocorrelation.

    Each lattice point counts with the fraction of the image that overlaps
    itself at that lag (what is left of a peak there); points halfway between
    lattice points must NOT peak, which rules out the lattice of every
    second tile.
    """
    h, w = a.shape
    th = np.deg2rad(angle)[..., None]
    p = period[..., None]
    c, s = np.cos(th) * p, np.sin(th) * p

    def z(ij):
        i, j = ij[:, 0].astype(float), ij[:, 1].astype(float)
        # lattice point i*v1 + j*v2 with v1 = p(cos, sin), v2 = p(-sin, cos)
        lx, ly = i * c - j * s, i * s + j * c
        wt = np.clip(1 - np.abs(lx) / w, 0, None) * np.clip(1 - np.abs(ly) / h, 0, None)
        v = _sample(a, lx, ly)
        return (wt * v).sum(axis=-1) / np.sqrt((wt * wt).sum(axis=-1) + 1e-6)

    return z(lat) - np.maximum(z(half), 0.0)


_LOG_STEP = 0.005
_ANGLE_STEP = 0.5  # degrees
_COARSE = np.array([(i, j) for i in range(-2, 3) for j in range(0, 3) if j > 0 or i > 0])


def _coarse(a: np.ndarray, p_min: float, p_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score every (period, angle) on a log-polar grid: each lattice point is a shifted slice."""
    h, w = a.shape
    offsets = [(np.log(np.hypot(i, j)), np.degrees(np.arctan2(j, i))) for i, j in _COARSE]
    halves = [(np.log(np.hypot(i, j)), np.degrees(np.arctan2(j, i))) for i, j in _HALF]
    lo = np.log(p_min) + min(o for o, _ in offsets + halves)
    hi = np.log(p_max) + max(o for o, _ in offsets + halves)
    logr = np.arange(lo, hi + _LOG_STEP, _LOG_STEP)
    # the autocorrelation is symmetric (A(-v) = A(v)): half a turn covers every direction
    phi = np.arange(0.0, 180.0, _ANGLE_STEP)
    rr = np.exp(logr)[:, None]
    cs, sn = np.cos(np.deg2rad(phi))[None, :], np.sin(np.deg2rad(phi))[None, :]
    lx, ly = (rr * cs).astype(np.float32), (rr * sn).astype(np.float32)
    lp = cv2.remap(a, lx + w // 2, ly + h // 2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    wt = np.clip(1 - np.abs(lx) / w, 0, None) * np.clip(1 - np.abs(ly) / h, 0, None)
    wlp, w2 = wt * lp, wt * wt
    n_p = int((np.log(p_max) - np.log(p_min)) / _LOG_STEP)
    base = int(round((np.log(p_min) - lo) / _LOG_STEP))
    n_t = int(90 / _ANGLE_STEP)
    t_idx = (np.arange(n_t) - n_t // 2) % phi.size  # angles -45 .. 45

    def z(pts):
        num = np.zeros((n_p, n_t), dtype=np.float32)
        den = np.zeros((n_p, n_t), dtype=np.float32)
        for o, ang in pts:
            r0 = base + int(round(o / _LOG_STEP))
            cols = (t_idx + int(round(ang / _ANGLE_STEP))) % phi.size
            num += wlp[r0 : r0 + n_p][:, cols]
            den += w2[r0 : r0 + n_p][:, cols]
        return num / np.sqrt(den + 1e-6)

    score = z(offsets) - np.maximum(z(halves), 0.0)
    periods = np.exp(np.log(p_min) + np.arange(n_p) * _LOG_STEP)
    angles = (np.arange(n_t) - n_t // 2) * _ANGLE_STEP
    return score, periods, angles


def find_lattices(rs: list[np.ndarray], count: int = CANDIDATES) -> list[Lattice]:
    """The most likely lattices of the mark's tiling (whitened frames of one clip in)."""
    a = autocorrelation(rs)
    h, w = a.shape
    # the central peak is the image itself, not the mark
    a[h // 2 - 3 : h // 2 + 4, w // 2 - 3 : w // 2 + 4] = 0.0
    p_max = min(P_MAX, max(a.shape) * 0.6)
    score, periods, angles = _coarse(a, P_MIN, p_max)
    # local maxima (angles wrap every 90 degrees), best first
    padded = np.concatenate([score[:, -2:], score, score[:, :2]], axis=1)
    peak = cv2.dilate(padded, np.ones((5, 5), np.uint8))[:, 2:-2]
    cand = np.flatnonzero((score >= peak).ravel() & np.isfinite(score).ravel())
    cand = cand[np.argsort(score.ravel()[cand])[::-1]]
    found: list[Lattice] = []
    for idx in cand[: 8 * count]:
        i, j = np.unravel_index(idx, score.shape)
        p0, t0 = float(periods[i]), float(angles[j])
        if any(_near(p0, t0, f) for f in found):
            continue
        found.append(Lattice(p0, t0, float(score[i, j])))
        if len(found) == count:
            break
    refined = [_refine(a, f.period, f.angle) for f in found]
    refined.sort(key=lambda f: -f.score)
    return refined[:count]


def _near(p: float, t: float, f: Lattice) -> bool:
    dt = abs((t - f.angle + 45.0) % 90.0 - 45.0)
    return abs(np.log(p / f.period)) < 0.06 and dt < 3.0


def _refine(a: np.ndarray, p0: float, t0: float) -> Lattice:
    h, w = a.shape
    reach = max(1, int(max(h, w) / 2 / p0))
    ij = np.array([(i, j) for i in range(-reach, reach + 1) for j in range(0, reach + 1)])
    ij = ij[(ij[:, 1] > 0) | ((ij[:, 1] == 0) & (ij[:, 0] > 0))]
    p, t = p0, t0
    for dp, dt in ((p0 * 0.01, 0.5), (p0 * 0.0025, 0.12), (p0 * 0.0006, 0.03)):
        ps = p + np.linspace(-dp, dp, 9)
        ts = t + np.linspace(-dt, dt, 9)
        pp, tt = np.meshgrid(ps, ts, indexing="ij")
        s = _score(a, pp, tt, lat=ij, half=_HALF)
        i, j = np.unravel_index(int(np.argmax(s)), s.shape)
        p, t = float(pp[i, j]), float(tt[i, j])
    best = float(_score(a, np.array(p), np.array(t), lat=ij)[()])
    t = (t + 45.0) % 90.0 - 45.0
    return Lattice(period=p, angle=t, score=best)


def fold(r: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Resample so the lattice becomes axis-aligned with period T, then sum modulo T."""
    k = T / lattice.period
    th = np.deg2rad(lattice.angle)
    c, s = np.cos(th) * k, np.sin(th) * k
    m = np.array([[c, s, 0.0], [-s, c, 0.0]])  # (T/P) R(-theta)
    h, w = r.shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64)
    mapped = corners @ m[:, :2].T
    lo = mapped.min(axis=0)
    m[:, 2] = -lo
    size = np.ceil(mapped.max(axis=0) - lo).astype(int) + 1
    bw, bh = -(-size[0] // T) * T, -(-size[1] // T) * T
    out = cv2.warpAffine(
        r, m, (int(bw), int(bh)), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return out.reshape(bh // T, T, bw // T, T).sum(axis=(0, 2))
