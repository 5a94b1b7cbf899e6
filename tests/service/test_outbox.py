"""The outbox: signed webhooks, at least once, retries, dead letters, and a
deliverer killed mid-delivery, against a real receiver and a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from sqlalchemy import select

from service.db import session_scope
from service.db.keys import create_key
from service.db.outbox import OutboxRow, add_event
from service.review.deliver import Deliverer, DeliveryConfig

from .servers import AIGC
from .webhooks import SECRET, Receiver


def _stage(url: str, n: int) -> list[str]:
    with session_scope(url) as session:
        rows = [add_event(session, "case.opened", {"case_id": f"case-{i}"}) for i in range(n)]
        session.flush()
        return [r.event_id for r in rows]


def _states(url: str) -> dict[str, str]:
    with session_scope(url) as session:
        return dict(session.execute(select(OutboxRow.event_id, OutboxRow.state)).all())


def _drain(deliverer: Deliverer, url: str, budget_s: float = 30.0) -> None:
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        deliverer.run_once()
        if "pending" not in _states(url).values():
            return
        time.sleep(0.02)
    raise AssertionError(f"outbox not drained: {_states(url)}")


def _config(receiver: Receiver, **kw) -> DeliveryConfig:
    return DeliveryConfig(url=receiver.url, secret=SECRET, backoff_s=0.05, timeout_s=2, **kw)


def test_events_are_signed_and_delivered_once_each_despite_refusals(svc_db_url):
    ids = _stage(svc_db_url, 5)
    with Receiver(refuse_first=3) as receiver:
        _drain(Deliverer(svc_db_url, _config(receiver)), svc_db_url)
    assert set(_states(svc_db_url).values()) == {"delivered"}
    assert receiver.bad_signatures == 0
    assert receiver.requests == 5 + 3
    assert dict(receiver.acked) == {event_id: 1 for event_id in ids}
    event = receiver.bodies[ids[0]]
    assert event["id"] == ids[0] and event["type"] == "case.opened"
    assert event["data"] == {"case_id": "case-0"}


def test_dead_letters_after_the_last_attempt_are_listed_for_admins(
    svc_db_url, svc_client, svc_keys
):
    ids = _stage(svc_db_url, 2)
    with Receiver(always_fail=True) as receiver:
        _drain(Deliverer(svc_db_url, _config(receiver, max_attempts=3)), svc_db_url)
    assert set(_states(svc_db_url).values()) == {"dead"}
    assert receiver.requests == 2 * 3
    admin = {"Authorization": f"Bearer {svc_keys['admin']}"}
    page = svc_client.get("/v1/admin/outbox", headers=admin).json()
    assert page["counts"] == {"pending": 0, "delivered": 0, "dead": 2}
    assert sorted(e["event_id"] for e in page["items"]) == sorted(ids)
    assert page["items"][0]["attempts"] == 3 and page["items"][0]["last_error"] == "HTTP 503"
    retried = svc_client.post(f"/v1/admin/outbox/{page['items'][0]['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    again = svc_client.post(f"/v1/admin/outbox/{page['items'][0]['id']}/retry", headers=admin)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    reviewer = {"Authorization": f"Bearer {create_key('reviewer', url=svc_db_url)[1]}"}
    assert svc_client.get("/v1/admin/outbox", headers=reviewer).status_code == 403
    bad = svc_client.get("/v1/admin/outbox?state=lost", headers=admin)
    assert bad.status_code == 422 and set(bad.json()) == {"error"}


def test_a_deliverer_killed_mid_delivery_loses_nothing(svc_db_url, tmp_path):
    ids = _stage(svc_db_url, 10)
    with Receiver() as receiver:
        receiver.stall.set()  # the first request is held: the deliverer dies waiting for it
        env = {
            **os.environ,
            "AIGC_DATABASE_URL": svc_db_url,
            "AIGC_WEBHOOK_URL": receiver.url,
            "AIGC_WEBHOOK_SECRET": SECRET,
            "AIGC_WEBHOOK_TIMEOUT_S": "1",
            "AIGC_WEBHOOK_LEASE_S": "1",
        }
        log = (tmp_path / "deliver.log").open("w")
        proc = subprocess.Popen(
            [AIGC, "outbox", "deliver"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            assert receiver.stalled.wait(60), (tmp_path / "deliver.log").read_text()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        held = [k for k, v in _states(svc_db_url).items() if v == "pending"]
        assert len(held) == 10  # the held event is leased to a dead deliverer, not lost
        # a restarted deliverer waits out the dead one's lease, then sends everything
        config = DeliveryConfig(url=receiver.url, secret=SECRET, timeout_s=1, lease_s=2)
        _drain(Deliverer(svc_db_url, config), svc_db_url)
    assert set(_states(svc_db_url).values()) == {"delivered"}
    assert dict(receiver.acked) == {event_id: 1 for event_id in ids}
    assert receiver.requests == 11  # the held request, and each event acknowledged once
