"""The server's guard settings: read from the environment, refused by name when bad, and
handed to uvicorn with the guarded protocol pinned."""

from __future__ import annotations

import resource

import pytest

from service.server.protocol import GuardedH11Protocol
from service.server.run import (
    FD_RESERVE,
    build_config,
    effective_cap,
    raise_fd_limit,
)
from service.settings import Settings


def test_guard_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIGC_HEADER_TIMEOUT_S", "2.5")
    monkeypatch.setenv("AIGC_BODY_TIMEOUT_S", "7")
    monkeypatch.setenv("AIGC_BODY_TOTAL_TIMEOUT_S", "90")
    monkeypatch.setenv("AIGC_MAX_CONNECTIONS", "300")
    monkeypatch.setenv("AIGC_LOG_REPEAT_LIMIT", "3")
    monkeypatch.setenv("AIGC_LOG_REPEAT_WINDOW_S", "30")
    s = Settings.from_env()
    assert (s.header_timeout_s, s.body_timeout_s, s.body_total_timeout_s) == (2.5, 7.0, 90.0)
    assert (s.max_connections, s.log_repeat_limit, s.log_repeat_window_s) == (300, 3, 30.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIGC_HEADER_TIMEOUT_S", "soon"),
        ("AIGC_HEADER_TIMEOUT_S", "0"),
        ("AIGC_BODY_TIMEOUT_S", "-3"),
        ("AIGC_BODY_TOTAL_TIMEOUT_S", "inf"),
        ("AIGC_MAX_CONNECTIONS", "0"),
        ("AIGC_MAX_CONNECTIONS", "many"),
        ("AIGC_LOG_REPEAT_WINDOW_S", "nan"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings.from_env()


def test_serve_refuses_a_bad_value_before_starting(monkeypatch):
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["serve", "--port", "1"], env={"AIGC_MAX_CONNECTIONS": "-5"})
    assert result.exit_code == 2
    assert "AIGC_MAX_CONNECTIONS" in result.stderr


def test_the_config_pins_the_guarded_protocol_and_raises_the_fd_limit(monkeypatch):
    import uvicorn

    # uvicorn applies its logging config when a Config is made; not in the test process
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda self: None)
    settings = Settings(header_timeout_s=3, body_timeout_s=4, max_connections=50)
    config = build_config(settings, host="127.0.0.1", port=0, workers=2)
    assert config.http is GuardedH11Protocol
    assert config.workers == 2
    assert config.guard.header_timeout_s == 3 and config.guard.body_timeout_s == 4
    assert config.guard.max_connections == 50
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY
    assert raise_fd_limit() == soft
    handlers = config.log_config["handlers"]
    assert handlers["default"]["()"].endswith("RateLimitedStreamHandler")


def test_the_cap_yields_to_a_low_fd_limit():
    assert effective_cap(1000, 20000) == 1000
    assert effective_cap(1000, 512) == 512 - FD_RESERVE
    assert effective_cap(1000, 10) == 1
