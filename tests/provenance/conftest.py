from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import provenance


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    return Image.fromarray(np.asarray(skdata.astronaut())).resize((160, 160))


@pytest.fixture(scope="session")
def photo_jpeg(photo) -> bytes:
    return encode(photo, "JPEG", quality=90)


@pytest.fixture(scope="session")
def photo_png(photo) -> bytes:
    return encode(photo, "PNG")


@pytest.fixture(scope="session")
def dev_ca(tmp_path_factory) -> provenance.DevCA:
    return provenance.create_dev_ca(tmp_path_factory.mktemp("dev-ca"), name="test generator")


@pytest.fixture(scope="session")
def second_ca(tmp_path_factory) -> provenance.DevCA:
    return provenance.create_dev_ca(tmp_path_factory.mktemp("dev-ca-2"), name="test editor")


@pytest.fixture(scope="session")
def signer(dev_ca) -> provenance.SignerCredentials:
    return provenance.SignerCredentials.from_dev_ca(dev_ca)


@pytest.fixture(scope="session")
def second_signer(second_ca) -> provenance.SignerCredentials:
    return provenance.SignerCredentials.from_dev_ca(second_ca)


@pytest.fixture(scope="session")
def trusting(dev_ca, second_ca) -> provenance.Settings:
    """Shipped lists plus both test CAs as operator anchors."""
    return provenance.Settings(operator_anchors=(str(dev_ca.root_cert), str(second_ca.root_cert)))


@pytest.fixture(scope="session")
def sdk_test_anchors(fixtures_dir) -> provenance.Settings:
    """The SDK's test root bundle as operator anchors (the corpus README's setting)."""
    return provenance.Settings(
        operator_anchors=(str(fixtures_dir / "certs" / "test_cert_root_bundle.pem"),)
    )
