"""The outbox deliverer: each event POSTed to AIGC_WEBHOOK_URL, at least once.

One round: claim due rows with a lease (a conditional UPDATE per row, so two
deliverers, in one process or on two machines, never hold the same row), POST
each, then settle it: `delivered` on a 2xx, otherwise retried after an
exponentially growing wait, and `dead` after the last attempt. A deliverer
killed between POST and settle leaves a lease that runs out; the row is sent
again with the same idempotency key, which is what receivers deduplicate by.

The body is signed like GitHub's and Stripe's webhooks: HMAC-SHA256 over
"<timestamp>.<body>" with the shared secret, so a receiver can refuse forged
and replayed requests:

    X-AIGC-Signature: sha256=<hex>     X-AIGC-Timestamp: <unix seconds>
    Idempotency-Key: <event id>        X-AIGC-Event: <kind>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from ..db.base import session_scope
from ..db.outbox import OutboxRow
from ..settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    url: str
    secret: str
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    timeout_s: float = 10.0
    lease_s: float = 60.0
    batch: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig | None:
        if not settings.webhook_url or not settings.webhook_secret:
            return None
        return cls(
            url=settings.webhook_url,
            secret=settings.webhook_secret,
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            timeout_s=settings.webhook_timeout_s,
            lease_s=max(settings.webhook_lease_s, settings.webhook_timeout_s * 2),
        )


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(row: OutboxRow) -> bytes:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    event = {
        "id": row.event_id,
        "type": row.kind,
        "created_at": created.isoformat(),
        "data": row.payload,
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def backoff(config: DeliveryConfig, attempts: int) -> float:
    return min(config.backoff_max_s, config.backoff_s * 2 ** max(0, attempts - 1))


class Deliverer:
    def __init__(self, db_url: str, config: DeliveryConfig, owner: str | None = None) -> None:
        self.db_url = db_url
        self.config = config
        self.owner = owner or uuid.uuid4().hex

    def claim(self) -> list[OutboxRow]:
        """Due rows this deliverer now holds a lease on (none held by a live other)."""
        now = datetime.now(UTC)
        free = or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now)
        due = (OutboxRow.state == "pending", OutboxRow.next_attempt_at <= now, free)
        with session_scope(self.db_url) as session:
            ids = list(
                session.scalars(
                    select(OutboxRow.id).where(*due).order_by(OutboxRow.id).limit(self.config.batch)
                )
            )
        claimed = []
        until = now + timedelta(seconds=self.config.lease_s)
        for row_id in ids:
            # its own transaction whose first statement is the UPDATE (SQLite's writer lock)
            with session_scope(self.db_url) as session:
                won = session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id == row_id, *due)
                    .values(lease_owner=self.owner, lease_until=until)
                ).rowcount
                if won == 1:
                    claimed.append(session.get(OutboxRow, row_id))
        return claimed

    def send(self, row: OutboxRow) -> str | None:
        """POST one event; None when the receiver acknowledged it (2xx), else the error."""
        body = body_of(row)
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            self.config.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "aigc-provenance-webhooks/1",
                "Idempotency-Key": row.event_id,
                "X-AIGC-Event": row.kind,
                "X-AIGC-Timestamp": stamp,
                "X-AIGC-Signature": signature(self.config.secret, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"[:500]

    def settle(self, row: OutboxRow, error: str | None) -> str:
        now = datetime.now(UTC)
        attempts = row.attempts + 1
        if error is None:
            values = dict(state="delivered", delivered_at=now, last_error=None)
        elif attempts >= self.config.max_attempts:
            values = dict(state="dead", last_error=error)
        else:
            wait = timedelta(seconds=backoff(self.config, attempts))
            values = dict(state="pending", next_attempt_at=now + wait, last_error=error)
        with session_scope(self.db_url) as session:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id, OutboxRow.lease_owner == self.owner)
                .values(attempts=attempts, lease_owner=None, lease_until=None, **values)
            )
        return values["state"]

    def run_once(self) -> dict[str, int]:
        """One round; the count of each outcome."""
        counts = {"delivered": 0, "retry": 0, "dead": 0}
        for row in self.claim():
            state = self.settle(row, self.send(row))
            counts["retry" if state == "pending" else state] += 1
        return counts

    def run(self, stop: threading.Event, idle_s: float = 0.5) -> None:
        """Until `stop` is set: rounds back to back while there is work, else a short wait."""
        while not stop.is_set():
            try:
                busy = sum(self.run_once().values())
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("outbox delivery round failed")
                busy = 0
            if not busy:
                stop.wait(idle_s)


def start_thread(db_url: str, config: DeliveryConfig) -> tuple[threading.Thread, threading.Event]:
    """A daemon deliverer for a service process; set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=Deliverer(db_url, config).run, args=(stop,), name="aigc-outbox", daemon=True
    )
    thread.start()
    return thread, stop
