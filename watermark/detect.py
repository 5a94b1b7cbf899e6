"""Detection: geometry from the image, shift and dihedral search with the pilot, payload.

Steps: luminance at the working resolution (long side REF_LONG_SIDE, so cost
does not grow with the upload's size) -> whitening -> lattice candidates
(the nominal one first, then the key's sync-line comb, `comb.find`, then the
key-free `sync.find_lattices`) -> fold to one T x T tile -> for each of the
8 dihedral transforms (rotations by 90 degrees, mirror images) the pilot
correlation at every cyclic shift via one FFT -> the best hypothesis gives z
and its Bonferroni-corrected p-value; the payload is read there by soft
Viterbi decoding. Presence is decided by correlations with counted bounds
(the pilot alone, or the pilot plus the decoded payload over all 2^64
codewords), never by whether the payload decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from . import comb, ecc, stats
from .image import check_rgb, luminance, ref_size, resize
from .pattern import Pattern, T, check_key, frozen, pattern_for
from .sync import (
    LATTICES,
    NOMINAL,
    Lattice,
    find_lattices,
    flat_power,
    fold,
    period_limit,
    whiten,
)

DIHEDRAL = 8
# Keyed local refinement: a lattice whose best pilot z stands out of what
# unmarked images usually reach (over the 2^17 shifts and transforms of the
# nominal lattice their z averages 4.4 and reaches 5.0 about 2% of the time)
# but misses the threshold is re-tried at these fixed offsets (period factor,
# degrees). A crop of a few edge pixels, or a lattice estimate a little off,
# leaves the fold incoherent at the tile's far end; with the ring reaching 40
# cycles per tile the pilot's z falls by a third 0.2% away from the true
# period (measured on gravel and grass edge crops), hence a 0.2% grid. The
# comb's estimates are good to ~0.3%. Every offset of
# every lattice is counted in the Bonferroni factor, tried or not: the set is
# fixed before the key is looked at.
LOCAL_OFFSETS = (
    (1.002, 0.0),
    (0.998, 0.0),
    (1.004, 0.0),
    (0.996, 0.0),
    (1.006, 0.0),
    (0.994, 0.0),
    (1.008, 0.0),
    (1.012, 0.0),
    (1.0, 0.1),
    (1.0, -0.1),
    (1.0, 0.2),
    (1.0, -0.2),
)
LOCAL_PROBE_Z = 5.0
HYPOTHESES = (LATTICES + comb.CANDIDATES) * (1 + len(LOCAL_OFFSETS)) * DIHEDRAL * T * T

# Thorough mode (analysts re-checking one file, not the upload hook): when
# the key-free lattice estimate misses, as it does on heavy texture, scan
# the two axes of geometric edits with the key instead: every period of the
# angle-0 column (crops, screenshots, re-shared crops; 0.4% steps, inside the
# pilot's +-0.6% main lobe) and every angle of the nominal-period row up to
# 15 degrees (0.25-degree steps; rotations inside the canvas). ~500 folds,
# ~0.45 s on one core. The scan is a fixed grid, chosen before the key is
# looked at, and counted: thorough mode is ONE test over the union of the
# fast hypotheses and the scan's, so its threshold is a little higher (z 8.91
# instead of 8.75) and its bound is still 1e-9 per image.
SCAN_PERIODS = tuple(
    float(64.0 * 1.004**i) for i in range(int(np.log(300 / 64) / np.log(1.004)) + 1)
)
SCAN_ANGLES = tuple(float(a) for a in np.round(np.arange(-15.0, 15.0001, 0.25), 2) if abs(a) > 1e-9)
THOROUGH_HYPOTHESES = HYPOTHESES + (len(SCAN_PERIODS) + len(SCAN_ANGLES)) * DIHEDRAL * T * T

# Two detection rules, each at half the false-positive rate:
# (1) the pilot alone (24% of the tile's energy);
# (2) the pilot plus the payload bins, signed by the codeword the Viterbi
#     decoder read there, when its CRC holds. Rule 2 correlates with the
#     pilot's and the payload's energy (z grows ~1.6x) but picks the best of
#     the 2^64 valid codewords, so it is counted over them all: H x 2^64
#     hypotheses, z >= 12.85 in the fast test, i.e. a pilot-only z of ~8.1
#     instead of 8.75 (where the payload decodes at all). The decoder's
#     success is never the rule; a correlation with a union bound is
#     (README.md, "The false-positive bound").
RULES = 2
CODEWORDS = 2 ** (8 * ecc.PAYLOAD_BYTES)


@dataclass(frozen=True)
class Detection:
    detected: bool
    payload: bytes | None  # None when no mark, or when the mark's payload did not decode
    p_value: float  # bound on P(an unmarked image scores this high), all hypotheses counted
    score: float  # pilot z-score of the best hypothesis
    threshold: float  # z needed for detection at stats.FALSE_POSITIVE_RATE
    hypotheses: int  # synchronization hypotheses searched (the Bonferroni factor)
    scale: float | None = None  # estimated size of the input relative to the marked original
    rotation: float | None = None  # estimated rotation, degrees
    flipped: bool | None = None
    shift: tuple[int, int] | None = None  # cyclic shift of the tile, reference pixels
    bit_errors: int | None = None  # coded-bit errors the decoder corrected
    frames: int = 1
    # pilot + payload z at the reported hypothesis (None when its payload did
    # not decode), and the z that rule needs
    payload_score: float | None = None
    payload_threshold: float | None = None

    @property
    def payload_hex(self) -> str | None:
        return None if self.payload is None else self.payload.hex()


def _dihedral(f: np.ndarray, d: int) -> np.ndarray:
    g = np.rot90(f, d % 4)
    return g[:, ::-1] if d >= 4 else g


def _undo_dihedral(f: np.ndarray, d: int) -> np.ndarray:
    g = f[:, ::-1] if d >= 4 else f
    return np.rot90(g, -(d % 4))


_FREQ = np.fft.fftfreq(T, 1.0 / T)
_RING_HALF = np.rint(np.hypot(_FREQ[:, None], _FREQ[None, : T // 2 + 1])).astype(np.int64)
# each rfft2 bin stands for itself and its mirror, except columns 0 and T/2
_BIN_WEIGHT = np.full((T, T // 2 + 1), 2.0)
_BIN_WEIGHT[:, 0] = _BIN_WEIGHT[:, -1] = 1.0


def _normalize_spectrum(fh: np.ndarray) -> np.ndarray:
    """Divide each bin of an rfft2 by the RMS magnitude of its frequency ring (key-free)."""
    power = np.bincount(_RING_HALF.ravel(), weights=(np.abs(fh) ** 2 * _BIN_WEIGHT).ravel())
    count = np.bincount(_RING_HALF.ravel(), weights=_BIN_WEIGHT.ravel())
    rms = np.sqrt(power / np.maximum(count, 1))
    return fh / (rms[_RING_HALF] + 1e-9)


# Fixed weight of each ring bin in the scores, by its radius |k| (cycles per
# tile): the matched filter weighs a bin by the mark's amplitude there in
# units of the host's, and measured over 15 images x 3 keys that grows
# with the radius (natural images have less power higher up): 0.46 -> 0.92
# from radius 8 to 30 on photographs, 0.07 -> 0.29 on texture cropped to
# 25%. The weights are fixed before any image is seen, so the scores are
# still Rademacher sums with fixed coefficients (README.md).
RADIAL_WEIGHT_POWER = 1.0


def bin_weights(pat: Pattern) -> np.ndarray:
    return (np.hypot(pat.ky, pat.kx) / 20.0) ** RADIAL_WEIGHT_POWER


@lru_cache(maxsize=64)
def _pilot_spectra(key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The pilot tile seen through each dihedral transform: rfft2 spectra and supports.

    Correlating a transformed fold with the pilot equals correlating the fold
    with the inversely transformed pilot, so one FFT of the fold serves all 8.
    The sync lines are not part of it: a score dominated by a few strong
    terms is capped by Hoeffding's bound (z <= sqrt(2 x terms)).
    """
    pat = pattern_for(key)
    spec = np.zeros((T, T), dtype=np.complex128)
    pil = pat.pilot
    vals = pat.chips[pil] * bin_weights(pat)[pil]
    spec[pat.rows[pil], pat.cols[pil]] = vals
    spec[(-pat.rows[pil]) % T, (-pat.cols[pil]) % T] = np.conj(vals)
    tile_ = np.real(sfft.ifft2(spec))
    out = np.stack([sfft.rfft2(_undo_dihedral(tile_, d)) for d in range(DIHEDRAL)])
    # a dihedral transform only moves bins (and turns their phase): |out| is the weight
    out[np.abs(out) < 1e-6] = 0
    conj_pilots, support = np.conj(out).astype(np.complex64), (np.abs(out) ** 2).astype(np.float32)
    frozen(conj_pilots, support)
    return conj_pilots, support


def _search(
    g: np.ndarray, power: np.ndarray, key: bytes, transforms: int = DIHEDRAL
) -> tuple[float, int]:
    """Best pilot z over the first `transforms` dihedral transforms and all T*T cyclic shifts.

    g is the fold's normalized spectrum, power its |g|^2 per rfft2 bin,
    counting each bin's mirror image (`_Folds.spectrum`).
    """
    conj_pilots, support = _pilot_spectra(key)
    conj_pilots, support = conj_pilots[:transforms], support[:transforms]
    corr = sfft.irfft2(g[None] * conj_pilots, s=(T, T), axes=(-2, -1)) * (T * T)
    # Re(conj(chip) G) = (a Re G + b Im G)/sqrt(2) with random signs a, b: the
    # sum's bound is exp(-z^2/2) for z = corr / sqrt(sum of |G|^2 over the pilot's bins)
    norm = np.sqrt((power[None] * support).sum(axis=(-2, -1)))
    z = corr.reshape(transforms, -1).max(axis=1) / np.maximum(norm, 1e-12)
    d = int(np.argmax(z))
    return float(z[d]), d


def _locate(folded: np.ndarray, pat: Pattern, d: int) -> tuple[int, int, np.ndarray]:
    """The cyclic shift of the pilot in the transformed fold, and the fold's spectrum.

    The ring's bins all have 0 <= kx <= R_HI, so the rfft2 half holds them.
    """
    g = _normalize_spectrum(sfft.rfft2(_dihedral(folded, d)))
    pil = pat.pilot
    x = np.zeros((T, T), dtype=np.complex128)
    x[pat.rows[pil], pat.cols[pil]] = (
        np.conj(pat.chips[pil]) * bin_weights(pat)[pil] * g[pat.rows[pil], pat.cols[pil]]
    )
    corr = np.real(sfft.ifft2(x))
    k = int(np.argmax(corr))
    return k // T, k % T, g


def _bin_values(g: np.ndarray, pat: Pattern, dy: int, dx: int) -> np.ndarray:
    """w Re(conj(chip) G) of every ring bin at cyclic shift (dy, dx): one term of a score each."""
    phase = np.exp(2j * np.pi * (pat.ky * dy + pat.kx * dx) / T)
    return bin_weights(pat) * np.real(np.conj(pat.chips) * g[pat.rows, pat.cols] * phase)


def _working(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    rh, rw = ref_size(h, w)
    return whiten(resize(luminance(rgb), rh, rw))


class _Folds:
    """The working images and their folds per lattice: key-free, so shared by every key tried."""

    def __init__(self, works: list[np.ndarray]):
        self.works = works
        self._cache: dict[tuple[float, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._lattices: list[Lattice] | None = None
        self._power: np.ndarray | None = None
        self._comb_power: np.ndarray | None = None  # key-free too: one per image, not per key

    def spectrum(self, lat: Lattice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fold, its normalized spectrum and that spectrum's power (every key reuses them)."""
        k = (lat.period, lat.angle)
        if k not in self._cache:
            folded = np.zeros((T, T), dtype=np.float32)
            for r in self.works:
                folded += fold(r, lat)
            g = _normalize_spectrum(sfft.rfft2(folded)).astype(np.complex64)
            power = (np.abs(g) ** 2 * _BIN_WEIGHT).astype(np.float32)
            self._cache[k] = (folded, g, power)
        return self._cache[k]

    def power(self) -> np.ndarray:
        if self._power is None:
            self._power = flat_power(self.works)
        return self._power

    def lattices(self, pat: Pattern) -> Iterator[Lattice]:
        """The nominal lattice, then the key's sync-line estimates, then the key-free ones.

        Each is computed on first need: a mark at the nominal geometry costs no search.
        """
        yield NOMINAL
        shape = self.works[0].shape
        if self._comb_power is None:
            self._comb_power = comb.prepare(self.power())
        yield from comb.find(self._comb_power, shape, pat, period_limit(shape))
        if self._lattices is None:
            self._lattices = find_lattices(self.power(), shape)
        yield from self._lattices


def _try(
    folds: _Folds, lat: Lattice, key: bytes, transforms: int = DIHEDRAL
) -> tuple[float, int, np.ndarray]:
    folded, g, power = folds.spectrum(lat)
    z, d = _search(g, power, key, transforms)
    return z, d, folded


def _polish(folds: _Folds, lat: Lattice, d: int, folded: np.ndarray, z: float, key: bytes):
    """Coordinate ascent of the pilot z in period and angle, in steps finer than the grid."""
    best = (z, d, lat, folded)
    for dp, dt in ((0.002, 0.1), (0.001, 0.05)):
        for _ in range(3):
            cur = best
            for factor, turn in ((1 + dp, 0.0), (1 - dp, 0.0), (1.0, dt), (1.0, -dt)):
                near = Lattice(cur[2].period * factor, cur[2].angle + turn, lat.score)
                z2, d2, f2 = _try(folds, near, key)
                if z2 > best[0]:
                    best = (z2, d2, near, f2)
            if best is cur:
                break
    return best[2], best[1], best[3]


def _scan(works: list[np.ndarray]) -> Iterator[Lattice]:
    """Thorough mode's keyed grid: the angle-0 column, then the nominal-period row."""
    p_max = period_limit(works[0].shape)
    for period in SCAN_PERIODS:
        if period <= p_max:
            yield Lattice(period, 0.0, 0.0)
    for angle in SCAN_ANGLES:
        yield Lattice(float(T), angle, 0.0)


@dataclass
class _Hypothesis:
    """One tried (lattice, transform) at the pilot's best shift, and what it scored."""

    z: float  # pilot z
    d: int
    lat: Lattice
    folded: np.ndarray
    p: float = 1.0  # p-value of the two-rule test at this hypothesis
    zc: float | None = None  # pilot + payload z, when the payload decoded
    payload: bytes | None = None
    errors: int | None = None
    shift: tuple[int, int] | None = None


def _combined(
    folded: np.ndarray, pat: Pattern, d: int
) -> tuple[float | None, bytes | None, int | None, tuple[int, int]]:
    """Decode the payload at the pilot's shift and score pilot + payload together."""
    dy, dx, g = _locate(folded, pat, d)
    vals = _bin_values(g, pat, dy, dx)
    pay = pat.bit_of >= 0
    soft = np.bincount(pat.bit_of[pay], weights=vals[pay], minlength=ecc.CODED_BITS)
    payload, errors = ecc.decode(soft)
    if payload is None:
        return None, None, None, (dy, dx)
    signs = 2.0 * ecc.encode(payload).astype(np.float64) - 1.0
    total = vals[pat.pilot].sum() + (signs[pat.bit_of[pay]] * vals[pay]).sum()
    used = pat.pilot | pay  # the sync lines are left out, as in the pilot's score
    w = bin_weights(pat)[used]
    norm = np.sqrt(0.5 * np.sum((w * np.abs(g[pat.rows[used], pat.cols[used]])) ** 2))
    return float(total / max(norm, 1e-12)), payload, errors, (dy, dx)


def _p_value(h: _Hypothesis, hypotheses: int) -> float:
    """Two rules, each at half the rate: pilot alone, or pilot + decoded payload (see README)."""
    p = stats.p_value(h.z, hypotheses)
    if h.zc is not None:
        p = min(p, stats.p_value(h.zc, hypotheses * CODEWORDS))
    return min(1.0, RULES * p)


def _decide(folds: _Folds, key: bytes, frames: int, thorough: bool = False) -> Detection:
    hypotheses = THOROUGH_HYPOTHESES if thorough else HYPOTHESES
    z_thr = stats.threshold(hypotheses, stats.FALSE_POSITIVE_RATE / RULES)
    pat = pattern_for(key)
    best: _Hypothesis | None = None

    def attempt(lat: Lattice, transforms: int = DIHEDRAL) -> _Hypothesis:
        nonlocal best
        z, d, folded = _try(folds, lat, key, transforms)
        h = _Hypothesis(z, d, lat, folded)
        if z >= LOCAL_PROBE_Z:
            h.zc, h.payload, h.errors, h.shift = _combined(folded, pat, d)
        h.p = _p_value(h, hypotheses)
        if best is None or (h.p, -h.z) < (best.p, -best.z):
            best = h
        return h

    def found() -> bool:
        return best is not None and best.p <= stats.FALSE_POSITIVE_RATE

    # Stopping early, and refining only promising lattices, are safe:
    # detection still implies that some hypothesis of the full, counted set
    # reached the threshold, which is what the bound covers.
    for lat in folds.lattices(pat):
        h = attempt(lat)
        if found():
            break
        if h.z >= LOCAL_PROBE_Z:
            offsets, transforms = LOCAL_OFFSETS, DIHEDRAL
        elif lat is NOMINAL:
            # A few edge pixels cut off (the commonest crop) move the period
            # by under 1.2%, which the lattice estimates can miss on texture
            # while the nominal z stays under the probe: its period offsets
            # are tried anyway, untransformed only (one correlation each
            # instead of 8; a subset of the counted hypotheses).
            offsets, transforms = tuple(o for o in LOCAL_OFFSETS if o[1] == 0.0), 1
        else:
            continue
        for factor, turn in offsets:
            attempt(Lattice(lat.period * factor, lat.angle + turn, lat.score), transforms)
            if found():
                break
        if found():
            break
    if thorough and not found():
        for lat in _scan(folds.works):
            attempt(lat)
            if found():
                break
    if best is None:
        return Detection(False, None, 1.0, 0.0, z_thr, hypotheses, frames=frames)
    detected = best.p <= stats.FALSE_POSITIVE_RATE
    lat, d, folded = best.lat, best.d, best.folded
    payload, errors, shift = best.payload, best.errors, best.shift
    if detected and payload is None:
        # Presence is already decided by the pilot (and z, p stay those of
        # the counted hypothesis); a finer geometry only sharpens the
        # payload's soft bits.
        lat, d, folded = _polish(folds, lat, d, folded, best.z, key)
        _, payload, errors, shift = _combined(folded, pat, d)
    return Detection(
        detected=detected,
        payload=payload if detected else None,
        p_value=best.p,
        score=best.z,
        threshold=z_thr,
        hypotheses=hypotheses,
        scale=T / lat.period,
        rotation=lat.angle - 90.0 * (d % 4),
        flipped=d >= 4,
        shift=shift if detected else None,
        bit_errors=errors if detected else None,
        frames=frames,
        payload_score=best.zc,
        payload_threshold=stats.threshold(
            hypotheses * CODEWORDS, stats.FALSE_POSITIVE_RATE / RULES
        ),
    )


def detect(rgb: np.ndarray, key: bytes, *, thorough: bool = False) -> Detection:
    """Is this key's mark in the image, and what payload does it carry?

    thorough=True adds a keyed scan of crops' and rotations' geometry when
    the fast search finds nothing (~0.45 s instead of ~30 ms; see SCAN_PERIODS).
    """
    return detect_frames([rgb], key, thorough=thorough)


def detect_frames(frames: Sequence[np.ndarray], key: bytes, *, thorough: bool = False) -> Detection:
    """Pool evidence over the frames of a clip: one decision, one false-positive bound.

    The frames' flattened spectra are summed to find the lattice, and their
    folded tiles are summed before the one test: the mark adds up coherently,
    the content does not. Frames are assumed to share one geometry (a clip).
    """
    return detect_keys(frames, [key], thorough=thorough)[0]


def detect_keys(
    frames: Sequence[np.ndarray], keys: Sequence[bytes], *, thorough: bool = False
) -> list[Detection]:
    """`detect_frames` for several keys at once, one Detection per key, in order.

    Everything before the pilot correlation (working images, lattices, folds)
    never looks at the key, so it is computed once and shared: each extra key
    costs its correlations only. Each key is its own test at its own bound.
    """
    keys = [check_key(k) for k in keys]
    frames = list(frames)
    if not frames:
        from .errors import BadImage

        raise BadImage("no frames given")
    for f in frames:
        check_rgb(f)
    folds = _Folds([_working(f) for f in frames])
    return [_decide(folds, key, len(frames), thorough) for key in keys]
