"""`aigc serve`'s uvicorn: the config with the guarded protocol, and the fd limit."""

from __future__ import annotations

import logging
import resource
import sys

import uvicorn

from service.settings import Settings

from .logs import log_config
from .protocol import GuardedH11Protocol, ServiceConfig

log = logging.getLogger("uvicorn.error")

# file descriptors kept free of the connection cap (database, logs, media, pipes)
FD_RESERVE = 128


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return soft


def effective_cap(requested: int, fd_limit: int) -> int:
    """The connection cap, lowered when the fd limit would bind first."""
    if fd_limit == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, fd_limit - FD_RESERVE))


def build_config(
    settings: Settings, host: str, port: int, workers: int = 1, log_level: str = "info"
) -> ServiceConfig:
    fd_limit = raise_fd_limit()
    cap = effective_cap(settings.max_connections, fd_limit)
    if cap < settings.max_connections:
        print(
            f"note: AIGC_MAX_CONNECTIONS={settings.max_connections} lowered to {cap} "
            f"(open-file limit {fd_limit})",
            file=sys.stderr,
        )
    guard = settings.model_copy(update={"max_connections": cap})
    return ServiceConfig(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # uvicorn would take the client from X-Forwarded-For of any loopback peer;
        # the app decides whom to believe (AIGC_TRUSTED_PROXIES) from the real peer
        proxy_headers=False,
        log_config=log_config(settings.log_repeat_limit, settings.log_repeat_window_s),
        # pinned: the guard is written against h11's state machine
        http=GuardedH11Protocol,
        ws="none",
        # a spawned worker re-imports `aigc` (and with it the labeler) before it answers the
        # supervisor's ping: several seconds on a busy machine, not a hung worker
        timeout_worker_healthcheck=30,
        guard=guard,
    )


def run(config: ServiceConfig) -> int:
    """Serve until stopped (uvicorn's multiprocess supervisor for several workers)."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    if config.workers > 1:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
        return 0
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else STARTUP_FAILURE
