"""The labeler's exception family; the service maps each to a 4xx."""


class LabelerError(Exception):
    """Base of every error the labeler raises on purpose."""


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
