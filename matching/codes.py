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


# rows parsed per bytes.fromhex call: a bad row sends only its chunk to the slow path
_HEX_CHUNK = 4096


def from_hex_column(values, nbytes: int = PDQ_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Many hex codes at once: ((N, nbytes) uint8, mask of the rows that parsed).

    One bytes.fromhex over the joined column (chunk by chunk) instead of one
    call and one bytes object per row. None, "" and malformed rows are
    masked out with zero bytes; the caller decides whether that drops the
    entry or just that hash.
    """
    values = list(values)
    n = len(values)
    out = np.zeros((n, nbytes), np.uint8)
    digits = 2 * nbytes
    nones = values.count(None)
    if nones == n:  # an optional column nobody filled (pHash of imported hashes)
        return out, np.zeros(n, bool)
    try:
        if nones:
            raise TypeError
        sized = np.fromiter(map(len, values), np.int64, count=n) == digits
    except TypeError:  # a None (or other non-text) somewhere in the column
        sized = np.fromiter(
            (isinstance(v, str) and len(v) == digits for v in values), dtype=bool, count=n
        )
    rows = np.flatnonzero(sized)
    mask = np.zeros(n, bool)
    every = len(rows) == n
    for s in range(0, len(rows), _HEX_CHUNK):
        chunk = rows[s : s + _HEX_CHUNK]
        texts = values[s : s + _HEX_CHUNK] if every else [values[i] for i in chunk.tolist()]
        try:
            raw = bytes.fromhex("".join(texts))
        except (ValueError, TypeError):
            raw = b""
        # bytes.fromhex skips whitespace, so a row with spaces shortens the result
        if len(raw) == len(chunk) * nbytes:
            out[chunk] = np.frombuffer(raw, np.uint8).reshape(-1, nbytes)
            mask[chunk] = True
            continue
        for i, text in zip(chunk.tolist(), texts, strict=True):
            try:
                code = bytes.fromhex(text)
            except ValueError:
                continue
            if len(code) == nbytes:
                out[i] = np.frombuffer(code, np.uint8)
                mask[i] = True
    return out, mask
