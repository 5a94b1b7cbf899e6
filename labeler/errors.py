"""The labeler's exception family; the service maps each to a 4xx."""

from __future__ import annotations

import re

# " at 0x7f3a2c1b9e80" in a repr: Pillow and others quote the object they were
# handed ("cannot identify image file <_io.BytesIO object at 0x...>"). An
# address tells a caller nothing about their file and something about our
# process (it helps defeat ASLR), so it never leaves in a message.
# Only inside a repr's angle brackets: "marker at 0x1F" outside them is a file
# offset, which does help the caller.
_ADDRESS = re.compile(r"(<[^<>]*?)\s+at\s+0x[0-9A-Fa-f]+>")


def redact_addresses(message: str) -> str:
    """`message` without reprs' addresses: `<_io.BytesIO object at 0x7f..>` becomes
    `<_io.BytesIO object>`."""
    return _ADDRESS.sub(r"\1>", message)


class LabelerError(Exception):
    """Base of every error the labeler raises on purpose."""

    def __init__(self, *args: object) -> None:
        # every message, wherever it is shown (HTTP, batch reports, the CLI), is clean
        super().__init__(*(redact_addresses(a) if isinstance(a, str) else a for a in args))


class ConfigError(LabelerError, ValueError):
    """A setting (an AIGC_* variable, a file it names) is not valid; the message names it."""


class WatermarkKeyError(ConfigError):
    """The watermark key registry or a key file is missing, unreadable or malformed."""


class UnsupportedMedia(LabelerError):
    """The bytes are not a media type we handle (sniffed, not by file name)."""


class MediaTooLarge(LabelerError):
    """Too many bytes or pixels (decompression bombs land here before decoding)."""


class MediaDecodeError(LabelerError):
    """The type is supported but the file is truncated, corrupt or hostile."""


class MediaOverBudget(MediaTooLarge):
    """Within the size limits, but its header promises more decoding work than allowed.

    `cost` is the estimate (labeler.media.Probe.cost) and `budget` the limit
    (AIGC_MAX_COST), both in decoded megapixels.
    """

    def __init__(self, message: str, cost: float = 0.0, budget: float = 0.0):
        super().__init__(message)
        self.cost = cost
        self.budget = budget
