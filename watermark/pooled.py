"""The keystone slot's homography from evidence pooled over the whole image.

On fine textures (grass, gravel) no block of the image shows the sync lines
alone, so `keystone._block_fit` has no local maps to fit. Pooled, the
blocks still point the way: one homography predicts where every block's 6
lines sit (through its local 2 x 2 map at the block's centre), and the
blocks' smoothed power at those places, summed, is a score with one broad
peak near the truth (`fit`: a similarity on a grid, the affine part, then
the perspective part on a grid, then all 6 parameters). That peak is ~1%
wide, broader than the fold needs (~0.3%: the fold adds the tiles of the
whole image coherently), so `polish` climbs the whole-image fold's own
sync-line power from there.

Like the rest of the slot, both read power at the sync lines' positions
only, never a chip's sign, so whatever they settle on is one lattice of the
counted set. Measured on 3% keystones of 1024 px photos (pilot z at the
lattice, threshold 8.93): gravel 4.7 / 4.9 with the block fit alone, 13.5 /
13.0 after the pooled fit and the polish; grass stays under (its lines pooled
over blocks still do not stand out of its texture: the score's peak
is elsewhere).
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
# block spectra smoothed this much (bins) for the coarse steps: a broader peak
_SMOOTH = 1.5
# a fold whose sync lines hold less than this (host bins ~1, unmarked folds
# reach ~2.5 at chance lattices) is not polished: nothing to climb
POLISH_FLOOR = 3.0
_POLISH_EVALS = 300


def matrix(a: np.ndarray, q: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The homography u = A m / (1 + q.m) about the image's centre, in pixel coordinates."""
    h, w = shape
    to_centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    from_centre = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]])
    proj = np.eye(3)
    proj[:2, :2], proj[2, :2] = a, q
    return from_centre @ proj @ to_centre


def _centred(warp: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(A, q) of a homography in pixel coordinates (the inverse of `matrix`)."""
    h, w = shape
    to_centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    c = to_centre @ warp @ np.linalg.inv(to_centre)
    c = c / c[2, 2]
    return c[:2, :2], c[2, :2]


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
        m = np.linalg.solve(lin, np.broadcast_to(u, lin.shape[:3])[..., None])[..., 0]
        jac = lin / (1.0 + (q[:, None, :] * m).sum(axis=-1))[..., None, None]
        f = k[None, None] @ np.linalg.inv(jac)  # each line's frequency in each block, (N, B, L, 2)
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
    s, th, stretch, shear = x
    c, sn = np.cos(th), np.sin(th)
    turn = np.array([[c, -sn], [sn, c]])
    return s * turn @ np.array([[1 + stretch, shear], [shear, 1 - stretch]])


def _climb(fn, x0: np.ndarray, evals: int, tol: float) -> np.ndarray:
    fit = minimize(fn, x0, method="Nelder-Mead", options=dict(xatol=tol, fatol=1e-4, maxfev=evals))
    return fit.x


def _homography_loss(stack: _Stack, k: np.ndarray):
    """-score of (A, q) packed as 6 numbers (q in thousandths, to scale like A)."""

    def loss(y: np.ndarray) -> float:
        return -float(stack.score(k, y[:4].reshape(1, 2, 2), y[None, 4:] * 1e-3)[0])

    return loss


def prepare(blocks) -> tuple[_Stack, _Stack]:
    """The blocks' spectra smoothed and as they are, stacked (key-free: once per image)."""
    return _Stack(blocks, _SMOOTH), _Stack(blocks, 0.0)


def fit(stacks: tuple[_Stack, _Stack], lines: np.ndarray, shape) -> np.ndarray | None:
    """The homography (pixel coordinates) whose lines hold the most of the blocks' power."""
    coarse, fine = stacks
    zero = np.zeros((1, 2))
    s, th = (g.ravel() for g in np.meshgrid(_SCALES, _ANGLES, indexing="ij"))
    sims = s[:, None, None] * np.stack(
        [np.stack([np.cos(th), -np.sin(th)], -1), np.stack([np.sin(th), np.cos(th)], -1)], 1
    )
    best = None
    for turn in POWER_TURNS:
        k = lines @ turn.T / T
        scores = coarse.score(k, sims, np.zeros((len(sims), 2)))
        i = int(np.argmax(scores))
        if best is None or scores[i] > best[0]:
            best = (scores[i], k, np.array([s[i], th[i], 0.0, 0.0]))
    _, k, x = best
    x = _climb(lambda x: -coarse.score(k, _affine(x)[None], zero)[0], x, 300, 1e-4)
    a = _affine(x)
    grid = np.arange(-_Q_REACH, _Q_REACH + 1e-12, _Q_STEP)
    qs = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    q = qs[int(np.argmax(coarse.score(k, np.broadcast_to(a, (len(qs), 2, 2)), qs)))]
    y = np.r_[a.ravel(), q * 1e3]
    for stack in (coarse, fine):
        y = _climb(_homography_loss(stack, k), y, 600, 1e-5)
    a, q = y[:4].reshape(2, 2), y[4:] * 1e-3
    sv = np.linalg.svd(a, compute_uv=False)
    if sv.min() < 0.8 or sv.max() > 1.25 or np.abs(q).max() > 2 * _Q_REACH:
        return None
    return matrix(a, q, shape)


def polish(warp: np.ndarray, power: float, probe, shape) -> tuple[np.ndarray, float]:
    """Climb the whole-image fold's sync-line power from `warp` (its power `power`).

    `probe(warp)` is that power per dihedral transform (`Folds`); the
    transform `warp` scores best under is the one climbed.
    """
    if power < POLISH_FLOOR:
        return warp, power
    a, q = _centred(warp, shape)
    d = int(np.argmax(probe(warp)))
    y0 = np.r_[a.ravel(), q * 1e3]

    def loss(y):
        return -float(probe(matrix(y[:4].reshape(2, 2), y[4:] * 1e-3, shape))[d])

    simplex = np.array([y0] + [y0 + np.eye(6)[i] * (0.005 if i < 4 else 0.03) for i in range(6)])
    fit = minimize(
        loss,
        y0,
        method="Nelder-Mead",
        options=dict(initial_simplex=simplex, xatol=1e-5, fatol=1e-3, maxfev=_POLISH_EVALS),
    )
    if -fit.fun <= power:
        return warp, power
    return matrix(fit.x[:4].reshape(2, 2), fit.x[4:] * 1e-3, shape), float(-fit.fun)
