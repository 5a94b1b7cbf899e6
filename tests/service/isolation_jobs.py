"""Jobs for the analysis-process tests; a top-level module so analysis processes can import it."""

from __future__ import annotations

import os
import re
import time

import numpy as np


def stuck_in_native_code() -> None:
    # catastrophic backtracking runs inside the C regex engine without
    # returning to the interpreter: as unstoppable from Python as a stuck decoder
    re.match(r"(a+)+$", "a" * 64 + "b")


def sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def allocate(megabytes: int) -> int:
    block = np.ones(megabytes * 1024 * 1024, dtype=np.uint8)
    return int(block[::4096].sum())


def pid() -> int:
    return os.getpid()


def crash() -> None:
    os.abort()  # a segfault in a native library, as the parent sees it


_held: list[np.ndarray] = []


def hold(megabytes: int) -> int:
    """Keep memory after the job, as an allocator's high-water mark would."""
    block = np.ones(megabytes * 1024 * 1024, dtype=np.uint8)
    _held.append(block)
    return len(_held)


_kept: list[bytes] = []


def fragment(megabytes: int) -> int:
    """Leave `megabytes` of freed heap the allocator cannot return by itself: blocks below
    the mmap threshold, every 64th kept so that no free run reaches the heap's top."""
    blocks = [bytes(64 * 1024) for _ in range(megabytes * 16)]
    _kept.extend(blocks[::64])
    del blocks
    return len(_kept)
