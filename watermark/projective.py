"""The keystone slot's grid estimate: the projective part on a grid, the affine part from peaks.

On fine textures (grass) neither the blocks' local maps nor the pooled score
find a 3% keystone (`keystone.py`, `pooled.py`): a block holds a quarter of
the image's evidence, too little for its lines to stand out of the host. The
whole image holds all of it, but a homography smears each line over several
bins. Split the homography u = A m / (1 + q.m) into its projective part
u = v / (1 + p.v) (p = A^-T q) after an affine one v = A m: undoing the
projective part alone leaves an affine image, in whose whole spectrum every
line is one sharp peak again, at A^-T times its frequency. So the
projective part is searched on a grid (a line stays sharp within ~3e-5 per
working pixel of it), and at each grid point the affine part comes from the
lines' peaks: any two lines' peaks fix A, and the 6 lines' power where that
A puts them scores it. The CANDIDATES best grid points are climbed a little
on the whole-image fold's sync-line power (`pooled.polish`, short), and the
FINALISTS that climb highest are climbed in full.

Measured on grass keystoned by 3% (4 keys, thorough mode): the truth's 6
lines hold 4-7 flattened host bins each in the whole image's spectrum once
its projective part is undone, against ~2 with it (p = 0) or at chance
positions; the grid's best points polish to a fold of 6.3-7.6 host bins
and a pilot z of 9-12 on 3 of the 4 keys, where the other estimates reached
4-5. Like the rest of the slot it reads power at the sync lines' positions
only, never a chip's sign, so whatever it settles on is still the slot's one
lattice in the bound.

Key-free work (the warped images' spectra, 225 of them) is done once per
image and shared by the keys; each key pays its peak pairs and the climbs.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import scipy.fft as sfft

from . import pooled
from .lattice import POWER_TURNS, rectify
from .pattern import SYNC_R_HI, T
from .whitening import flatten

# the projective part's grid, per working pixel about the centre (a 3%
# keystone of the benchmark's: |p| ~2e-4; a line stays sharp ~3e-5 off it)
P_STEP = 4e-5
P_REACH = 2.8e-4
# the affine part within this of the identity (entries of A^-T - I): each
# line's peak is looked for within WINDOW bins of its nominal position
MAX_SKEW = 0.06
WINDOW = 6
PEAKS = 4  # local maxima kept per line's window
# each bin clipped first: a periodic host's harmonics (a chessboard) are
# single bins of hundreds of host bins, a line of the mark holds 4-40
CLIP = 12.0
CANDIDATES = 8  # grid points climbed a little
SHORT_EVALS = 40
# the short climbs start lower than `pooled.POLISH_FLOOR`: a grid point's
# affine part comes from whole-bin peaks, ~0.5% off, about the width of the
# fold's own peak, so the truth's fold may start at 2.9 and climb to 6-8
SHORT_FLOOR = 2.5
FINALISTS = 2  # of those, climbed in full


class Spectra:
    """The working image's flattened power, clipped, with each grid point's projective
    part undone: boxes centred on frequency 0 that hold every line's window (key-free)."""

    def __init__(self, work: np.ndarray):
        h, w = work.shape
        self.shape = work.shape
        self.scale = np.diag([w / T, h / T])  # cycles per tile -> bins, (x, y)
        reach = SYNC_R_HI * (1 + 2 * MAX_SKEW)  # |M k| at the most
        self.rx = int(np.ceil(reach * w / T)) + WINDOW + 2
        self.ry = int(np.ceil(reach * h / T)) + WINDOW + 2
        # a working image too narrow for the boxes (a panorama's short side of
        # a few pixels at the 512 px reference) has no grid
        self.usable = self.rx <= w // 2 and self.ry < h // 2
        iy = np.arange(-self.ry, self.ry + 1)[:, None]
        ix = np.arange(-self.rx, self.rx + 1)[None, :]
        # the rfft2 half holds kx >= 0; a bin with kx < 0 is the mirror of (-ky, -kx)
        rows = np.where(ix < 0, -iy, iy) % h
        cols = np.abs(ix)
        grid = np.arange(-P_REACH, P_REACH + 1e-12, P_STEP)
        self.ps = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
        if not self.usable:
            self.ps = self.ps[:0]
        n = len(self.ps)
        self.boxes = np.empty((n, 2 * self.ry + 1, 2 * self.rx + 1), np.float16)
        self.peaks = np.empty(self.boxes.shape, bool)
        kernel = np.ones((3, 3), np.uint8)
        for i, p in enumerate(self.ps):
            rect = rectify(work, pooled.matrix(np.eye(2), p, work.shape))
            f = sfft.rfft2(rect)
            power = flatten((f.real**2 + f.imag**2).astype(np.float32))
            box = np.minimum(power[rows, cols], CLIP)
            self.peaks[i] = box >= cv2.dilate(box, kernel)
            self.boxes[i] = box

    def holds(self, k: np.ndarray) -> bool:
        """Whether every window around lines k (cycles per tile) lies inside the boxes.

        The boxes reach SYNC_R_HI cycles per tile moved by MAX_SKEW; lines a base
        lattice moved further (`keystone.find` around a smaller lattice, a
        picture under ~90% of the frame) are left to the other fits.
        """
        centres = np.abs(np.rint(k @ self.scale.T))
        return self.usable and bool(np.all(centres + WINDOW + 1 <= [self.rx, self.ry]))


def _candidates(spectra: Spectra, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grid points, lines, PEAKS, 2) positions (x, y bins from frequency 0) of each
    window's strongest local maxima, and their power (0 where a window has fewer)."""
    side = 2 * WINDOW + 1
    steps = np.arange(side)
    x0 = np.rint(centres[:, 0]).astype(np.int64) + spectra.rx - WINDOW
    y0 = np.rint(centres[:, 1]).astype(np.int64) + spectra.ry - WINDOW
    yy = (y0[:, None] + steps)[:, :, None]
    xx = (x0[:, None] + steps)[:, None, :]
    wins = spectra.boxes[:, yy, xx].astype(np.float32)
    vals = np.where(spectra.peaks[:, yy, xx], wins, 0.0).reshape(*wins.shape[:2], -1)
    top = np.argsort(-vals, axis=-1)[..., :PEAKS]
    pos = np.stack(
        [x0[:, None] + top % side - spectra.rx, y0[:, None] + top // side - spectra.ry], -1
    )
    return pos.astype(np.float64), np.take_along_axis(vals, top, axis=-1)


def _read(spectra: Spectra, pos: np.ndarray) -> np.ndarray:
    """The largest of the 4 bins around each position (x, y bins from frequency 0), in the
    box of the grid point of the position's leading index."""
    n, bh, bw = spectra.boxes.shape
    x = np.clip(np.floor(pos[..., 0]).astype(np.int64) + spectra.rx, 0, bw - 2)
    y = np.clip(np.floor(pos[..., 1]).astype(np.int64) + spectra.ry, 0, bh - 2)
    i = np.arange(n).reshape((-1,) + (1,) * (pos.ndim - 2))
    at = (i * bh + y) * bw + x
    flat = spectra.boxes.reshape(-1)
    near = np.maximum(flat[at], flat[at + 1])
    return np.maximum(near, np.maximum(flat[at + bw], flat[at + bw + 1])).astype(np.float32)


_PAIRS = np.array(list(itertools.combinations(range(6), 2)))


def _best_affines(spectra: Spectra, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per grid point, for lines k (cycles per tile): the best score (-1 with none) of the
    maps M (bins = scale M k) that two lines' peaks fix, all lines' power summed where M
    puts them, and that M."""
    d = spectra.scale
    pos, vals = _candidates(spectra, k @ d.T)  # (n, lines, PEAKS, 2), (n, lines, PEAKS)
    j, m = _PAIRS[:, 0], _PAIRS[:, 1]
    f_inv = np.linalg.inv(np.stack([k[j], k[m]], axis=-1))  # (pairs, 2, 2)
    # every pairing of line j's peaks with line m's: M = D^-1 [a b] F^-1
    shape = (len(pos), len(j), PEAKS, PEAKS, 2)
    a = np.broadcast_to(pos[:, j][:, :, :, None, :], shape)
    b = np.broadcast_to(pos[:, m][:, :, None, :, :], shape)
    maps = np.linalg.inv(d) @ np.stack([a, b], axis=-1) @ f_inv[None, :, None, None]
    ok = np.abs(maps - np.eye(2)).max(axis=(-2, -1)) <= MAX_SKEW
    ok &= (vals[:, j][:, :, :, None] > 0) & (vals[:, m][:, :, None, :] > 0)
    # D M k for every line: (n, pairs, PEAKS, PEAKS, lines, 2)
    moved = np.stack(
        [
            d[0, 0] * (maps[..., 0, 0, None] * k[:, 0] + maps[..., 0, 1, None] * k[:, 1]),
            d[1, 1] * (maps[..., 1, 0, None] * k[:, 0] + maps[..., 1, 1, None] * k[:, 1]),
        ],
        axis=-1,
    )
    scores = np.where(ok, _read(spectra, moved).sum(axis=-1), -1.0).reshape(len(pos), -1)
    best = scores.argmax(axis=1)
    flat = maps.reshape(len(pos), -1, 2, 2)
    return scores[np.arange(len(pos)), best], flat[np.arange(len(pos)), best]


def estimates(spectra: Spectra, lines: np.ndarray, after=None) -> list[np.ndarray]:
    """The CANDIDATES best grid points' homographies (rectified -> image), best first;
    each followed by `after` (a base lattice's similarity, `keystone.find`) if given."""
    found = []
    for turn in POWER_TURNS:
        if not spectra.holds(lines @ turn.T):
            continue
        scores, maps = _best_affines(spectra, lines @ turn.T)
        found += [(s, i, m) for i, (s, m) in enumerate(zip(scores, maps, strict=True)) if s >= 0]
    found.sort(key=lambda c: -c[0])
    out = []
    for _, i, m in found[:CANDIDATES]:
        a = np.linalg.inv(m).T  # lines at A^-T k
        warp = pooled.matrix(a, a.T @ spectra.ps[i], spectra.shape)
        out.append(warp if after is None else warp @ after)
    return out


def climb(
    spectra: Spectra, lines: np.ndarray, probe, after=None
) -> tuple[np.ndarray, float] | None:
    """The grid's estimate polished: each candidate climbed SHORT_EVALS steps, the
    FINALISTS that got highest climbed in full, the best of them (homography, its fold's
    sync-line power); None without a candidate."""
    short = [
        pooled.polish(warp, probe(warp), probe, spectra.shape, SHORT_EVALS, SHORT_FLOOR)
        for warp in estimates(spectra, lines, after)
    ]
    short.sort(key=lambda c: -c[1])
    full = [pooled.polish(w, probe(w), probe, spectra.shape) for w, _ in short[:FINALISTS]]
    return max(full, key=lambda c: c[1], default=None)
