"""The keystone slot's homography from evidence pooled over the whole image.

On fine textures (grass, gravel) no block of the image shows the sync lines
alone, so `keystone._block_fit` has no local maps to fit. Pooled, the
blocks still point the way: one homography predicts where every block's 6
lines sit (through its local 2 x 2 map at the block's centre), and the
blocks' power at those places, summed, is a score whose peak near the
truth is ~1% wide (`fit`). The score is rough on texture, so it is climbed
from several starts: a similarity on a grid, its affine part, then the
perspective part on a grid; and the best few of a fixed set of random
homographies. The fold needs ~0.3% (it adds the tiles of the whole image
coherently), so `polish` climbs the whole-image fold's own sync-line power
from the start its fold prefers.

Like the rest of the slot, both read power at the sync lines' positions
only, never a chip's sign, so whatever they settle on is one lattice of the
counted set. Measured on the benchmark's keystones (1024 px photos, 4 keys,
thorough mode): perspective 3% 0.85 -> 0.92 of marks read, 3% + re-share
0.82 -> 0.92; gravel's pilot z 4-5 -> 12-16 on 3 of its 4 keys. Grass
stays under the threshold: there the truth scores higher than the peaks the
climbs reach in most reads, but no start lands near it.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.optimize import minimize

from .lattice import POWER_TURNS
from .pattern import T

# the first grid: one similarity for every block (scale, angle)
_SCALES = np.exp(np.arange(np.log(0.93), np.log(1.07), 0.005))
_ANGLES = np.deg2rad(np.arange(-3.0, 3.01, 0.2))
# then the perspective part (q of u = A m / (1 + q.m), per working pixel)
_Q_STEP = 3e-5
_Q_REACH = 3.3e-4
# random starts (see `fit`): drawn over the similarity grid's range, stretch
# and shear up to RANDOM_SKEW, q over the grid's reach
RANDOM_STARTS = 3000
RANDOM_TOP = 4
RANDOM_EVALS = 150
RANDOM_SKEW = 0.04
RANDOM_SEED = 20261202
# block spectra smoothed this much (bins) for the coarse steps: a broader peak
_SMOOTH = 1.5
# a fold whose sync lines hold less than this (host bins ~1, unmarked folds
# reach ~2.5 at chance lattices) is not polished: nothing to climb
POLISH_FLOOR = 3.0
_POLISH_EVALS = 300


def _shift(shape: tuple[int, int], sign: float) -> np.ndarray:
    """The translation taking pixel coordinates to centred ones (sign -1) or back (+1)."""
    h, w = shape
    return np.array([[1, 0, sign * w / 2], [0, 1, sign * h / 2], [0, 0, 1]])


def matrix(a: np.ndarray, q: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The homography u = A m / (1 + q.m) about the image's centre, in pixel coordinates."""
    proj = np.eye(3)
    proj[:2, :2], proj[2, :2] = a, q
    return _shift(shape, 1.0) @ proj @ _shift(shape, -1.0)


def _centred(warp: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(A, q) of a homography in pixel coordinates (the inverse of `matrix`)."""
    c = _shift(shape, -1.0) @ warp @ _shift(shape, 1.0)
    c = c / c[2, 2]
    return c[:2, :2], c[2, :2]


# The climbs move 6 numbers: A's 4, then q in thousandths (q is ~1e-4 per
# working pixel, A's entries ~1, so one simplex step suits both)
def _pack(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.r_[np.ravel(a), np.ravel(q) * 1e3]


def _unpack(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return y[:4].reshape(2, 2), y[4:] * 1e-3


class _Stack:
    """The blocks' power spectra in one image, sampled for many homographies in one call."""

    def __init__(self, blocks, smooth: float):
        self.centres = np.array([c for c, _ in blocks], dtype=np.float64)
        spectra = [p for _, p in blocks]
        self.bh, self.bw = spectra[0].shape
        if smooth:
            spectra = [cv2.GaussianBlur(p, (0, 0), smooth) for p in spectra]
        self.image = np.ascontiguousarray(np.concatenate(spectra), dtype=np.float32)
        self.rows = (np.arange(len(spectra)) * self.bh)[None, :, None]

    def score(self, k: np.ndarray, a: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Power at the lines (k: (L, 2) cycles per mark pixel), summed over the blocks, for N
        homographies (A, q)."""
        u = self.centres[None, :, :]  # (1, B, 2)
        lin = a[:, None] - u[..., :, None] * q[:, None, None, :]  # A - u q^T, (N, B, 2, 2)
        # 2 x 2 inverses in closed form: numpy's batched solve costs more per tiny matrix
        p, r, s, t = lin[..., 0, 0], lin[..., 0, 1], lin[..., 1, 0], lin[..., 1, 1]
        det = p * t - r * s
        inv = np.stack([np.stack([t, -r], -1), np.stack([-s, p], -1)], -2) / det[..., None, None]
        m = (inv @ u[..., None])[..., 0]  # the block centre in the mark's frame
        grow = 1.0 + (q[:, None, :] * m).sum(axis=-1)  # jac = lin / grow, so jac^-1 = inv * grow
        f = (k[None, None] @ inv) * grow[..., None, None]  # each line in each block, (N, B, L, 2)
        mx = f[..., 0] * self.bw + self.bw // 2
        my = f[..., 1] * self.bh + self.bh // 2 + self.rows
        n = len(a)
        got = cv2.remap(
            self.image,
            mx.reshape(n, -1).astype(np.float32),
            my.reshape(n, -1).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        return got.sum(axis=1)


def _affine(x: np.ndarray) -> np.ndarray:
    """A 2 x 2 map from (scale, angle, stretch, shear)."""
    return _affines(np.asarray(x, dtype=np.float64)[None])[0]


def _affines(x: np.ndarray) -> np.ndarray:
    """(N, 2, 2) maps from (N, 4) rows of (scale, angle, stretch, shear)."""
    s, th, stretch, shear = x.T
    c, sn = np.cos(th), np.sin(th)
    turn = np.stack([np.stack([c, -sn], -1), np.stack([sn, c], -1)], -2)
    skew = np.stack([np.stack([1 + stretch, shear], -1), np.stack([shear, 1 - stretch], -1)], -2)
    return s[:, None, None] * turn @ skew


def _climb(fn, x0: np.ndarray, evals: int, tol: float) -> np.ndarray:
    fit = minimize(fn, x0, method="Nelder-Mead", options=dict(xatol=tol, fatol=1e-4, maxfev=evals))
    return fit.x


def _homography_loss(stack: _Stack, k: np.ndarray):
    """-score of (A, q) packed as 6 numbers (`_pack`)."""

    def loss(y: np.ndarray) -> float:
        a, q = _unpack(y)
        return -float(stack.score(k, a[None], q[None])[0])

    return loss


def prepare(blocks) -> tuple[_Stack, _Stack]:
    """The blocks' spectra smoothed and as they are, stacked (key-free: once per image)."""
    return _Stack(blocks, _SMOOTH), _Stack(blocks, 0.0)


def fit(stacks: tuple[_Stack, _Stack], lines: np.ndarray, shape) -> list[np.ndarray]:
    """Homographies (pixel coordinates) whose lines hold the most of the blocks' power.

    The pooled score is rough on texture: its highest peak is often not the
    truth's, though the truth scores higher than most (6 of 8 reads of
    keystoned grass and gravel). So besides the climb from the grid's best
    similarity, the best RANDOM_TOP of RANDOM_STARTS random homographies are
    climbed too, and the caller keeps the one its whole-image fold prefers.
    """
    coarse, fine = stacks
    starts = [_grid_start(coarse, lines), *_random_starts(coarse, lines)]
    out = []
    for i, (k, y) in enumerate(starts):
        evals = 600 if i == 0 else RANDOM_EVALS
        for stack in (coarse, fine):
            y = _climb(_homography_loss(stack, k), y, evals, 1e-5)
        a, q = _unpack(y)
        sv = np.linalg.svd(a, compute_uv=False)
        if sv.min() >= 0.8 and sv.max() <= 1.25 and np.abs(q).max() <= 2 * _Q_REACH:
            out.append(matrix(a, q, shape))
    return out


def _grid_start(coarse: _Stack, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lines in the best transform, 6 parameters): a similarity on a grid, its affine
    climb, then q on a grid."""
    s, th = (g.ravel() for g in np.meshgrid(_SCALES, _ANGLES, indexing="ij"))
    params = np.stack([s, th, np.zeros_like(s), np.zeros_like(s)], -1)
    sims = _affines(params)
    best = None
    for turn in POWER_TURNS:
        k = lines @ turn.T / T
        scores = coarse.score(k, sims, np.zeros((len(sims), 2)))
        i = int(np.argmax(scores))
        if best is None or scores[i] > best[0]:
            best = (scores[i], k, params[i])
    _, k, x = best
    zero = np.zeros((1, 2))
    x = _climb(lambda x: -coarse.score(k, _affine(x)[None], zero)[0], x, 300, 1e-4)
    a = _affine(x)
    grid = np.arange(-_Q_REACH, _Q_REACH + 1e-12, _Q_STEP)
    qs = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    q = qs[int(np.argmax(coarse.score(k, np.broadcast_to(a, (len(qs), 2, 2)), qs)))]
    return k, _pack(a, q)


def _random_starts(coarse: _Stack, lines: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The RANDOM_TOP best of RANDOM_STARTS random homographies per transform, overall."""
    rng = np.random.default_rng(RANDOM_SEED)  # fixed: the same starts for every image and key
    n = RANDOM_STARTS
    x = np.c_[
        np.exp(rng.uniform(np.log(_SCALES[0]), np.log(_SCALES[-1]), n)),
        rng.uniform(_ANGLES[0], _ANGLES[-1], n),
        rng.uniform(-RANDOM_SKEW, RANDOM_SKEW, (n, 2)),
    ]
    a = _affines(x)
    q = rng.uniform(-_Q_REACH, _Q_REACH, (n, 2))
    pool = []
    for turn in POWER_TURNS:
        k = lines @ turn.T / T
        scores = coarse.score(k, a, q)
        top = np.argsort(-scores)[:RANDOM_TOP]
        pool += [(scores[i], k, _pack(a[i], q[i])) for i in top]
    pool.sort(key=lambda c: -c[0])
    return [(k, y) for _, k, y in pool[:RANDOM_TOP]]


def polish(
    warp: np.ndarray,
    powers: np.ndarray,
    probe,
    shape,
    evals: int = _POLISH_EVALS,
    floor: float = POLISH_FLOOR,
) -> tuple[np.ndarray, float]:
    """Climb the whole-image fold's sync-line power from `warp`; (homography, its power).

    `probe(warp)` is that power per dihedral transform (`Folds`), `powers`
    its value at `warp`; the transform `warp` scores best under is the one
    climbed.
    """
    d = int(np.argmax(powers))
    power = float(powers[d])
    if power < floor:
        return warp, power
    y0 = _pack(*_centred(warp, shape))

    def loss(y):
        return -float(probe(matrix(*_unpack(y), shape))[d])

    simplex = np.array([y0] + [y0 + np.eye(6)[i] * (0.005 if i < 4 else 0.03) for i in range(6)])
    fit = minimize(
        loss,
        y0,
        method="Nelder-Mead",
        options=dict(initial_simplex=simplex, xatol=1e-5, fatol=1e-3, maxfev=evals),
    )
    if -fit.fun <= power:
        return warp, power
    return matrix(*_unpack(fit.x), shape), float(-fit.fun)
