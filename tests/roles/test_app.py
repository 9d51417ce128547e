"""roles/app: the hotline service's failover behaviour, with psycopg2 faked in-process.

The lab drills measure the end result (RTO); these pin the two mechanisms the RTO rests
on, so a refactor cannot quietly undo them: the load balancer's check never waits on the
database, and one connection failure empties the pool instead of costing every later
request its own timeout.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from roles import app as app_role

HOTLINE = Path(app_role.__file__).parent / "files" / "hotline.py"


class FakeError(Exception):
    pgcode: str | None = None


class FakeOperationalError(FakeError):
    pass


class FakeInterfaceError(FakeError):
    pass


class FakeConn:
    """A connection whose next execute fails with ``fail`` (or succeeds)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.closed = 0

    def cursor(self) -> Any:
        conn = self

        class Cur:
            def __enter__(self) -> Any:
                return self

            def __exit__(self, *a: Any) -> None:
                return None

            def execute(self, *a: Any) -> None:
                if conn.fail:
                    raise conn.fail

            def fetchone(self) -> tuple[Any]:
                return (True,)

        return Cur()

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        self.closed = 1


@pytest.fixture
def hotline(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = types.ModuleType("psycopg2")
    fake.Error = FakeError  # type: ignore[attr-defined]
    fake.OperationalError = FakeOperationalError  # type: ignore[attr-defined]
    fake.InterfaceError = FakeInterfaceError  # type: ignore[attr-defined]
    fake.connect = lambda dsn: pytest.fail("unexpected new connection")  # type: ignore[attr-defined]
    errors = types.ModuleType("psycopg2.errors")
    fake.errors = errors  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "psycopg2", fake)
    monkeypatch.setitem(sys.modules, "psycopg2.errors", errors)
    spec = importlib.util.spec_from_file_location("hotline_under_test", HOTLINE)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod._schema_ready = True
    return mod


def test_connection_error_drains_the_pool(hotline: Any) -> None:
    stale = [FakeConn(), FakeConn(), FakeConn()]
    for c in stale:
        hotline._give(c)
    hotline._give(FakeConn(FakeOperationalError("server closed the connection")))
    with pytest.raises(FakeOperationalError):
        hotline.insert("r1", "body")
    assert hotline._pool.empty()
    assert all(c.closed for c in stale)


def test_read_only_error_drains_the_pool(hotline: Any) -> None:
    """A leader demoted under our feet answers 25006; its siblings in the pool are no better."""
    ro = FakeError("cannot execute INSERT in a read-only transaction")
    ro.pgcode = "25006"
    other = FakeConn()
    hotline._give(other)
    hotline._give(FakeConn(ro))
    with pytest.raises(FakeError):
        hotline.insert("r1", "body")
    assert hotline._pool.empty() and other.closed


def test_statement_error_keeps_the_pool(hotline: Any) -> None:
    """A data error says nothing about the other connections: they stay pooled."""
    bad = FakeError("duplicate key")
    bad.pgcode = "23505"
    good = FakeConn()
    hotline._give(good)
    hotline._give(FakeConn(bad))
    with pytest.raises(FakeError):
        hotline.insert("r1", "body")
    assert not good.closed
    assert hotline._pool.get_nowait() is good


def _get(hotline: Any, path: str) -> tuple[int, bytes]:
    handler = hotline.Handler.__new__(hotline.Handler)
    handler.path = path
    handler.request_version = "HTTP/1.1"
    handler.requestline = f"GET {path} HTTP/1.1"
    handler.command = "GET"
    handler.client_address = ("127.0.0.1", 0)
    handler.wfile = io.BytesIO()
    handler.do_GET()
    raw = handler.wfile.getvalue()
    return int(raw.split(b" ", 2)[1]), raw.split(b"\r\n\r\n", 1)[1]


def test_health_never_touches_the_database(hotline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hotline, "healthy", lambda: pytest.fail("/health asked the database"))
    code, body = _get(hotline, "/health")
    assert code == 200 and b'"site"' in body


def test_ready_reports_the_database(hotline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hotline, "healthy", lambda: False)
    assert _get(hotline, "/ready")[0] == 503
    monkeypatch.setattr(hotline, "healthy", lambda: True)
    assert _get(hotline, "/ready")[0] == 200
