"""The label-check limiter shared through a real Redis: one limit for every worker, and a
defined fallback to memory when Redis does not answer.

Tests use the Redis at AIGC_TEST_REDIS_URL (default 127.0.0.1:6379) with a key prefix of
their own, deleted afterwards; they skip when no Redis answers there.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid

import httpx
import pytest
import redis

from service.app.ratelimit import MemoryRateLimiter, creator_bucket
from service.app.ratelimit_redis import RedisRateLimiter, build_limiter
from service.settings import Settings

from .servers import free_port, serve, small_png

REDIS_URL = os.environ.get("AIGC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    """A key prefix of this test's own (other suites share the server); its keys go after."""
    prefix = f"aigc-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


def _limiter(prefix: str, limit: int, window_s: float, url: str = REDIS_URL) -> RedisRateLimiter:
    return RedisRateLimiter.from_url(url, prefix, MemoryRateLimiter(limit, window_s))


def test_limit_then_retry_after_the_oldest_hit_leaves_the_window(prefix, redis_client):
    limiter = _limiter(prefix, 3, 2)
    assert [limiter.hit(["addr:a"]) for _ in range(3)] == [None, None, None]
    wait = limiter.hit(["addr:a"])
    assert wait is not None and 1.5 < wait <= 2
    time.sleep(wait / 2)
    assert limiter.hit(["addr:a"]) == pytest.approx(wait / 2, abs=0.2)
    time.sleep(limiter.hit(["addr:a"]) + 0.01)
    assert limiter.hit(["addr:a"]) is None
    assert not limiter.degraded
    # a bucket is a sorted set that expires with its window; the first three hits
    # (made together) have left it, the refused ones were never in it
    assert 0 < redis_client.pttl(prefix + "addr:a") <= 2000
    assert redis_client.zcard(prefix + "addr:a") == 1


def test_a_request_refused_by_one_bucket_is_counted_in_none(prefix, redis_client):
    limiter = _limiter(prefix, 2, 60)
    for _ in range(2):
        assert limiter.hit(["key:k", creator_bucket("x")]) is None
    for i in range(5):
        assert limiter.hit(["key:k", creator_bucket(f"other-{i}")]) is not None
    assert limiter.hit(["key:k2", creator_bucket("x")]) is not None
    assert limiter.hit(["key:k2", creator_bucket("y")]) is None
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=prefix + "*"))
    # key:k, key:k2, creator x and y; the refused requests left nothing; names are bounded
    assert len(keys) == 4 and max(len(k) for k in keys) <= len(prefix) + 80


_WORKER = textwrap.dedent(
    """
    import sys, time
    from service.app.ratelimit import MemoryRateLimiter
    from service.app.ratelimit_redis import RedisRateLimiter

    url, prefix, limit, hits, start = sys.argv[1:]
    limiter = RedisRateLimiter.from_url(url, prefix, MemoryRateLimiter(int(limit), 60))
    limiter.hit(["warm-up"])  # connect and load the script before the race
    time.sleep(max(0.0, float(start) - time.time()))
    accepted = sum(limiter.hit(["creator:shared"]) is None for _ in range(int(hits)))
    print(accepted, limiter.degraded)
    """
)


def test_two_processes_together_get_exactly_the_limit(prefix):
    start = time.time() + 3  # both are connected and waiting by then
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, REDIS_URL, prefix, "100", "300", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        accepted, degraded = out.split()
        assert degraded == "False", err
        results.append(int(accepted))
    # each alone would have taken 100; with one Redis behind both, 100 in all
    assert sum(results) == 100, results


@pytest.mark.slow
def test_two_servers_sharing_redis_enforce_the_limit_in_total(prefix, tmp_path):
    env = {
        "AIGC_CREATOR_PAGE_OPEN": "1",
        "AIGC_LABEL_CHECK_LIMIT": "4",
        "AIGC_REDIS_URL": REDIS_URL,
        "AIGC_REDIS_KEY_PREFIX": prefix,
    }
    with (
        serve(tmp_path / "a", **env) as base_a,
        serve(tmp_path / "b", **env) as base_b,
        httpx.Client(timeout=60) as client,
    ):
        responses = [
            client.post(
                (base_a, base_b)[i % 2] + "/v1/label-check",
                files={"file": ("a.png", small_png())},
                data={"creator_id": "creator-7"},
            )
            for i in range(10)
        ]
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 4, codes
    assert codes[:4] == [200] * 4  # both servers answered some of the four
    for r in responses[4:]:
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 60


def test_unreachable_redis_falls_back_to_memory_and_warns_once(caplog):
    # a port nobody listens on: refused at once, like a Redis that is down
    limiter = _limiter("aigc-test:", 2, 60, url=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="service.app.ratelimit_redis"):
        started = time.monotonic()
        answers = [limiter.hit(["addr:a"]) for _ in range(4)]
        elapsed = time.monotonic() - started
    assert answers[:2] == [None, None] and all(a is not None for a in answers[2:])
    assert limiter.degraded
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert elapsed < 2  # one failed attempt, then memory until the retry time


def test_the_app_answers_from_memory_when_redis_is_down(svc_make_client):
    client = svc_make_client(
        creator_page_open=True,
        label_check_limit=2,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    assert isinstance(client.app.state.label_check_limiter, RedisRateLimiter)
    codes = [
        client.post("/v1/label-check", files={"file": ("a.png", small_png())}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_no_redis_url_means_memory_only():
    assert isinstance(build_limiter(Settings()), MemoryRateLimiter)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, which it may stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary to start a private Redis")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp_path]
    procs = []

    def start():
        proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.DEVNULL)
        procs.append(proc)
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("the private redis-server did not start")

    start()
    yield f"redis://127.0.0.1:{port}/0", start, procs
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_outage_is_bridged_by_memory_and_redis_is_used_again_after(private_redis):
    url, start, procs = private_redis
    limiter = _limiter("aigc-test:", 3, 60, url=url)
    limiter.retry_s = 0.5
    assert limiter.hit(["addr:a"]) is None and not limiter.degraded
    procs[-1].terminate()
    procs[-1].wait(timeout=10)
    assert limiter.hit(["addr:a"]) is None  # from memory: its first hit there
    assert limiter.degraded
    start()  # a new, empty Redis on the same port
    time.sleep(0.6)
    assert [limiter.hit(["addr:a"]) for _ in range(4)][3] is not None
    assert not limiter.degraded
    assert redis.Redis.from_url(url).zcard("aigc-test:addr:a") == 3
