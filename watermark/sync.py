"""Synchronization: undo scale, rotation and translation without the key.

The mark is a tile repeated on a square lattice, so the (whitened) image's
autocorrelation has peaks on that lattice whatever the crop, and the lattice
basis gives the scale and the rotation (modulo 90 degrees; the remaining
rotations and the mirror image are the 8 dihedral hypotheses tried by the
detector). Everything here is computed from the image alone and never looks
at the key: that is what keeps the false-positive bound of `stats.py` exact.
The lattice and the fold that undoes it are `lattice.py`; the whitening
and flattened spectrum searched here are `whitening.py`.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import scipy.fft as sfft

from .lattice import NOMINAL, P_MAX, P_MIN, Lattice, fold, period_limit, same_lattice
from .pattern import T, frozen
from .whitening import flat_power, whiten

__all__ = [
    "AXIS_CANDIDATES",
    "CANDIDATES",
    "LATTICES",
    "MIN_LATTICE_SCORE",
    "NOMINAL",
    "P_MAX",
    "P_MIN",
    "Lattice",
    "autocorrelation",
    "find_lattices",
    "flat_power",
    "fold",
    "period_limit",
    "same_lattice",
    "whiten",
]

CANDIDATES = 3  # lattice candidates found in the autocorrelation
# Most geometric edits move along one axis of the (period, angle) plane: a
# crop, a screenshot or a re-shared crop keeps the angle (0) and changes the
# period; a rotation inside the same canvas keeps the period (nominal) and
# changes the angle. On heavy texture the true lattice rarely wins the whole
# plane but often wins its axis, where far fewer chance peaks compete: the
# best AXIS_CANDIDATES peaks of each axis are tried as well.
AXIS_CANDIDATES = 2
# plus the nominal one, as is and refined: the hypothesis factor
LATTICES = CANDIDATES + 2 * AXIS_CANDIDATES + 2
_CENTRAL_RADIUS = 12
# candidates the autocorrelation barely supports are not worth a fold: where
# the mark is that weak the pilot would not pass the threshold either
MIN_LATTICE_SCORE = 3.0


def autocorrelation(power: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation of a flattened power spectrum, centred (fftshift): a sharp and a smooth copy.

    The smooth copy lets a coarse grid of hypotheses land on peaks it would
    otherwise miss.
    """
    a = sfft.fftshift(sfft.irfft2(power, s=shape)).astype(np.float32)
    h, w = a.shape
    # the central peak is the image itself, not the mark (lattice points lie
    # at least P_MIN / 2 away from it)
    yy, xx = np.ogrid[-(h // 2) : h - h // 2, -(w // 2) : w - w // 2]
    a[yy * yy + xx * xx < _CENTRAL_RADIUS**2] = 0.0
    # straight edges (a screenshot's frame, a horizon) make ridges along the
    # axes; lattice peaks are isolated points and survive removing the ridges
    a -= a.mean(axis=1, keepdims=True)
    a -= a.mean(axis=0, keepdims=True)
    out = []
    for sigma in (0.8, 1.2):
        b = cv2.GaussianBlur(a, (0, 0), sigma)
        b -= b.mean()
        out.append(b / (np.std(b) + 1e-9))
    return out[0], out[1]


_LAT = np.array([(i, j) for i in range(-3, 4) for j in range(0, 4) if j > 0 or i > 0])
_HALF = np.array([(0.5, 0), (0, 0.5), (0.5, 0.5), (0.5, -0.5), (1.5, 0), (0, 1.5)])


def _sample(a: np.ndarray, pts_x: np.ndarray, pts_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of the centred cyclic autocorrelation at lags (x, y).

    Lags wrap around (the autocorrelation is cyclic), which lets a crop
    holding only two tiles along a side still show its lattice.
    """
    h, w = a.shape
    shape = np.broadcast_shapes(pts_x.shape, pts_y.shape)
    n = int(np.prod(shape))
    # remap's maps are an image (each side < 32767): lay the points out in rows
    cols = 1024
    rows = -(-n // cols)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:n] = np.broadcast_to(pts_x + w // 2, shape).ravel()
    my[:n] = np.broadcast_to(pts_y + h // 2, shape).ravel()
    out = cv2.remap(
        a,
        mx.reshape(rows, cols),
        my.reshape(rows, cols),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )
    return out.ravel()[:n].reshape(shape)


def _lattice_z(a: np.ndarray, c: np.ndarray, s: np.ndarray, i, j) -> np.ndarray:
    """Overlap-weighted mean of the autocorrelation at lattice points i*v1 + j*v2.

    v1 = p(cos, sin), v2 = p(-sin, cos); c, s = p cos, p sin carry a trailing
    axis of length 1 that i and j (broadcastable) fill.
    """
    h, w = a.shape
    lx, ly = i * c - j * s, i * s + j * c
    wt = np.clip(1 - np.abs(lx) / w, 0, None) * np.clip(1 - np.abs(ly) / h, 0, None)
    v = _sample(a, lx, ly)
    return (wt * v).sum(axis=-1) / np.sqrt((wt * wt).sum(axis=-1) + 1e-6)


def _score(
    a: np.ndarray, period: np.ndarray, angle: np.ndarray, lat=_LAT, half=_HALF
) -> np.ndarray:
    """Matched-filter score of a lattice hypothesis against the autocorrelation.

    Each lattice point counts with the fraction of the image that overlaps
    itself at that lag (what is left of a peak there); points halfway between
    lattice points must NOT peak, which rules out the lattice of every
    second tile. `lat` is (L, 2), or (..., L, 2) with leading axes matching
    period's leading axes (one point set per candidate, see `_refine_many`).
    """
    th = np.deg2rad(angle)[..., None]
    p = np.asarray(period)[..., None]
    c, s = np.cos(th) * p, np.sin(th) * p
    lat = np.asarray(lat, dtype=float)
    extra = np.ndim(period) - (lat.ndim - 2)  # grid axes the point set does not have
    i = lat[..., 0].reshape(lat.shape[:-2] + (1,) * extra + lat.shape[-2:-1])
    j = lat[..., 1].reshape(i.shape)
    on = _lattice_z(a, c, s, i, j)
    off = _lattice_z(a, c, s, half[:, 0].astype(float), half[:, 1].astype(float))
    return on - 0.5 * np.maximum(off, 0.0)


_LOG_STEP = 0.006
_ANGLE_STEP = 0.35  # degrees
# near lattice points only: a coarse grid cannot hit far peaks
_COARSE = np.array([(1, 0), (0, 1), (1, 1), (-1, 1), (2, 0), (0, 2)])


@lru_cache(maxsize=4)  # ~5 MB each; working images share a few shapes
def _coarse_grid(h: int, w: int, p_min: float, p_max: float):
    """The log-polar sampling grid and its overlap weights: they depend on the shape only."""
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
    wt = np.clip(1 - np.abs(lx) / w, 0, None) * np.clip(1 - np.abs(ly) / h, 0, None)
    n_p = int((np.log(p_max) - np.log(p_min)) / _LOG_STEP)
    base = int(round((np.log(p_min) - lo) / _LOG_STEP))
    n_t = int(90 / _ANGLE_STEP)

    def windows(pts):
        # (row, column) of each lattice point's slice; angles -45 .. 45
        return [
            (
                base + int(round(o / _LOG_STEP)),
                (int(round(ang / _ANGLE_STEP)) - n_t // 2) % phi.size,
            )
            for o, ang in pts
        ]

    def den(win):
        out = np.zeros((n_p, n_t), dtype=np.float32)
        for r0, c0 in win:
            out += w2[r0 : r0 + n_p, c0 : c0 + n_t]
        return np.sqrt(out + 1e-6)

    # a turn and a bit side by side: every angle window is a plain slice (a view)
    w2 = np.concatenate([wt * wt, (wt * wt)[:, :n_t]], axis=1)
    win_o, win_h = windows(offsets), windows(halves)
    grid = (lx + w // 2, ly + h // 2, wt, n_t)
    periods = np.exp(np.log(p_min) + np.arange(n_p) * _LOG_STEP)
    angles = (np.arange(n_t) - n_t // 2) * _ANGLE_STEP
    den_o, den_h = den(win_o), den(win_h)
    frozen(grid[0], grid[1], wt, den_o, den_h, periods, angles)
    return grid, (win_o, den_o), (win_h, den_h), periods, angles


def _coarse(a: np.ndarray, p_min: float, p_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score every (period, angle) on a log-polar grid: each lattice point is a shifted slice."""
    grid, (win_o, den_o), (win_h, den_h), periods, angles = _coarse_grid(*a.shape, p_min, p_max)
    mx, my, wt, n_t = grid
    lp = cv2.remap(a, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    wlp = wt * lp
    wlp = np.concatenate([wlp, wlp[:, :n_t]], axis=1)
    n_p = periods.size

    def z(win, den):
        num = np.zeros((n_p, n_t), dtype=np.float32)
        for r0, c0 in win:
            num += wlp[r0 : r0 + n_p, c0 : c0 + n_t]
        return num / den

    score = z(win_o, den_o) - np.maximum(z(win_h, den_h), 0.0)
    return score, periods, angles


def find_lattices(
    power: np.ndarray, shape: tuple[int, int], count: int = CANDIDATES
) -> list[Lattice]:
    """The most likely lattices of the mark's tiling, from `flat_power` of frames of this shape."""
    sharp, smooth = autocorrelation(power, shape)
    p_max = period_limit(sharp.shape)
    score, periods, angles = _coarse(smooth, P_MIN, p_max)
    # local maxima (angles wrap every 90 degrees), best first
    padded = np.concatenate([score[:, -2:], score, score[:, :2]], axis=1)
    peak = cv2.dilate(padded, np.ones((5, 5), np.uint8))[:, 2:-2]
    cand = np.flatnonzero((score >= peak).ravel() & np.isfinite(score).ravel())
    cand = cand[np.argsort(score.ravel()[cand])[::-1]]
    found: list[Lattice] = []
    for idx in cand[: 20 * count]:
        i, j = np.unravel_index(idx, score.shape)
        p0, t0 = _best_relative(sharp, float(periods[i]), float(angles[j]), p_max)
        if any(same_lattice(p0, t0, f) for f in found):
            continue
        found.append(Lattice(p0, t0, float(score[i, j])))
        if len(found) == count:
            break
    nominal, *refined = _refine_many(
        sharp, smooth, [(float(T), 0.0, True)] + [(f.period, f.angle, True) for f in found]
    )
    refined = [f for f in refined if f.score >= MIN_LATTICE_SCORE]
    refined.sort(key=lambda f: -f.score)
    tried = [nominal, *refined]
    axis = _refine_many(
        sharp, smooth, [(p, t, t != 0.0) for p, t in _axis_peaks(score, periods, angles, tried)]
    )
    return [*tried, *axis]


def _axis_peaks(score, periods, angles, tried: list[Lattice]) -> list[tuple[float, float]]:
    """The best peaks along the angle-0 column and the nominal-period row of the coarse grid.

    Not gated by MIN_LATTICE_SCORE: on an axis the competition is ~100x
    smaller than on the plane, so a weak peak there is still a fair guess.
    """
    j0 = int(np.argmin(np.abs(angles)))
    i0 = int(np.argmin(np.abs(np.log(periods / T))))
    column = [(float(p), 0.0) for p in periods]
    row = [(float(T), float(t)) for t in angles]
    out: list[tuple[float, float]] = []
    for line, points, wraps in ((score[:, j0], column, False), (score[i0, :], row, True)):
        left, right = np.roll(line, 1), np.roll(line, -1)
        if not wraps:  # periods do not wrap round; angles do, every 90 degrees
            left[0] = right[-1] = -np.inf
        peaks = np.flatnonzero((line >= left) & (line >= right) & np.isfinite(line))
        taken = 0
        for k in peaks[np.argsort(line[peaks])[::-1]]:
            p, t = points[k]
            seen = tried + [Lattice(q, a, 0.0) for q, a in out]
            if any(same_lattice(p, t, f) for f in seen):
                continue
            out.append((p, t))
            taken += 1
            if taken == AXIS_CANDIDATES:
                break
    return out


def _best_relative(a: np.ndarray, p: float, t: float, p_max: float) -> tuple[float, float]:
    """Of a peak and its sub-/super-lattices, the one the autocorrelation supports best."""
    cands = [
        (p * r, (t + turn + 45.0) % 90.0 - 45.0)
        for r, turn in _HARMONICS
        if P_MIN <= p * r <= p_max
    ]
    ps = np.array([c[0] for c in cands])[:, None] * (1 + np.linspace(-0.006, 0.006, 5))[None, :]
    ts = np.array([c[1] for c in cands])[:, None, None] + np.linspace(-0.3, 0.3, 5)[None, None, :]
    pp = np.broadcast_to(ps[:, :, None], (len(cands), 5, 5))
    tt = np.broadcast_to(ts, (len(cands), 5, 5))
    s = _score(a, pp, tt, lat=_far_points(a.shape, p))
    k = int(np.argmax(s))
    return float(pp.flat[k]), float(tt.flat[k])


def _far_points(shape: tuple[int, int], p: float) -> np.ndarray:
    """Every lattice point (one of each +- pair) within half the image of the origin."""
    reach = max(1, int(max(shape) / 2 / p))
    far = np.array([(i, j) for i in range(-reach, reach + 1) for j in range(0, reach + 1)])
    return far[(far[:, 1] > 0) | ((far[:, 1] == 0) & (far[:, 0] > 0))]


# A lattice also scores (less) as its sub- and super-lattices: half or twice
# the period, or the period / sqrt(2) at 45 degrees; `_best_relative` picks
# the member of that family the autocorrelation supports best.
_HARMONICS = ((1.0, 0.0), (0.5, 0.0), (2.0, 0.0), (2**-0.5, 45.0), (2**0.5, 45.0), (2**-1.5, 45.0))


# refinement stages: (autocorrelation copy, lattice points, period span, angle span)
_STAGES = (
    ("smooth", "near", 0.015, 0.8),
    ("sharp", "far", 0.004, 0.2),
    ("sharp", "far", 0.001, 0.05),
)
# lattice points that pad a shorter point set: so far out their overlap weight is 0
_PAD = 1.0e4


def _refine_many(
    sharp: np.ndarray, smooth: np.ndarray, seeds: list[tuple[float, float, bool]]
) -> list[Lattice]:
    """Coarse-to-fine for several (period, angle, turn) seeds at once, one remap per stage.

    Near lattice points on the smooth copy, then all points on the sharp one;
    with turn=False only the period moves (an angle-0 hypothesis stays one).
    """
    if not seeds:
        return []
    n = len(seeds)
    p0 = np.array([q for q, _, _ in seeds], dtype=float)
    p, t = p0.copy(), np.array([a for _, a, _ in seeds], dtype=float)
    turn = np.array([bool(x) for _, _, x in seeds])
    fars = [_far_points(sharp.shape, q) for q in p0]
    far = np.full((n, max(len(f) for f in fars), 2), _PAD)
    for k, f in enumerate(fars):
        far[k, : len(f)] = f
    near = np.broadcast_to(_LAT.astype(float), (n, *_LAT.shape))
    steps = np.linspace(-1.0, 1.0, 11)
    rows = np.arange(n)
    for copy, points, dp, dt in _STAGES:
        a = smooth if copy == "smooth" else sharp
        ps = p[:, None] + p0[:, None] * dp * steps[None, :]
        ts = t[:, None] + np.where(turn[:, None], dt * steps[None, :], 0.0)
        pp = np.broadcast_to(ps[:, :, None], (n, 11, 11))
        tt = np.broadcast_to(ts[:, None, :], (n, 11, 11))
        sc = _score(a, pp, tt, lat=near if points == "near" else far)
        k = sc.reshape(n, -1).argmax(axis=1)
        p, t = pp.reshape(n, -1)[rows, k], tt.reshape(n, -1)[rows, k]
    best = _score(sharp, p, t, lat=far)
    return [
        Lattice(period=float(p[k]), angle=float((t[k] + 45.0) % 90.0 - 45.0), score=float(best[k]))
        for k in range(n)
    ]
