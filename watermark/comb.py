"""Keyed synchronization: find scale and rotation from the mark's few strong sync lines.

The tile puts SYNC_SHARE of its energy on SYNC_BINS key-chosen frequencies
(`pattern.py`). A lattice of period P at angle theta moves tile frequency k
(cycles per tile, direction psi) to |k| / P cycles per working pixel in
direction psi + theta (-psi + theta for the mirror image).
In the log-polar power spectrum every line therefore moves by the same
(-log P, theta), so the comb score of all (P, theta) hypotheses at once is a
sum of SYNC_BINS shifted slices of one log-polar image.

Why keyed lines and not only the key-free autocorrelation (`sync.py`): the
evidence an energy detector collects from lines grows like their energy
over sqrt(their number). The pilot and payload spread the rest of the
energy over ~2,200 frequencies, which on heavy texture (grass, gravel)
leaves the true lattice below chance peaks; 20% of the energy on 6 lines
stands out (measured in `benchmarks/watermark_robustness.py`).

This reads only power (magnitudes) at key-chosen positions, never the
chips' signs, and the sync bins are disjoint from the pilot's: the pilot
test that follows stays a sum of fair coins (README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .lattice import P_MAX, P_MIN, Lattice, same_lattice
from .pattern import SYNC_R_LO, Pattern, frozen

# lattices proposed per key (counted in hypotheses.HYPOTHESES): the best
# peaks of the whole plane, plus the best one near the axis
CANDIDATES = 4
# Crops, screenshots and re-shared crops keep the angle at exactly 0, and on
# heavy texture the host's own power at the moved line positions can push
# their lattice down the plane's ranking and its refined angle off the axis
# (grass cropped to 50%: 3rd to 5th of the plane over four marks, refined to
# -0.4 degrees, pilot z 4.6; on the axis 8.2, and 11.9 at the 0.4% period
# offset). Unless one of the best already lies on the axis, the best peak
# within AXIS_ANGLE degrees of it gets a slot of its own, refined in period
# on the axis itself, as the key-free search gives its angle-0 column one.
# An angle-0 lattice also folds with a plain resize (cheap).
AXIS_ANGLE = 1.0
# The fast test (`find(..., floor=FAST_FLOOR)`) leaves out lattices more than
# AXIS_ANGLE off the axis whose comb score (the sum of the 6 lines'
# row-normalized log-polar power) is under FAST_FLOOR, before refining or
# folding them: the comb picks, per key, where the host's power lines up
# best with the key's lines, so on an unmarked image its candidates pass the
# fold's sync screen almost always, and each costs a refinement and a fold.
# Their scores separate where that screen does not: on unmarked views the
# off-axis candidates score a median of 14 and 88% under 16, while every
# off-axis comb lattice that detected over 15 images x 37 attacks x 4 keys
# scored 19.7 or more (grass rotated 5 degrees; the rest 22 and up). Near
# the axis (crops, screenshots) true lattices score as low as 10.7 on gravel,
# so those are always kept. It reads power at the key's sync positions only,
# and leaving out counted hypotheses keeps the bound as it is.
FAST_FLOOR = 16.0
_LOG_STEP = 0.005  # ~half a frequency bin at the lines' radius in a 512 px image
_ANGLE_STEP = 0.4  # degrees
_N_PHI = int(round(180.0 / _ANGLE_STEP))
# each coarse column's angle, mod 90 degrees, in [-45, 45)
_COLUMN_ANGLES = (np.arange(_N_PHI) * _ANGLE_STEP + 45.0) % 90.0 - 45.0
_F_HI = 0.48  # cycles per working pixel: the log-polar image stops short of Nyquist
# The log-polar image is held as int16 in steps of 1 / _LEVELS of a row's
# spread, clipped at _CLIP spreads: the 12 slice sums per key then move a
# third of the bytes (the comb was the largest per-key cost), and 6 lines at
# the clip still fit in int16. Resolution 0.005 spreads, far finer than the
# peaks that matter; a line clipped at 27 spreads already outranks chance.
_LEVELS = 200
_CLIP = 27.0
# `_refine`'s two grids (period step, angle step in degrees), each over
# -_HALF_STEPS..+_HALF_STEPS, and so the farthest it can turn a peak
_GRIDS = ((0.0025, 0.2), (0.0005, 0.04))
_HALF_STEPS = 5
_REACH = _HALF_STEPS * sum(dt for _, dt in _GRIDS)


def _lines(pat: Pattern) -> tuple[np.ndarray, np.ndarray]:
    """log |k| (cycles per tile) and direction (degrees) of the key's sync lines."""
    ky, kx = pat.ky[pat.sync].astype(float), pat.kx[pat.sync].astype(float)
    return np.log(np.hypot(ky, kx)), np.degrees(np.arctan2(ky, kx))


@dataclass(frozen=True)
class Prepared:
    """The key-free half of the comb: one per image (or clip), shared by every key tried."""

    p: np.ndarray  # the blurred power, zero frequency at the centre row
    shape: tuple[int, int]  # of the working images
    logf: np.ndarray  # log frequency of each log-polar row
    periods: np.ndarray  # the period grid searched
    wrapped: np.ndarray  # the log-polar image, rows reversed and padded, columns doubled


def prepare(power: np.ndarray, shape: tuple[int, int], p_max: float) -> Prepared:
    """`find`'s input from `sync.flat_power` of working images of this shape (key-free).

    Zero frequency at the centre row, lightly blurred: a line off the bin
    grid spreads. Then the log-polar image every key's lines are read from.
    """
    p = cv2.GaussianBlur(np.fft.fftshift(power, axes=0).astype(np.float32), (0, 0), 0.6)
    h, w = shape
    # the lowest frequency a line can have: the lowest radius at the longest period
    mx, my, logf = _polar_maps(h, w, 0.98 * SYNC_R_LO / P_MAX)
    lp = cv2.remap(p, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # each log-frequency row to zero mean and unit spread: every line then
    # weighs the same wherever the hypothesis puts it
    lp -= lp.mean(axis=1, keepdims=True)
    lp /= lp.std(axis=1, keepdims=True) + 1e-6
    periods = np.exp(np.arange(np.log(P_MIN), np.log(p_max), _LOG_STEP))
    n_p, n_rows = periods.size, logf.size
    # rows reversed and padded, so each line's rows for periods[0], periods[1],
    # ... are one contiguous slice; columns doubled, so each angle window is one
    wrapped = np.zeros((n_rows + 2 * n_p, 2 * _N_PHI), dtype=np.int16)
    levels = np.rint(np.clip(lp, -_CLIP, _CLIP) * _LEVELS).astype(np.int16)
    wrapped[n_p : n_p + n_rows] = np.concatenate([levels, levels], axis=1)[::-1]
    frozen(p, wrapped)
    return Prepared(p, (h, w), logf, periods, wrapped)


@lru_cache(maxsize=8)
def _polar_maps(h: int, w: int, f_lo: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """remap coordinates of the log-polar grid (rows: log f, columns: direction -90..90)."""
    logf = np.arange(np.log(f_lo), np.log(_F_HI), _LOG_STEP)
    phi = np.deg2rad(-90.0 + _ANGLE_STEP * np.arange(_N_PHI))
    f = np.exp(logf)[:, None]
    fx, fy = f * np.cos(phi)[None, :], f * np.sin(phi)[None, :]
    mx = (fx * w).astype(np.float32)
    my = (fy * h + h // 2).astype(np.float32)
    frozen(mx, my, logf)
    return mx, my, logf


def sample_power(p: np.ndarray, fx: np.ndarray, fy: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear samples of the prepared power at frequencies (fx, fy), cycles per pixel."""
    flip = fx < 0  # the power spectrum of a real image is symmetric
    fx, fy = np.where(flip, -fx, fx), np.where(flip, -fy, fy)
    shape = fx.shape
    mx = (fx * w).astype(np.float32).reshape(1, -1)
    my = (fy * h + h // 2).astype(np.float32).reshape(1, -1)
    out = cv2.remap(p, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(shape)


def _exact(p, logk, psi, shape, period, angle, mirror) -> np.ndarray:
    """Comb score at continuous (period, angle) hypotheses (arrays of one shape)."""
    h, w = shape
    sign = np.where(mirror, -1.0, 1.0)[..., None]
    direction = np.deg2rad(sign * psi + np.asarray(angle)[..., None])
    f = np.exp(logk) / np.asarray(period)[..., None]
    return sample_power(p, f * np.cos(direction), f * np.sin(direction), h, w).sum(axis=-1)


def find(prep: Prepared, pat: Pattern, floor: float | None = None) -> list[Lattice]:
    """The CANDIDATES lattices whose moved sync lines carry the most power, best first.

    With a floor, those off the axis scoring under it are left out (`FAST_FLOOR`).
    """
    p, shape, logf, periods, wrapped = prep.p, prep.shape, prep.logf, prep.periods, prep.wrapped
    logk, psi = _lines(pat)
    n_p, n_rows = periods.size, logf.size
    scores = []
    for mirror in (False, True):
        score = np.zeros((n_p, _N_PHI), dtype=np.int16)
        for lk, ps in zip(logk, -psi if mirror else psi, strict=True):
            # line row at periods[i]: r0 - i, i.e. reversed row n_rows - 1 - r0 + i
            r0 = int(np.rint((lk - np.log(periods[0]) - logf[0]) / _LOG_STEP))
            start = n_p + n_rows - 1 - r0
            c0 = int(np.rint((ps + 90.0) / _ANGLE_STEP)) % _N_PHI
            # hypothesis angle theta = j * step puts this line at column c0 + j
            score += wrapped[start : start + n_p, c0 : c0 + _N_PHI]
        scores.append(score)
    straight, mirrored = scores
    best = np.maximum(straight, mirrored)
    # local maxima (angles wrap every 180 degrees), best first
    padded = np.concatenate([best[:, -3:], best, best[:, :3]], axis=1)
    peak = cv2.dilate(padded, np.ones((7, 7), np.uint8))[:, 3:-3]
    cand = np.flatnonzero((best >= peak).ravel())
    cand = cand[np.argsort(best.ravel()[cand])[::-1]]
    found: list[Lattice] = []

    def refined(idx) -> Lattice:
        i, j = np.unravel_index(idx, best.shape)
        mirror = bool(mirrored[i, j] > straight[i, j])
        period, angle = _refine(p, logk, psi, shape, float(periods[i]), j * _ANGLE_STEP, mirror)
        return Lattice(period, (angle + 45.0) % 90.0 - 45.0, float(best[i, j]) / _LEVELS)

    slots = 0
    for idx in cand[: 10 * CANDIDATES]:
        if floor is not None and _weak_off_axis(best.flat[idx], idx % _N_PHI, floor):
            # takes its slot unrefined: every later peak scores lower still
            slots += 1
        else:
            lat = refined(idx)
            if any(same_lattice(lat.period, lat.angle, f) for f in found):
                continue
            slots += 1
            if floor is None or abs(lat.angle) <= AXIS_ANGLE or lat.score >= floor:
                found.append(lat)
        if slots == CANDIDATES - 1:
            break
    if not any(lat.angle == 0.0 for lat in found):
        # the best peak in the coarse grid's columns within AXIS_ANGLE of the axis
        near = cand[np.abs(_COLUMN_ANGLES[cand % _N_PHI]) <= AXIS_ANGLE]
        if near.size:
            i, j = np.unravel_index(near[0], best.shape)
            mirror = bool(mirrored[i, j] > straight[i, j])
            quarter = 90.0 * round(j * _ANGLE_STEP / 90.0)  # the axis this column lies near
            period, _ = _refine(p, logk, psi, shape, float(periods[i]), quarter, mirror, turn=False)
            found.append(Lattice(period, 0.0, float(best[i, j]) / _LEVELS))
    return found


def _weak_off_axis(level: int, column: int, floor: float) -> bool:
    """Under the floor, and so far off the axis that refining cannot bring it within AXIS_ANGLE."""
    return level < floor * _LEVELS and abs(_COLUMN_ANGLES[column]) > AXIS_ANGLE + _REACH


def _refine(p, logk, psi, shape, period: float, angle: float, mirror: bool, turn: bool = True):
    """Finer grids around a peak: the fold needs ~0.4% in period and ~0.2 degrees.

    turn=False holds the angle (the axis slot): the period grids only.
    """
    steps = np.arange(-_HALF_STEPS, _HALF_STEPS + 1)
    turns = steps if turn else np.zeros(1)
    for dp, dt in _GRIDS:
        pp = period * np.exp(dp * steps)[:, None] * np.ones(turns.size)[None, :]
        tt = angle + dt * turns[None, :] * np.ones(steps.size)[:, None]
        s = _exact(p, logk, psi, shape, pp, tt, np.full(pp.shape, mirror))
        k = int(np.argmax(s))
        period, angle = float(pp.flat[k]), float(tt.flat[k])
    return period, angle
