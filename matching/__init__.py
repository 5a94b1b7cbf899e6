"""Floor 1: perceptual matching against a bank of known manipulated media.

    hashes = matching.compute_hashes(rgb)            # PDQ (+ dihedrals, unboxed), pHash
    bank = matching.Bank()
    bank.add("entry-1", hashes, category="misleading_deepfake")
    result = bank.lookup(matching.compute_hashes(query_rgb, features=bank.wants_features))
    result.best  # Match(entry_id, distance, hash_type, stage, ...) or None

Plain values in, frozen dataclasses out; nothing here knows the service's
database (the service fills a Bank from it). See matching/README.md.
"""

from .bank import Bank
from .codes import from_hex, hamming, to_hex
from .config import DEFAULT_MIN_QUALITY, DEFAULT_NEAR_RADIUS, DEFAULT_RADIUS, MatchConfig
from .errors import (
    BankError,
    InvalidFeatures,
    InvalidHash,
    InvalidImage,
    LowQualityHash,
    MatchingError,
)
from .features import LocalFeatures, extract_features, extract_query_features
from .hashing import DIHEDRAL_NAMES, Hashes, compute_hashes
from .index import HammingIndex, brute_force
from .results import LookupResult, Match

__all__ = [
    "DEFAULT_MIN_QUALITY",
    "DEFAULT_NEAR_RADIUS",
    "DEFAULT_RADIUS",
    "DIHEDRAL_NAMES",
    "Bank",
    "BankError",
    "HammingIndex",
    "Hashes",
    "InvalidFeatures",
    "InvalidHash",
    "InvalidImage",
    "LocalFeatures",
    "LookupResult",
    "LowQualityHash",
    "Match",
    "MatchConfig",
    "MatchingError",
    "brute_force",
    "compute_hashes",
    "extract_features",
    "extract_query_features",
    "from_hex",
    "hamming",
    "to_hex",
]
