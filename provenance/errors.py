"""The provenance exception family; callers map each to a clear 4xx / per-file error."""


class ProvenanceError(Exception):
    """Base of every error `provenance` raises on purpose."""


class UnsupportedFormat(ProvenanceError):
    """The bytes are not a container we read credentials from (sniffed, not by name)."""


class MalformedAsset(ProvenanceError):
    """The container or its manifest store is broken or hostile (too deep, bombs, bad alg)."""


class TrustConfigError(ProvenanceError):
    """An operator-supplied trust list / anchor file is missing or holds no certificate."""


class SigningError(ProvenanceError):
    """A manifest could not be signed (bad key, certificate chain or manifest definition)."""
