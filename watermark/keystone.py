"""The keystone slot: one projective lattice per key for an upload seen at a slant.

A phone photo of a screen or a skewed scan maps the mark's plane by a
homography. Its tiles are no longer one lattice: near one side they are a
few percent larger, and turned, than near the other, so no single fold is
coherent over the image (a 3% keystone: 0.27 of marks found). Locally the
map is affine, and the key's 6 sync lines (strong single frequencies,
`pattern.py`) show it: in each of 9 overlapping blocks of the working image
the lines sit at the frequencies the block's local linear map moves them
to. Their peaks, found near where the nominal geometry puts them, give each
block's 2 x 2 map by least squares; a homography fitted to the 9 local maps
brings the working image back to the mark's frame, where the nominal
lattice folds it.

Like the comb, it reads power at the sync lines' positions only (their own
hash of the key, disjoint from the pilot's bins), never a chip's sign: the
pilot's signs stay fair coins given the lattice, and the slot is one lattice
more in the bound. It looks around the nominal lattice (a keystone of the
whole picture, maybe resized) or, where the sync lines show smeared around
a smaller or larger one instead, around that one at angle 0 (a phone photo
of a screen showing the picture smaller than the frame); a slant after a
rotation, or of a crop, is not searched.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.fft as sfft
from scipy.optimize import least_squares

from . import pooled, projective
from .lattice import NOMINAL, POWER_TURNS, Lattice, rectify
from .pattern import Pattern, T
from .peaks import near_peaks
from .whitening import flatten

SLOTS = 1
# The fast test runs the slot only where the key's sync lines already stand
# out of the nominal fold (its largest sync power over the 8 transforms, 1
# on a host bin): a slant smears the fold but leaves part of them. Measured
# with 4 keys on the benchmark's 1024 px photos, a marked copy keystoned by
# 1 / 2 / 3% reaches 3.0 in 90 / 63 / 52% of reads.
FAST_GATE = 3.0
# Where the fold's lines are gone, a slant has smeared each of them over a
# few bins around its nominal frequency in the whole image's spectrum, which
# the fold, reading one bin in 4 per axis, no longer sees: so the gate also
# passes when the flattened power in a window of (2 x _SMEAR_RADIUS + 1)^2
# bins around the 6 nominal positions, averaged, stands SMEAR_GATE spreads of
# such an average over a host's (under the 4 transforms that move power).
# Measured with 4 keys on the benchmark's 1024 px photos, a 2 / 3% slant
# passes the fold's gate in 63 / 52% of reads, either gate in 87 / 73%; of
# 5,000 unmarked views (a third of them slanted) with random keys, 0.54%
# pass the fold's and 0.56% either (chessboards, text, a few photos), so
# the hook pays the slot's ~55 ms for about one unmarked upload in 45 with 4
# keys. (Before the clip below, windows of 5 or 7 bins let more chessboards
# through; of 13 bins, the flattening's own 4-bin blur eats the smear.)
SMEAR_GATE = 2.5
# A phone photo of a screen often shows the picture smaller than the frame
# (a border of background around it), so its lattice is a smaller one at a
# slant. Where the nominal lattice passes neither gate, the smeared lines are
# read at 35 periods (frequency factors 0.7-1.94, i.e. the picture at
# 52-143% of the frame, in 3% steps) and the slot looks around the best of
# them (angle 0; its blocks' search covers a few degrees) if it reaches
# SCALED_GATE, higher than SMEAR_GATE since the best of many is taken.
# Measured (`watermark_robustness.py --geometry`, 4 keys): the picture at 90%
# / 75% of the frame at a 2% slant 0.37 / 0.07 -> 0.83 / 0.57 in the fast
# test; unmarked views passing some gate 0.56 -> 1.12% (chessboards half).
SCALED_GATE = 3.0
_BASE_FACTORS = np.exp(np.arange(np.log(0.7), np.log(2.0), 0.03))
_SMEAR_RADIUS = 4
# each bin clipped at 8 host bins first: a smeared line raises many bins a
# little, a periodic host (a chessboard's harmonics) a few by hundreds
_SMEAR_CLIP = 8.0
# Thorough mode's third estimate, the projective grid (`projective.py`, ~0.5 s
# an image and ~0.6 s a key), runs unless the other two polished to a fold
# this strong already: the truth's folds hold 6.5-7.8 host bins on grass,
# where the grid is needed, 9-30 on the photos the others find
GRID_SKIP = 8.0
_GRID = 3  # blocks per axis, overlapping
_BLOCK = (
    0.67  # a block's side, as a share of the image's: 0.5 left coins and ihc under the threshold
)
# a block's lines must hold this many times a flattened host bin, on average,
# for its local map to count
_BLOCK_FLOOR = 3.0


def smeared(power: np.ndarray) -> np.ndarray:
    """A working image's flattened power (`whitening.flat_power`, rfft2 layout) as the
    whole plane, zero frequency at the centre, averaged over the gate's windows (key-free)."""
    rows = np.fft.fftshift(np.arange(power.shape[0]))
    clipped = np.minimum(power, _SMEAR_CLIP, dtype=np.float32)
    # the rfft2 half holds (ky, kx >= 0); the other half is its mirror image
    full = np.concatenate([clipped[(-rows) % rows.size, :0:-1], clipped[rows]], axis=1)
    side = 2 * _SMEAR_RADIUS + 1
    return cv2.blur(full, (side, side))


def smear_scores(
    box: np.ndarray, shape: tuple[int, int], pat: Pattern, factors=(1.0,)
) -> np.ndarray:
    """The gate's z per frequency factor: the key's 6 lines' windowed mean power at their
    nominal frequencies times the factor, best of the 4 transforms, in spreads of such a
    mean over a host (1 +- 1 a bin); the factor is T over the period of the lattice."""
    h, w = shape
    moved = np.einsum("nj,dij->dni", _lines(pat), POWER_TURNS)  # (transform, line, (kx, ky))
    f = np.asarray(factors, dtype=np.float64)[:, None, None]
    # always inside the plane: a line's offset from its centre is at most
    # 1.94 x 28 / 128 = 0.42 of the side (`pattern.SYNC_R_HI`, `_BASE_FACTORS`)
    rows = np.rint(f * moved[..., 1] * h / T).astype(np.int64) + box.shape[0] // 2
    cols = np.rint(f * moved[..., 0] * w / T).astype(np.int64) + box.shape[1] // 2
    mean = box[rows, cols].mean(axis=2).max(axis=1)
    return (mean - 1.0) * float(np.sqrt(moved.shape[1] * (2 * _SMEAR_RADIUS + 1) ** 2))


def smear_score(box: np.ndarray, shape: tuple[int, int], pat: Pattern) -> float:
    """`smear_scores` at the nominal lattice."""
    return float(smear_scores(box, shape, pat)[0])


def scaled_base(box: np.ndarray, shape: tuple[int, int], pat: Pattern) -> Lattice | None:
    """An angle-0 lattice of another period whose smeared lines pass SCALED_GATE (the
    best of `_BASE_FACTORS`), for the slot to look around instead of the nominal one."""
    scores = smear_scores(box, shape, pat, _BASE_FACTORS)
    i = int(np.argmax(scores))
    if scores[i] < SCALED_GATE:
        return None
    return Lattice(float(T / _BASE_FACTORS[i]), 0.0, float(scores[i]))


def _lines(pat: Pattern) -> np.ndarray:
    """The key's sync lines, (kx, ky) in cycles per tile."""
    return np.stack([pat.kx[pat.sync], pat.ky[pat.sync]], axis=1).astype(np.float64)


def _rotation(base: Lattice) -> np.ndarray:
    """`base`'s turn as it acts on (x, y) positions and (kx, ky) frequencies alike
    (`lattice.fold`'s convention)."""
    th = np.deg2rad(base.angle)
    return np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])


def _base_matrix(base: Lattice, shape: tuple[int, int]) -> np.ndarray:
    """The similarity from the nominal lattice's frame to `base`'s (rectified -> image,
    about the centre)."""
    return pooled.matrix(base.period / T * _rotation(base), np.zeros(2), shape)


def _block_power(block: np.ndarray) -> np.ndarray:
    """The block's windowed power spectrum, flattened like `whitening.flat_power`."""
    h, w = block.shape
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    # in single precision (scipy keeps float32 where numpy's FFT works in
    # double): ~3x faster on the blocks' odd sizes, power within 4e-7 of it
    f = sfft.fft2(block.astype(np.float32, copy=False) * win)
    return np.fft.fftshift(flatten(f.real**2 + f.imag**2))


def _blocks(work: np.ndarray) -> list[tuple[tuple[float, float], np.ndarray]]:
    """The 9 blocks' centres (relative to the image's) and flattened power spectra (key-free)."""
    h, w = work.shape
    bh, bw = int(h * _BLOCK), int(w * _BLOCK)
    out = []
    for gy in range(_GRID):
        for gx in range(_GRID):
            y0, x0 = gy * (h - bh) // (_GRID - 1), gx * (w - bw) // (_GRID - 1)
            centre = (x0 + bw / 2 - w / 2, y0 + bh / 2 - h / 2)
            out.append((centre, _block_power(work[y0 : y0 + bh, x0 : x0 + bw])))
    return out


# each block's local similarity first, as a small comb over these grids (all 6
# lines summed stand out of texture where each line alone may not), then each
# line's own peak within a bin and a half of where it puts them
_SCALES = np.exp(np.arange(np.log(0.93), np.log(1.07), 0.005))
_ANGLES = np.deg2rad(np.arange(-3.0, 3.01, 0.2))


def _similarity_grid(k: np.ndarray, shape: tuple[int, int]):
    """Where each (scale, angle) of the grid moves the lines, in a block of this shape:
    (x, y) sample positions and the grid's shape (the same for every block)."""
    bh, bw = shape
    s, a = np.meshgrid(_SCALES, _ANGLES, indexing="ij")
    c, sn = np.cos(a)[..., None], np.sin(a)[..., None]
    fx = (c * k[:, 0] - sn * k[:, 1]) / s[..., None]
    fy = (sn * k[:, 0] + c * k[:, 1]) / s[..., None]
    mx = (fx * bw + bw // 2).astype(np.float32).reshape(1, -1)
    my = (fy * bh + bh // 2).astype(np.float32).reshape(1, -1)
    return mx, my, fx.shape


def _similarity(p: np.ndarray, grid) -> tuple[float, float]:
    """The (scale, angle) whose moved lines hold the most of this block's power."""
    mx, my, shape = grid
    got = cv2.remap(p, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    score = got.reshape(shape).sum(axis=-1)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return float(_SCALES[i]), float(_ANGLES[j])


def _local_maps(blocks, lines: np.ndarray):
    """Per block showing the lines: (centre, 2 x 2 map from the mark's frame, strength)."""
    k = lines / T  # (n, 2) x, y cycles per mark pixel
    grid = _similarity_grid(k, blocks[0][1].shape)
    out = []
    for centre, p in blocks:
        bh, bw = p.shape
        scale, angle = _similarity(p, grid)
        c, sn = np.cos(angle), np.sin(angle)
        moved = np.stack([c * k[:, 0] - sn * k[:, 1], sn * k[:, 0] + c * k[:, 1]], axis=1) / scale
        peaks = near_peaks(p, moved[:, 1] * bh, moved[:, 0] * bw, 1.5)
        found = np.stack([peaks[:, 1] / bw, peaks[:, 0] / bh, peaks[:, 2]], axis=1)
        strength = float(found[:, 2].mean())
        if strength < _BLOCK_FLOOR:
            continue
        wts = np.sqrt(found[:, 2:3])
        # f = M k by least squares, each line weighted by its power
        m = np.linalg.lstsq(k * wts, found[:, :2] * wts, rcond=None)[0].T
        out.append((centre, np.linalg.inv(m).T, strength))  # f = J^-T k
    return out


def _homography(maps) -> tuple[np.ndarray, np.ndarray]:
    """(A, q): u = A m / (1 + q.m), centred, fitted to the local maps."""
    centres = np.array([c for c, _, _ in maps], dtype=np.float64)
    jacs = np.array([j for _, j, _ in maps])
    wts = np.sqrt(np.array([s for _, _, s in maps]))

    def residuals(x):
        a, q = x[:4].reshape(2, 2), x[4:] * 1e-3
        lin = a[None] - centres[:, :, None] * q[None, None, :]  # A - u q^T per block
        m = np.linalg.solve(lin, centres[..., None])[..., 0]
        grow = 1.0 + m @ q
        return (wts[:, None, None] * (lin / grow[:, None, None] - jacs)).ravel()

    start = np.concatenate([np.median(jacs, axis=0).ravel(), [0.0, 0.0]])
    fit = least_squares(residuals, start)
    return fit.x[:4].reshape(2, 2), fit.x[4:] * 1e-3


# a second pass on the rectified image measures what the first left over
_PASSES = 2


def _block_fit(work: np.ndarray, lines: np.ndarray, blocks) -> np.ndarray | None:
    """The homography fitted to the blocks' local maps; None if under 4 blocks show the lines."""
    variants = [lines @ d.T for d in POWER_TURNS]
    warp = None
    for done in range(_PASSES):
        if done:
            blocks = _blocks(rectify(work, warp))
        best = None
        for v in variants:
            maps = _local_maps(blocks, v)
            total = sum(s for _, _, s in maps)
            if len(maps) >= 4 and (best is None or total > best[0]):
                best = (total, maps, v)
        if best is None:
            break
        # the rectified image is the mark's frame under that transform: the
        # next pass looks for the same lines there
        _, maps, v = best
        variants = [v]
        step = pooled.matrix(*_homography(maps), work.shape)
        warp = step if warp is None else warp @ step
    return warp


class Prepared:
    """The key-free part of the slot for one working image: its blocks' spectra (and, for
    thorough mode's pooled fit, their stacks, made on first need)."""

    def __init__(self, work: np.ndarray):
        self.work = work
        self.blocks = _blocks(work)
        self._stacks = None
        self._spectra = None

    @property
    def stacks(self):
        if self._stacks is None:
            self._stacks = pooled.prepare(self.blocks)
        return self._stacks

    @property
    def spectra(self) -> projective.Spectra:
        """The projective grid's spectra (thorough mode's third estimate), made on first need."""
        if self._spectra is None:
            self._spectra = projective.Spectra(self.work)
        return self._spectra


def find(
    prep: Prepared, pat: Pattern, probe, thorough: bool = True, base: Lattice | None = None
) -> list[Lattice]:
    """The slot's lattice for this working image and key (none when no estimate is found).

    Two estimates of the homography: the blocks' own local maps fitted
    (`_block_fit`), and the blocks' spectra pooled under one homography
    (`pooled.fit`, for textures where no block shows the lines alone). The
    one whose whole-image fold holds more sync-line power (`probe`: a
    homography -> that power per dihedral transform) is polished on that
    power (`pooled.polish`). (Both polished and both tried, as two
    lattices, found no more marks on the benchmark's keystones: 53 and 53
    of 60 at 3%.) Unless that polished fold is strong already (GRID_SKIP),
    a third estimate, the projective grid (`projective.climb`, for grass:
    the whole image's lines once the projective part is undone), is
    polished too, and the stronger fold of the two is the slot's one lattice.

    The fast test (`thorough=False`, behind FAST_GATE) takes the local maps'
    estimate alone, unpolished: the pooled fit and the polish cost ~0.5 s a
    key, and on the benchmark's keystones the polish found no mark the
    local maps' estimate had not.
    """
    lines = _lines(pat)
    work = prep.work
    to_base = None
    if base is not None and base is not NOMINAL:
        # the lines where `base` puts them; the fits then give homographies into
        # its frame, and the similarity from the nominal frame completes them
        lines = lines @ _rotation(base).T * (T / base.period)
        to_base = _base_matrix(base, work.shape)
    estimates = [_block_fit(work, lines, prep.blocks)]
    if thorough:
        estimates += pooled.fit(prep.stacks, lines, work.shape)
    if to_base is not None:
        estimates = [None if e is None else e @ to_base for e in estimates]
    best = None  # (the fold's power per transform, the homography); ties to the later one
    for warp in estimates:
        if warp is not None:
            powers = probe(warp)
            if best is None or powers.max() >= best[0].max():
                best = (powers, warp)
    if not thorough:
        return [] if best is None else [warped(best[1], float(best[0].max()))]
    found = None if best is None else pooled.polish(best[1], best[0], probe, work.shape)
    if found is None or found[1] < GRID_SKIP:
        grid = projective.climb(prep.spectra, lines, probe, to_base)
        if grid is not None and (found is None or grid[1] > found[1]):
            found = grid
    return [] if found is None else [warped(*found)]


def warped(warp: np.ndarray, score: float = 0.0) -> Lattice:
    """The nominal lattice of the image rectified by `warp` (rectified -> image, 3 x 3)."""
    return Lattice(float(T), 0.0, score, warp=tuple(float(v) for v in warp.ravel()))
