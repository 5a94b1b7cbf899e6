"""Per-key correlation: the pilot's score at every shift of a fold, and the payload read there.

A fold is one T x T tile of the whitened image; its rfft2 spectrum is
normalized ring by ring (key-free), then correlated with the key's pilot
through each of the 8 dihedral transforms with one FFT. At the best
hypothesis the payload's bins give soft bits for the Viterbi decoder, and
pilot + payload give the second rule's score.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from . import ecc
from .hypotheses import ALL_TRANSFORMS, DIHEDRAL
from .pattern import R_HI, Pattern, T, frozen, pattern_for


def _dihedral(f: np.ndarray, d: int) -> np.ndarray:
    g = np.rot90(f, d % 4)
    return g[:, ::-1] if d >= 4 else g


def _undo_dihedral(f: np.ndarray, d: int) -> np.ndarray:
    g = f[:, ::-1] if d >= 4 else f
    return np.rot90(g, -(d % 4))


_FREQ = np.fft.fftfreq(T, 1.0 / T)
_COLS = int(R_HI) + 1  # rfft2 columns that can hold a ring bin (|kx| <= R_HI)
_RING_HALF = np.rint(np.hypot(_FREQ[:, None], _FREQ[None, : T // 2 + 1])).astype(np.int64)
# each rfft2 bin stands for itself and its mirror, except columns 0 and T/2
BIN_WEIGHT = np.full((T, T // 2 + 1), 2.0)
BIN_WEIGHT[:, 0] = BIN_WEIGHT[:, -1] = 1.0


_RING_INDEX = _RING_HALF.ravel()
_RING_COUNT = np.maximum(np.bincount(_RING_INDEX, weights=BIN_WEIGHT.ravel()), 1)


def normalize_spectrum(fh: np.ndarray) -> np.ndarray:
    """Divide each bin of an rfft2 by the RMS magnitude of its frequency ring (key-free)."""
    mag2 = fh.real**2 + fh.imag**2
    power = np.bincount(_RING_INDEX, weights=(mag2 * BIN_WEIGHT).ravel())
    scale = 1.0 / (np.sqrt(power / _RING_COUNT) + 1e-9)
    return fh * scale[_RING_HALF].astype(fh.real.dtype)


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


def _through_dihedrals(rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The tile holding `values` at these bins (and their mirrors), as rfft2 spectra
    seen through each of the 8 dihedral transforms."""
    spec = np.zeros((T, T), dtype=np.complex128)
    spec[rows, cols] = values
    spec[(-rows) % T, (-cols) % T] = np.conj(values)
    tile_ = np.real(sfft.ifft2(spec))
    return np.stack([sfft.rfft2(_undo_dihedral(tile_, d)) for d in range(DIHEDRAL)])


@lru_cache(maxsize=64)
def pilot_spectra(key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The pilot tile seen through each dihedral transform: rfft2 spectra and supports.

    Correlating a transformed fold with the pilot equals correlating the fold
    with the inversely transformed pilot, so one FFT of the fold serves all 8.
    The sync lines are not part of it: a score dominated by a few strong
    terms is capped by Hoeffding's bound (z <= sqrt(2 x terms)).
    """
    pat = pattern_for(key)
    pil = pat.pilot
    out = _through_dihedrals(pat.rows[pil], pat.cols[pil], pat.chips[pil] * bin_weights(pat)[pil])
    # a dihedral transform only moves bins (and turns their phase): |out| is the weight
    out[np.abs(out) < 1e-6] = 0
    conj_pilots, support = np.conj(out).astype(np.complex64), (np.abs(out) ** 2).astype(np.float32)
    frozen(conj_pilots, support)
    return conj_pilots, support


@lru_cache(maxsize=64)
def sync_supports(key: bytes) -> np.ndarray:
    """The key's sync lines seen through each dihedral transform, as weights on rfft2 power.

    Row d times a fold's power (`Folds.spectrum`, flattened) is the mean
    power of the sync lines' bins under transform d: about 1 on a host,
    since the spectrum is normalized ring by ring.
    """
    pat = pattern_for(key)
    sync = pat.sync
    ones = np.ones(int(sync.sum()), dtype=np.complex128)
    masks = (np.abs(_through_dihedrals(pat.rows[sync], pat.cols[sync], ones)) > 1e-6).astype(
        np.float32
    )
    masks /= (masks * BIN_WEIGHT[None]).sum(axis=(1, 2), keepdims=True)
    out = masks.reshape(DIHEDRAL, -1)
    frozen(out)
    return out


def pilot_search(
    g: np.ndarray, power: np.ndarray, key: bytes, transforms: tuple[int, ...] = ALL_TRANSFORMS
) -> tuple[float, int]:
    """Best pilot z over these dihedral transforms and all T*T cyclic shifts.

    g is the fold's normalized spectrum, power its |g|^2 per rfft2 bin,
    counting each bin's mirror image (`Folds.spectrum`).
    """
    conj_pilots, support = pilot_spectra(key)
    if transforms != ALL_TRANSFORMS:
        conj_pilots, support = conj_pilots[list(transforms)], support[list(transforms)]
    # the pilot's bins all sit in rfft2 columns 0..R_HI: the inverse along
    # the rows runs on those columns only, the rest of the half plane is zero
    product = g[None, :, :_COLS] * conj_pilots[..., :_COLS]
    corr = sfft.irfft(sfft.ifft(product, axis=-2), n=T, axis=-1) * (T * T)
    # Re(conj(chip) G) = (a Re G + b Im G)/sqrt(2) with random signs a, b: the
    # sum's bound is exp(-z^2/2) for z = corr / sqrt(sum of |G|^2 over the pilot's bins)
    norm = np.sqrt((power[None] * support).sum(axis=(-2, -1)))
    z = corr.reshape(len(transforms), -1).max(axis=1) / np.maximum(norm, 1e-12)
    i = int(np.argmax(z))
    return float(z[i]), transforms[i]


def _locate(folded: np.ndarray, pat: Pattern, d: int) -> tuple[int, int, np.ndarray]:
    """The cyclic shift of the pilot in the transformed fold, and the fold's spectrum.

    The ring's bins all have 0 <= kx <= R_HI, so the rfft2 half holds them.
    """
    g = normalize_spectrum(sfft.rfft2(_dihedral(folded, d)))
    pil = pat.pilot
    x = np.zeros((T, T), dtype=np.complex128)
    x[pat.rows[pil], pat.cols[pil]] = (
        np.conj(pat.chips[pil]) * bin_weights(pat)[pil] * g[pat.rows[pil], pat.cols[pil]]
    )
    corr = np.real(sfft.ifft2(x))
    k = int(np.argmax(corr))
    return k // T, k % T, g


def bin_values(g: np.ndarray, pat: Pattern, dy: int, dx: int) -> np.ndarray:
    """w Re(conj(chip) G) of every ring bin at cyclic shift (dy, dx): one term of a score each."""
    phase = np.exp(2j * np.pi * (pat.ky * dy + pat.kx * dx) / T)
    return bin_weights(pat) * np.real(np.conj(pat.chips) * g[pat.rows, pat.cols] * phase)


def combined(
    folded: np.ndarray, pat: Pattern, d: int
) -> tuple[float | None, bytes | None, int | None, tuple[int, int]]:
    """Decode the payload at the pilot's shift and score pilot + payload together."""
    dy, dx, g = _locate(folded, pat, d)
    vals = bin_values(g, pat, dy, dx)
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
