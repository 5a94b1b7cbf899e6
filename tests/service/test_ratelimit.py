"""The in-memory label-check limiter: the window, and memory that stays bounded whatever
callers send; the settings that shape it; the creator id's length at the form."""

from __future__ import annotations

import tracemalloc
import uuid

import pytest

from service.app.ratelimit import (
    MAX_BUCKET_NAME,
    MemoryRateLimiter,
    bucket_name,
    creator_bucket,
)
from service.settings import Settings

from .servers import small_png


def test_limit_then_wait_until_the_oldest_hit_leaves_the_window():
    limiter = MemoryRateLimiter(3, 10)
    assert [limiter.hit(["a"], now=t) for t in (0, 1, 2)] == [None, None, None]
    assert limiter.hit(["a"], now=3) == pytest.approx(7)
    assert limiter.hit(["a"], now=9.5) == pytest.approx(0.5)
    assert limiter.hit(["a"], now=10) is None  # the hit at 0 has left the window
    assert limiter.hit(["a"], now=10.5) == pytest.approx(0.5)


def test_a_request_refused_by_one_bucket_is_counted_in_none():
    limiter = MemoryRateLimiter(2, 60)
    limiter.hit(["key:k", "creator:x"], now=0)
    limiter.hit(["key:k", "creator:x"], now=1)
    for t in range(2, 10):
        assert limiter.hit(["key:k", f"creator:{t}"], now=t) == pytest.approx(60 - t)
    assert len(limiter) == 2  # the refused requests' creator buckets were never made
    assert limiter.hit(["key:other", "creator:2"], now=10) is None


def test_stale_buckets_are_dropped_not_only_empty_ones():
    limiter = MemoryRateLimiter(5, 60)
    for i in range(1000):
        limiter.hit([f"creator:{i}"], now=i / 100)
    assert len(limiter) == 1000
    # every bucket still holds its hit, but the newest one is older than the window
    limiter.hit(["creator:late"], now=75)
    assert len(limiter) == 1


def test_bucket_count_has_a_hard_cap_evicting_the_least_recently_hit():
    limiter = MemoryRateLimiter(3, 3600, max_buckets=100)
    for t in range(3):
        limiter.hit(["creator:first"], now=t)
    assert limiter.hit(["creator:first"], now=3) is not None
    for i in range(5000):
        limiter.hit([f"creator:{i}"], now=10 + i)
        assert len(limiter) <= 100
        if i == 4990:
            for _ in range(3):
                limiter.hit(["creator:recent"], now=10 + i)
    assert len(limiter) == 100
    assert limiter.hit(["creator:recent"], now=5100) is not None  # among the newest: kept
    assert limiter.hit(["creator:first"], now=5100) is None  # the oldest: evicted long ago


def test_bucket_names_are_bounded_and_long_ones_hashed():
    assert bucket_name("addr:203.0.113.7") == "addr:203.0.113.7"
    long_a, long_b = "creator:" + "a" * 10_000, "creator:" + "a" * 9_999 + "b"
    assert len(bucket_name(long_a)) <= MAX_BUCKET_NAME
    assert bucket_name(long_a) != bucket_name(long_b)
    assert creator_bucket("c-1") != creator_bucket("c-2")
    assert len(creator_bucket("x" * 1_000_000)) == len(creator_bucket("y")) <= MAX_BUCKET_NAME
    limiter = MemoryRateLimiter(1, 60)
    limiter.hit([long_a], now=0)
    assert limiter.hit([long_a], now=1) is not None  # the hashed name still limits
    assert limiter.hit([long_b], now=1) is None


def test_many_unique_long_ids_keep_the_limiter_small():
    limiter = MemoryRateLimiter(20, 60, max_buckets=2_000)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            # 4 kB ids; ids are built and dropped here, only what the limiter keeps stays
            assert limiter.hit([f"creator:{i:06d}" + "z" * 4096]) is None
            if i % 1000 == 0:
                assert len(limiter) <= 2_000
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert len(limiter) <= 2_000
    # 2,000 buckets of one hit and a 71-character name: a few hundred bytes each;
    # keeping the ids themselves would be 80 MB
    assert kept < 2_000 * 1024, kept


def test_settings_for_the_limiter_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIGC_REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("AIGC_REDIS_KEY_PREFIX", "site-a:")
    monkeypatch.setenv("AIGC_TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.1 ,2001:db8::/32")
    monkeypatch.setenv("AIGC_RATE_LIMIT_MAX_BUCKETS", "500")
    settings = Settings.from_env()
    assert settings.redis_url == "redis://127.0.0.1:6379/3"
    assert settings.redis_key_prefix == "site-a:"
    assert [str(n) for n in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "192.0.2.1/32",
        "2001:db8::/32",
    ]
    assert settings.rate_limit_max_buckets == 500


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIGC_REDIS_URL", "http://127.0.0.1:6379"),
        ("AIGC_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
        ("AIGC_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("AIGC_LABEL_CHECK_LIMIT", "0"),
        ("AIGC_LABEL_CHECK_WINDOW_S", "soon"),
        ("AIGC_RATE_LIMIT_MAX_BUCKETS", "-1"),
    ],
)
def test_a_bad_limiter_setting_is_an_error_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings.from_env()


def test_defaults_trust_no_proxy_and_share_nothing(monkeypatch):
    for name in ("AIGC_REDIS_URL", "AIGC_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.trusted_proxies == () and settings.redis_url is None


# --- through the app --------------------------------------------------------


def _check(client, **fields):
    return client.post("/v1/label-check", files={"file": ("a.png", small_png())}, data=fields)


def test_an_overlong_creator_id_is_refused_before_it_reaches_the_limiter(svc_make_client):
    client = svc_make_client(creator_page_open=True, label_check_limit=1000)
    limiter = client.app.state.label_check_limiter
    for _ in range(40):
        response = _check(client, creator_id=uuid.uuid4().hex + "x" * (1024 * 1024 - 64))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_context"
        assert "creator_id" in error["message"] and "256" in error["message"]
    assert len(limiter) == 0
    assert _check(client, creator_id="c" * 256).status_code == 200
    assert len(limiter) == 2  # the address and the creator


def test_unique_creator_ids_through_the_app_stay_under_the_bucket_cap(svc_make_client):
    client = svc_make_client(
        creator_page_open=True, label_check_limit=1000, rate_limit_max_buckets=10
    )
    for _ in range(25):
        assert _check(client, creator_id=uuid.uuid4().hex * 8).status_code == 200
    assert len(client.app.state.label_check_limiter) == 10
