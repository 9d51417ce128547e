#!/usr/bin/python3
"""12345 hotline ticket service (政务服务便民热线) — the sample migrated system.

A deliberately small HTTP service (stdlib http.server + psycopg2) that the DR drills
write through:

  POST /tickets  {"req": "<client request id>", "body": "..."}
      -> 201 {"seq": <n>, "req": ..., "site": ...}   only after COMMIT has returned
  GET  /health   -> 200 while the process serves HTTP, without touching the database:
                    the load balancer's check. A check that waited on a lost leader would
                    outlast HAProxy's check timeout, take the backend out of the pool, and
                    cost two `rise` intervals after the promotion (measured: ~6 s of RTO)
  GET  /ready    -> 200 when the database accepts writes through this instance, else 503
  GET  /tickets/<req> -> 200 {"seq": n} / 404

Why it is written this way:
* The database is reached with a libpq multi-host string ordered local-site first and
  ``target_session_attrs=read-write``, so after a Patroni failover the next connection
  finds the new leader without any proxy.
* No ``statement_timeout``: under synchronous replication a cancelled commit wait would
  report a commit that exists only on the old leader (LAB-NOTES). Dead peers are
  detected by TCP keepalives and ``tcp_user_timeout`` instead, which fail the request.
* A connection-level error drains the whole pool: after a failover every idle
  connection points at the lost or demoted leader, and each would cost a request its
  tcp_user_timeout before failing.
* The client's request id is stored with a UNIQUE constraint, so a retried request
  returns the original sequence number instead of writing twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import psycopg2.errors

DSN = os.environ.get("HOTLINE_DSN", "dbname=hotline user=hotline host=127.0.0.1")
SITE = os.environ.get("HOTLINE_SITE", socket.gethostname())
LISTEN = os.environ.get("HOTLINE_LISTEN", "0.0.0.0")
PORT = int(os.environ.get("HOTLINE_PORT", "8080"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    seq      bigserial PRIMARY KEY,
    req      text NOT NULL UNIQUE,
    site     text NOT NULL,
    body     text NOT NULL,
    created  timestamptz NOT NULL DEFAULT now()
)
"""

_pool: queue.LifoQueue = queue.LifoQueue()


_schema_ready = False


def _take():
    """A pooled connection (new connections find the current leader via the DSN)."""
    global _schema_ready
    try:
        conn = _pool.get_nowait()
        if not conn.closed:
            return conn
    except queue.Empty:
        pass
    conn = psycopg2.connect(DSN)
    if not _schema_ready:
        try:
            with conn.cursor() as cur:
                cur.execute(SCHEMA)
            conn.commit()
        except psycopg2.Error:
            conn.rollback()  # read-only standby, or a concurrent creator: retried later
        else:
            _schema_ready = True
    return conn


def _give(conn) -> None:
    _pool.put(conn)


def _drop(conn, exc: BaseException | None = None) -> None:
    with contextlib.suppress(Exception):
        conn.close()
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)) or (
        isinstance(exc, psycopg2.Error) and getattr(exc, "pgcode", None) == "25006"
    ):
        _drain()


def _drain() -> None:
    """Close every idle connection: they all lead to the same (lost) leader."""
    while True:
        try:
            conn = _pool.get_nowait()
        except queue.Empty:
            return
        with contextlib.suppress(Exception):
            conn.close()


def insert(req: str, body: str) -> int:
    """Insert one ticket and return its sequence number after COMMIT returned."""
    conn = _take()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO tickets (req, site, body) VALUES (%s, %s, %s) "
                "ON CONFLICT (req) DO NOTHING RETURNING seq",
                (req, SITE, body),
            )
            row = cur.fetchone()
            if row is None:
                cur.execute("SELECT seq FROM tickets WHERE req = %s", (req,))
                row = cur.fetchone()
        conn.commit()  # the answer is sent only after this returns
    except Exception as exc:
        _drop(conn, exc)
        raise
    _give(conn)
    return int(row[0])


def lookup(req: str) -> int | None:
    conn = _take()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT seq FROM tickets WHERE req = %s", (req,))
            row = cur.fetchone()
        conn.rollback()
    except Exception as exc:
        _drop(conn, exc)
        raise
    _give(conn)
    return int(row[0]) if row else None


def healthy() -> bool:
    try:
        conn = _take()
    except Exception:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT NOT pg_is_in_recovery()")
            ok = bool(cur.fetchone()[0])
        conn.rollback()
    except Exception as exc:
        _drop(conn, exc)
        return False
    _give(conn)
    return ok


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hotline-12345/1"

    def _send(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"site": SITE})
        elif self.path == "/ready":
            ok = healthy()
            self._send(200 if ok else 503, {"site": SITE, "writable": ok})
        elif self.path.startswith("/tickets/"):
            req = self.path.split("/", 2)[2]
            try:
                seq = lookup(req)
            except Exception as exc:
                self._send(503, {"error": str(exc).strip()[:200]})
                return
            self._send(200 if seq is not None else 404, {"req": req, "seq": seq})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/tickets":
            self._send(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            doc = json.loads(self.rfile.read(length) or b"{}")
            req = str(doc["req"])
            body = str(doc.get("body", ""))
        except (ValueError, KeyError) as exc:
            self._send(400, {"error": f"bad request: {exc}"})
            return
        try:
            seq = insert(req, body)
        except Exception as exc:
            self._send(503, {"error": str(exc).strip()[:200], "site": SITE})
            return
        self._send(201, {"seq": seq, "req": req, "site": SITE})

    def log_message(self, fmt: str, *args) -> None:
        """Quiet: the journal gets one line per error answer only."""
        if len(args) > 1 and str(args[1]).startswith(("5", "4")):
            sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def main() -> int:
    server = ThreadingHTTPServer((LISTEN, PORT), Handler)
    server.daemon_threads = True
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
