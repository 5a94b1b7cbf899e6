"""256-bit PDQ and 64-bit pHash codes as bytes, hex text and packed words.

The hex form is the one HMA and ThreatExchange exchange: the 256 hash bits
written most-significant first, so `pdqhash`'s bit vector packs straight
into it with `np.packbits`.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidHash

PDQ_BYTES = 32
PHASH_BYTES = 8


def bits_to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def from_hex(text: str, nbytes: int = PDQ_BYTES, what: str = "PDQ hash") -> bytes:
    """Parse a hex hash, with a clear error naming what was wrong."""
    if not isinstance(text, str):
        raise InvalidHash(f"{what} must be a hex string, got {type(text).__name__}")
    text = text.strip().lower()
    if len(text) != 2 * nbytes:
        raise InvalidHash(f"{what} must be {2 * nbytes} hex digits, got {len(text)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidHash(f"{what} is not hexadecimal: {text[:16]}...") from None


def to_hex(code: bytes) -> str:
    return code.hex()


def check_code(code: bytes, nbytes: int = PDQ_BYTES, what: str = "PDQ hash") -> bytes:
    if not isinstance(code, bytes | bytearray) or len(code) != nbytes:
        raise InvalidHash(f"{what} must be {nbytes} bytes")
    return bytes(code)


def pack_words(codes: np.ndarray | list[bytes]) -> np.ndarray:
    """N codes of 32 bytes -> (N, 4) uint64, word 0 holding the first 64 bits."""
    if isinstance(codes, list):
        arr = np.frombuffer(b"".join(codes), dtype=np.uint8) if codes else np.zeros(0, np.uint8)
        arr = arr.reshape(-1, PDQ_BYTES)
    else:
        arr = np.ascontiguousarray(codes, dtype=np.uint8)
        if arr.ndim != 2 or arr.shape[1] != PDQ_BYTES:
            raise InvalidHash(f"codes must be an (N, {PDQ_BYTES}) uint8 array, got {arr.shape}")
    return arr.view(">u8").astype(np.uint64)


def hamming(a: bytes, b: bytes) -> int:
    return int.bit_count(int.from_bytes(a, "big") ^ int.from_bytes(b, "big"))
