"""The matching package's exception family; the service maps each to a 4xx."""


class MatchingError(Exception):
    """Base of every error the matching package raises on purpose."""


class InvalidImage(MatchingError):
    """The pixels cannot be hashed (wrong shape or type, empty, too small)."""


class InvalidHash(MatchingError):
    """A hash given as text or bytes is malformed (wrong length, not hex)."""


class InvalidFeatures(MatchingError):
    """A stored local-feature blob is corrupt or of an unknown version."""


class BankError(MatchingError):
    """A bank operation was asked something inconsistent (duplicate or unknown id)."""


class LowQualityHash(MatchingError):
    """The image is too flat or plain for its hash to identify it (PDQ quality < minimum)."""
