"""Floor 1: the provenance signal (plain values in, frozen dataclasses out).

`read_credentials(data, mime)` reads and judges C2PA Content Credentials with
c2pa-python, classifies the asset by the C2PA Asset Rubrics and collects the
weaker, unsigned metadata hints. `sign(...)` writes our own manifest.
"""

from .detached import DetachedReport, read_detached
from .devca import DevCA, create_dev_ca
from .errors import (
    MalformedAsset,
    ProvenanceError,
    SigningError,
    TrustConfigError,
    UnsupportedFormat,
)
from .hints import MetadataHint, read_hints, strongest_class
from .reader import default_settings, read_credentials, read_crjson, read_store
from .report import CredentialReport, IngredientFailure, Signer
from .rubric import AI_CLASSES, classify
from .signing import Ingredient, Signed, SignerCredentials, sign, sign_detailed
from .trust import DEFAULT_EKUS, Settings, clear_cache
from .trustlists import TrustList

__all__ = [
    "AI_CLASSES",
    "DEFAULT_EKUS",
    "CredentialReport",
    "DetachedReport",
    "DevCA",
    "Ingredient",
    "IngredientFailure",
    "MalformedAsset",
    "MetadataHint",
    "ProvenanceError",
    "Settings",
    "Signed",
    "Signer",
    "SignerCredentials",
    "SigningError",
    "TrustConfigError",
    "TrustList",
    "UnsupportedFormat",
    "classify",
    "clear_cache",
    "create_dev_ca",
    "default_settings",
    "read_credentials",
    "read_crjson",
    "read_store",
    "read_detached",
    "read_hints",
    "sign",
    "sign_detailed",
    "strongest_class",
]
