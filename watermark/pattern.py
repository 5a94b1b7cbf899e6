"""The key-seeded tile: a band-limited spectrum split between a pilot and the payload.

The tile is T x T samples at the reference resolution. Its spectrum lives on
the ring of frequencies between R_LO and R_HI cycles per tile (periods of
3.2 to 9.1 reference pixels: JPEG q30, blur, and downscaling to 0.4x keep
it, and natural images have less energy there than lower down, so the mark
stands higher above them: the ring moved up from 8-32, which lifted the
benchmark's crops from 0.87-0.93 to 0.95-0.98 over 4 keys). Every
frequency bin of the ring carries one complex chip (a + ib)/sqrt(2) with
key-seeded random signs a, b. SYNC_SHARE of the tile's energy goes to
SYNC_BINS key-chosen bins, a few strong spectral lines that let the detector
find scale and rotation (`comb.py`); of the rest, 30% goes to the pilot, a
key-chosen set of bins which finds and proves the mark, and 70% to the
coded payload bits, dealt round-robin, each bit flipping the sign of its
chips. Bins are disjoint, so the sync lines, the pilot and the payload bits
are exactly orthogonal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import ecc
from .errors import BadKey

T = 128  # tile size in reference pixels
R_LO, R_HI = 14.0, 40.0  # cycles per tile
PILOT_SHARE = 0.3  # of the energy the sync lines leave
# The sync lines: few, so each stands out of the host's spectrum (the
# detector's evidence for a line set grows like energy / sqrt(lines)); mid
# band (periods of 5.3-10.7 reference pixels: JPEG, blur and downscaling
# keep them), away from the axes (JPEG blocks, frames and horizons put
# energy there) and at least SYNC_SEPARATION apart in angle (one line never
# stands in for another under a rotation).
SYNC_BINS = 6
SYNC_SHARE = 0.2
SYNC_R_LO, SYNC_R_HI = 18.0, 28.0
SYNC_AXIS_MARGIN = 6.0  # degrees
SYNC_SEPARATION = 12.0  # degrees, modulo 180
MIN_KEY_BYTES = 16
_DOMAIN = b"aigc-provenance/watermark/v1"


@dataclass(frozen=True)
class Pattern:
    # half-plane ring bins (row, col indices into a T x T FFT)
    rows: np.ndarray
    cols: np.ndarray
    pilot: np.ndarray  # bool per bin
    sync: np.ndarray  # bool per bin: the sync lines
    weight: np.ndarray  # amplitude per bin relative to the others (sync lines > 1)
    chips: np.ndarray  # complex chip per bin, |chip| = 1
    bit_of: np.ndarray  # coded-bit index per payload bin, -1 for pilot and sync bins
    # integer frequencies per bin (ky, kx), signed
    ky: np.ndarray
    kx: np.ndarray


def check_key(key) -> bytes:
    if not isinstance(key, bytes | bytearray):
        raise BadKey(f"the key must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise BadKey(f"the key must hold at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    return bytes(key)


def _ring() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    f = np.fft.fftfreq(T, 1.0 / T).astype(int)
    ky, kx = np.meshgrid(f, f, indexing="ij")
    radius = np.hypot(ky, kx)
    # one representative of each conjugate pair: kx > 0, or kx == 0 and ky > 0
    half = (kx > 0) | ((kx == 0) & (ky > 0))
    sel = half & (radius >= R_LO) & (radius <= R_HI)
    rows, cols = np.nonzero(sel)
    return rows, cols, ky[sel], kx[sel]


def _sync_bins(seed: bytes, ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    """Indices of the key's SYNC_BINS sync lines among the ring's bins."""
    rng = np.random.default_rng(np.frombuffer(hashlib.sha256(b"sync" + seed).digest(), np.uint64))
    radius = np.hypot(ky, kx)
    angle = np.degrees(np.arctan2(ky, kx))  # (-90, 90] on the half plane
    off_axis = np.minimum(np.abs(angle), 90.0 - np.abs(angle)) >= SYNC_AXIS_MARGIN
    cand = np.flatnonzero((radius >= SYNC_R_LO) & (radius <= SYNC_R_HI) & off_axis)
    chosen: list[int] = []
    for i in rng.permutation(cand):
        gaps = [abs((angle[i] - angle[j] + 90.0) % 180.0 - 90.0) for j in chosen]
        if all(g >= SYNC_SEPARATION for g in gaps):
            chosen.append(int(i))
            if len(chosen) == SYNC_BINS:
                break
    return np.array(chosen, dtype=np.int64)


def frozen(*arrays: np.ndarray) -> None:
    """Make cached arrays read-only: threads share them, so an in-place write must fail loudly."""
    for a in arrays:
        a.setflags(write=False)


@lru_cache(maxsize=64)
def pattern_for(key: bytes) -> Pattern:
    seed = hashlib.sha256(_DOMAIN + b"\x00" + check_key(key)).digest()
    rng = np.random.default_rng(np.frombuffer(seed, dtype=np.uint64))
    rows, cols, ky, kx = _ring()
    n = rows.size
    sync = np.zeros(n, dtype=bool)
    sync[_sync_bins(seed, ky, kx)] = True
    rest = np.flatnonzero(~sync)
    order = rest[rng.permutation(rest.size)]
    n_pilot = int(round(rest.size * PILOT_SHARE))
    pilot = np.zeros(n, dtype=bool)
    pilot[order[:n_pilot]] = True
    bit_of = np.full(n, -1, dtype=np.int64)
    bit_of[order[n_pilot:]] = np.arange(rest.size - n_pilot) % ecc.CODED_BITS
    weight = np.ones(n)
    # the sync lines' energy is SYNC_SHARE of the whole
    weight[sync] = np.sqrt(rest.size * SYNC_SHARE / (1.0 - SYNC_SHARE) / SYNC_BINS)
    signs = rng.integers(0, 2, size=(n, 2)) * 2 - 1
    chips = (signs[:, 0] + 1j * signs[:, 1]) / np.sqrt(2.0)
    frozen(rows, cols, pilot, sync, weight, chips, bit_of, ky, kx)
    return Pattern(rows, cols, pilot, sync, weight, chips, bit_of, ky, kx)


def tile(pattern: Pattern, coded_bits: np.ndarray) -> np.ndarray:
    """The T x T spatial tile (unit RMS) carrying the pilot and the given coded bits."""
    values = pattern.chips * pattern.weight
    pay = pattern.bit_of >= 0
    values[pay] *= 2.0 * coded_bits[pattern.bit_of[pay]] - 1.0
    spec = np.zeros((T, T), dtype=np.complex128)
    spec[pattern.rows, pattern.cols] = values
    spec[(-pattern.rows) % T, (-pattern.cols) % T] = np.conj(values)
    w = np.real(np.fft.ifft2(spec))
    return (w / np.sqrt(np.mean(w**2))).astype(np.float32)
