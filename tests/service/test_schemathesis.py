"""Property-based tests of the whole HTTP API against its own OpenAPI document.

schemathesis reads /openapi.json from the real app (in process, over ASGI,
lifespan and all), generates valid and invalid requests for every operation
and checks each answer: never a 5xx, a documented status, a body that matches
the documented schema, and valid data (within the published bounds) accepted.
The run is seeded (derandomized) so a failure reproduces, and bounded so the
suite stays within minutes on a shared 2-core machine.
"""

from __future__ import annotations

import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from service.db.keys import create_key

from .conftest import fresh_pg_schema

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_EXAMPLES = 25

# Bodies of these operations are media or archives: a fuzzer's random bytes are
# valid by the schema (any file) but are refused by content (415 / 422), so
# "valid data is accepted" cannot hold for them. Everything else still applies.
CONTENT_REFUSED = {
    "POST /v1/scan",
    "POST /v1/label-check",
    "POST /v1/watermark/embed",
    "POST /v1/bank/entries",
    "POST /v1/batch",
    "POST /v1/renditions",
    "POST /c2pa/matches/byContent",
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def st_env(request, tmp_path_factory):
    """A real app on a fresh database, with an admin key and every optional feature on."""
    folder = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'api.db'}"
    else:
        url = request.getfixturevalue("st_pg_url")
    root = folder / "root"
    root.mkdir()
    key_file = folder / "platform-test.key"
    key_file.write_text(secrets.token_bytes(32).hex() + "\n")
    patch = pytest.MonkeyPatch()
    patch.setenv("AIGC_DATABASE_URL", url)
    patch.setenv("AIGC_BATCH_DIR", str(folder / "batch"))
    patch.setenv("AIGC_BATCH_EXTRACT_DIR", str(folder))
    patch.setenv("AIGC_BATCH_ROOT", str(root))
    patch.setenv("AIGC_BATCH_WORKERS", "1")
    from service.app import create_app
    from service.db.migrations import ensure_schema
    from service.settings import Settings

    ensure_schema(url)
    admin = create_key("admin", note="schemathesis", url=url)[1]
    from provenance import create_dev_ca

    ca = create_dev_ca(folder / "dev-ca")
    settings = Settings(
        database_url=url,
        platform_watermark_key_file=str(key_file),
        platform_signing_cert=str(ca.signer_chain),
        platform_signing_key=str(ca.signer_key),
        creator_token_secret="schemathesis-creator-token-secret-0123",  # a test secret
    )
    app = create_app(settings)
    assert app.openapi() == SPEC  # the document the cases were made from
    yield app, admin
    patch.undo()


@pytest.fixture(scope="module")
def st_pg_url(svc_pg_admin):
    """A PostgreSQL schema for the module (the function-scoped svc_pg_url is too short-lived)."""
    with fresh_pg_schema(*svc_pg_admin, prefix="aigc_st") as url:
        yield url


def _spec() -> dict:
    # The document only: building an app touches no database and runs no lifespan.
    # (schemathesis' lazy fixture loader does not run on this pytest; each case is
    # sent to the fixture's app instead, which serves this very document.)
    from service.app import create_app
    from service.settings import Settings

    return create_app(Settings(database_url="sqlite://")).openapi()


SPEC = _spec()
schema = schemathesis.openapi.from_dict(SPEC)
# every case is sent with the admin key (below): the document's bearer scheme must
# not make the fuzzer generate its own Authorization headers, nor count a request
# "without" one as invalid data that the server then (rightly) accepts with the key
schema.config.generation.update(with_security_parameters=False)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    # the app is shared by every example on purpose (one database, one engine)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms_to_its_openapi(case, st_env):
    app, admin = st_env
    wanted = [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.negative_data_rejection,
    ]
    if f"{case.method.upper()} {case.path}" not in CONTENT_REFUSED:
        wanted.append(checks.positive_data_acceptance)
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {admin}"}, checks=wanted)
