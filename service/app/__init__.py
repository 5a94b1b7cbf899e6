"""The HTTP service: `create_app()` builds the FastAPI app; `aigc serve` runs it with uvicorn.

Routers are listed in one place, `ROUTERS`, plus `optional_routers()` for
packages that may not be installed or finished (batch jobs).
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import APIRouter, FastAPI

from labeler import Engine
from labeler.media import Limits
from labeler.signals.watermark import RegisteredKey
from service.db import bank_source
from service.db.manifest_source import DatabaseRepository
from service.db.migrations import ensure_schema
from service.durable.remote import HttpResolver
from service.review import deliver, retro
from service.review.source import DatabaseReviewSource
from service.settings import Settings

from . import docs, errors, openapi_doc
from .allow import AllowMiddleware
from .analysis import Runner, RunnerConfig
from .limits import BodyLimitMiddleware
from .metrics import Metrics, MetricsMiddleware
from .ratelimit_redis import build_limiter
from .routes import admin, cases, creator, health, keys, scans, web

log = logging.getLogger(__name__)

ROUTERS: list[APIRouter] = [
    health.router,
    scans.router,
    keys.router,
    web.router,
    cases.router,
    admin.router,
    creator.router,
]
# (module, attribute) of routers whose packages may be missing from an install; included
# when importable
OPTIONAL_ROUTERS = [
    ("service.app.routes.bank", "router"),
    ("service.app.routes.watermark", "router"),
    ("service.app.routes.renditions", "router"),
    ("service.app.routes.resolver", "router"),
    ("service.batch.api", "router"),
]

DESCRIPTION = """\
Tells a media platform whether an upload is AI-generated or a known manipulated fake.

Authenticate with `Authorization: Bearer <API key>` (`aigc keys create --role ROLE`).
Roles: `pipeline` (scan), `creator` (label-check, appeals of own uploads), `analyst`
(read scans, batch), `admin` (everything, bank, outbox), `partner` (watermark
embedding), `reviewer` (the case queue and verdicts), `fact_checker` (the cases
routed to its organisation by topic and language, without creator data),
`resolver` (the C2PA soft-binding resolution API under /c2pa, unless it is open).
Every error is JSON: `{"error": {"code": "...", "message": "..."}}`.
"""


def optional_routers() -> list[APIRouter]:
    found = []
    for module_name, attr in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            log.info("router %s not included: %s", module_name, exc)
            continue
        router = getattr(module, attr, None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """One app per worker process; `engine` lets a caller share an already built Engine."""
    settings = settings or Settings.from_env()
    metrics = Metrics()
    bank_routes = _optional_module("service.app.routes.bank")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        ensure_schema(app.state.db_url)
        built = app.state.engine = _service_engine(app, settings, engine, bank_routes)
        app.state.runner = Runner(built, RunnerConfig.from_settings(settings))
        if app.state.runner.config.warm:
            app.state.runner.warm()
        metrics.set_restarts_source(lambda: sum(p.restarts for p in app.state.runner.processes))
        stop_background = _background(app.state.db_url, settings)
        try:
            yield
        finally:
            stop_background()
            app.state.runner.close()

    app = FastAPI(
        title="AIGC provenance",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # served from packaged assets by docs.install, not FastAPI's CDN pages
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db_url = settings.database_url
    app.state.metrics = metrics
    app.state.engine = None
    app.state.platform_key = None
    app.state.label_check_limiter = build_limiter(settings)
    app.state.bank_index_status = lambda: _bank_index_status(app)
    if bank_routes is not None:
        metrics.set_bank_size_source(lambda: bank_routes.bank_size(app.state.db_url))
    errors.install(app)
    for router in [*ROUTERS, *optional_routers()]:
        app.include_router(router)
    docs.install(app)
    openapi_doc.install(app)
    # the last added runs outermost: metrics see every request, even ones refused for size
    app.add_middleware(AllowMiddleware, router=app.router)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_upload_bytes,
        # batch archives are many files in one upload
        overrides={"/v1/batch": settings.max_batch_upload_bytes},
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _service_engine(app: FastAPI, settings: Settings, engine: Engine | None, bank_routes) -> Engine:
    """The engine with the service's stores, limits, platform key and partner resolver."""
    built = engine
    if built is None:
        # the app's database may differ from AIGC_DATABASE_URL (settings win)
        source = (
            bank_source.DatabaseBankSource(app.state.db_url)
            if bank_routes is not None
            else bank_source.from_env()
        )
        built = Engine.from_env(bank=source, repository=DatabaseRepository(app.state.db_url))
    # the service's pixel limit wins; bytes were already bounded on the way in
    built.limits = Limits(
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_pixels,
        video=built.limits.video,
    )
    if built.review is None:
        # verdicts feed the policy: creator history and the negative bank
        built.review = DatabaseReviewSource(app.state.db_url)
    watermark_routes = _optional_module("service.app.routes.watermark")
    app.state.platform_key = (
        watermark_routes.load_platform_key(settings, built.watermark_keys)
        if watermark_routes is not None
        else None
    )
    built = _with_platform_key(built, app.state.platform_key)
    if settings.allowed_resolver_hosts and built.remote_resolver is None:
        client = HttpResolver(
            settings.allowed_resolver_hosts,
            built.credentials,
            timeout_s=settings.resolver_timeout_s,
        )
        built = replace(built, remote_resolver=client)
    return built


def _with_platform_key(engine: Engine, key) -> Engine:
    """The engine trying the platform key the settings name (they win over the environment)."""
    if key is None or (engine.platform_key is not None and engine.platform_key.key == key.key):
        return engine
    return replace(
        engine, platform_key=RegisteredKey(key.key_id, "this platform", "platform", key.key)
    )


def _background(db_url: str, settings: Settings):
    """Start the outbox deliverer and the retroactive runner threads; returns their stop."""
    threads = []
    delivery = deliver.DeliveryConfig.from_settings(settings)
    if delivery is not None and settings.webhook_deliver:
        threads.append((*deliver.start_thread(db_url, delivery), delivery.timeout_s + 1))
    if settings.retro_run:
        threads.append((*retro.start_thread(db_url, retro.RetroConfig.from_settings(settings)), 30))

    def stop() -> None:
        for _thread, event, _wait in threads:
            event.set()
        for thread, _event, wait in threads:
            thread.join(timeout=wait)

    return stop


def _optional_module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _bank_index_status(app: FastAPI) -> str:
    """Whether this worker's bank index loads from the database (blocking: run in a thread)."""
    if app.state.engine is None:
        return "not loaded"
    bank_routes = _optional_module("service.app.routes.bank")
    if bank_routes is None:
        return "not configured"
    return bank_routes.index_status(app.state.db_url)


__all__ = ["ROUTERS", "create_app"]
