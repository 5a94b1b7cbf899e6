"""Detection: geometry from the image, shift and dihedral search with the pilot, payload.

Steps: luminance at the working resolution (long side REF_LONG_SIDE, so cost
does not grow with the upload's size) -> whitening -> lattice candidates
(the nominal one first, then the key's sync-line comb, `comb.find`; thorough
mode adds the key-free `sync.find_lattices` and a keyed scan) -> fold to one
T x T tile -> for each of the 8 dihedral transforms (rotations by 90
degrees, mirror images) the pilot correlation at every cyclic shift via one
FFT -> the best hypothesis gives z and its Bonferroni-corrected p-value; the
payload is read there by soft Viterbi decoding. Presence is decided by
correlations with counted bounds (the pilot alone, or the pilot plus the
decoded payload over all 2^64 codewords), never by whether the payload
decoded.

The counted set of hypotheses is fixed in `hypotheses.py`, the key-free
working images and folds are `folds.py`, the per-key scores `correlate.py`;
this module searches them and decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import correlate, hypotheses, stats, sync
from .correlate import combined
from .folds import Folds, polish, try_lattice, working_image
from .hypotheses import (
    ALL_TRANSFORMS,
    CODEWORDS,
    HYPOTHESES,
    KEYED_PROBE_Z,
    LOCAL_OFFSETS,
    LOCAL_PROBE_Z,
    PAYLOAD_PROBE_Z,
    RULES,
    SYNC_SCREEN,
    THOROUGH_HYPOTHESES,
    Hypothesis,
    scan_lattices,
    two_rule_p_value,
)
from .image import check_rgb, too_small
from .lattice import NOMINAL, Lattice
from .pattern import T, check_key, pattern_for

# Reached through this module by tests, from when the detector was one file
_BIN_WEIGHT, _bin_values, bin_weights = (
    correlate.BIN_WEIGHT,
    correlate.bin_values,
    correlate.bin_weights,
)
_normalize_spectrum, _pilot_spectra = correlate.normalize_spectrum, correlate.pilot_spectra
SCAN_ANGLES, SCAN_PERIODS = hypotheses.SCAN_ANGLES, hypotheses.SCAN_PERIODS
DIHEDRAL = hypotheses.DIHEDRAL
find_lattices, fold = sync.find_lattices, sync.fold
_Folds, _working = Folds, working_image


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
    # why nothing was looked for (every frame under MIN_SIDE); None when searched
    reason: str | None = None
    # the upload's vertical scale over its horizontal one, when one axis was
    # scaled alone (1.0: the same; in the mark's frame, before `rotation`)
    aspect: float | None = None

    @property
    def payload_hex(self) -> str | None:
        return None if self.payload is None else self.payload.hex()


def _screened(folds: Folds, lat: Lattice, key: bytes) -> tuple[int, ...]:
    """The transforms under which the key's sync lines show at this lattice.

    With none, the lattice is skipped with its offsets (a crop's few edge
    pixels still leave the lines at the nominal lattice: tested).
    """
    return tuple(int(d) for d in np.flatnonzero(folds.sync_powers(lat, key) >= SYNC_SCREEN))


def _offsets(lat: Lattice, z: float) -> tuple[tuple[tuple[float, float], ...], tuple[int, ...]]:
    """The local offsets tried around a lattice that scored z, and under which transforms."""
    if z >= (LOCAL_PROBE_Z if lat is NOMINAL else KEYED_PROBE_Z):
        return LOCAL_OFFSETS, ALL_TRANSFORMS
    if lat is NOMINAL:
        # A few edge pixels cut off (the commonest crop) move the period by
        # under 1.2%, which the lattice estimates can miss on texture while
        # the nominal z stays under the probe: its period offsets are tried
        # anyway, untransformed only (one correlation each instead of 8; a
        # subset of the counted hypotheses).
        return tuple(o for o in LOCAL_OFFSETS if o[1] == 0.0), (0,)
    return (), ALL_TRANSFORMS


def _decide(folds: Folds, key: bytes, frames: int, thorough: bool = False) -> Detection:
    hypotheses, z_thr, zc_thr = _bound(thorough)
    pat = pattern_for(key)
    best: Hypothesis | None = None

    def attempt(lat: Lattice, transforms: tuple[int, ...] = ALL_TRANSFORMS) -> Hypothesis:
        nonlocal best
        z, d = try_lattice(folds, lat, key, transforms)
        h = Hypothesis(z, d, lat)
        if z >= PAYLOAD_PROBE_Z:
            h.zc, h.payload, h.errors, h.shift = combined(folds.tile(lat), pat, d)
        h.p = two_rule_p_value(h, hypotheses)
        if best is None or _rank(h) < _rank(best):
            best = h
        return h

    def hit() -> bool:
        return best is not None and best.p <= stats.FALSE_POSITIVE_RATE

    def found() -> bool:
        # a detection whose payload did not decode goes on through the
        # lattices still to try: one of them may sit closer to the true
        # geometry (a small crop's slot beside the comb's axis lattice)
        return hit() and best.payload is not None

    # Stopping early, and refining only promising lattices, are safe:
    # detection still implies that some hypothesis of the full, counted set
    # reached the threshold, which is what the bound covers.
    for lat in folds.lattices(pat, key, thorough=thorough):
        screened = _screened(folds, lat, key)
        if not screened:
            continue
        z = attempt(lat, screened).z
        if found():
            break
        offsets, transforms = _offsets(lat, z)
        for factor, turn in offsets:
            attempt(lat.offset(factor, turn), transforms)
            if found():
                break
        if found():
            break
    if thorough and not hit():
        for lat in scan_lattices(folds.works):
            attempt(lat)
            if found():
                break
    if best is None:
        # nothing passed the screens: no hypothesis was worth a correlation
        return Detection(
            False, None, 1.0, 0.0, z_thr, hypotheses, frames=frames, payload_threshold=zc_thr
        )
    detected = best.p <= stats.FALSE_POSITIVE_RATE
    lat, d = best.lat, best.d
    payload, errors, shift = best.payload, best.errors, best.shift
    if detected and payload is None:
        # Presence is already decided by the pilot (and z, p stay those of
        # the counted hypothesis); a finer geometry only sharpens the
        # payload's soft bits.
        lat, d = polish(folds, lat, d, best.z, key)
        _, payload, errors, shift = combined(folds.tile(lat), pat, d)
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
        aspect=lat.aspect,
        shift=shift if detected else None,
        bit_errors=errors if detected else None,
        frames=frames,
        payload_score=best.zc,
        payload_threshold=zc_thr,
    )


def _rank(h: Hypothesis) -> tuple:
    """Best first: detected with its payload decoded, detected, then by p and z."""
    hit = h.p <= stats.FALSE_POSITIVE_RATE
    return (not hit, hit and h.payload is None, h.p, -h.z)


def detect(rgb: np.ndarray, key: bytes, *, thorough: bool = False) -> Detection:
    """Is this key's mark in the image, and what payload does it carry?

    thorough=True adds a keyed scan of crops' and rotations' geometry when
    the fast search finds nothing, and the keystone slot on every image with
    its pooled fit (~0.6-0.9 s a key at 1 MP instead of ~10 ms; see
    SCAN_PERIODS and keystone.py).
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
    frames = [check_rgb(f, sized=False) for f in frames]
    if not frames:
        from .errors import BadImage

        raise BadImage("no frames given")
    # a frame under MIN_SIDE carries no mark: the others are searched; none left,
    # the answer is "not detected" with the reason, not an exception
    usable = [f for f in frames if too_small(f) is None]
    if not usable:
        reason = too_small(frames[0])
        return [_unsearched(reason, len(frames), thorough) for _ in keys]
    folds = Folds([working_image(f) for f in usable])
    return [_decide(folds, key, len(usable), thorough) for key in keys]


def _unsearched(reason: str, frames: int, thorough: bool) -> Detection:
    _, z_thr, zc_thr = _bound(thorough)
    return Detection(
        detected=False,
        payload=None,
        p_value=1.0,
        score=0.0,
        threshold=z_thr,
        hypotheses=0,
        frames=frames,
        payload_threshold=zc_thr,
        reason=reason,
    )


def _bound(thorough: bool) -> tuple[int, float, float]:
    """The counted hypotheses of the test, and the z each rule needs at its half of the rate."""
    hypotheses = THOROUGH_HYPOTHESES if thorough else HYPOTHESES
    rate = stats.FALSE_POSITIVE_RATE / RULES
    return (
        hypotheses,
        stats.threshold(hypotheses, rate),
        stats.threshold(hypotheses * CODEWORDS, rate),
    )
