"""`patroni-check dcs-clear` asks every etcd member's own store, and fails on any doubt.

The failback runbook forgets region A's cluster only after this check: a member that
still serves the fenced leader's key makes `patronictl remove` refuse (seen in CI). The
members here are small HTTP servers on loopback answering the etcd v2 keys API the way
etcd 3.4 does (200 with the node, or 404 errorCode 100), so the script runs unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "patroni" / "files" / "patroni-check"
KEY = "/v2/keys/service/hotline-12345/leader"


class _Member(BaseHTTPRequestHandler):
    leader: str | None = None
    broken: int = 0
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.broken:
            body, code = {"message": "etcdserver: no leader"}, self.broken
        elif self.path == KEY and self.leader is not None:
            body = {"action": "get", "node": {"key": KEY[9:], "value": self.leader}}
            code = 200
        else:
            body = {"errorCode": 100, "message": "Key not found", "cause": KEY[9:]}
            code = 404
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def members() -> Iterator[list[type[_Member]]]:
    servers, handlers = [], []
    for _ in range(3):
        handler = type("Member", (_Member,), {"leader": None, "seen": []})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        handlers.append(handler)
    for h, srv in zip(handlers, servers, strict=True):
        h.port = srv.server_address[1]
    yield handlers
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _run(tmp_path: Path, hosts: list[str]) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "15-main.yml"
    cfg.write_text(yaml.safe_dump(
        {"scope": "hotline-12345", "namespace": "/service/", "etcd": {"hosts": ",".join(hosts)}}))
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--config", str(cfg), "dcs-clear"],
        capture_output=True, text=True, timeout=30, check=False)


def _hosts(members: list[type[_Member]]) -> list[str]:
    return [f"127.0.0.1:{m.port}" for m in members]


def test_clear_when_every_member_answers_not_found(members, tmp_path) -> None:
    res = _run(tmp_path, _hosts(members))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("no leader") == 3
    assert all(m.seen == [KEY] for m in members), "each member is asked once, for the key"


def test_one_member_still_serving_the_key_is_not_clear(members, tmp_path) -> None:
    members[2].leader = "dc1-pg"
    res = _run(tmp_path, _hosts(members))
    assert res.returncode == 1
    assert f"127.0.0.1:{members[2].port}: leader dc1-pg" in res.stdout


def test_an_unreachable_member_is_not_clear(members, tmp_path) -> None:
    hosts = _hosts(members)
    # a port nothing listens on: take one from a server and close it
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Member)
    dead = f"127.0.0.1:{srv.server_address[1]}"
    srv.server_close()
    res = _run(tmp_path, [*hosts, dead])
    assert res.returncode == 1
    assert f"{dead}: unreachable" in res.stdout


def test_other_http_errors_are_not_clear(members, tmp_path) -> None:
    members[1].broken = 503
    res = _run(tmp_path, _hosts(members))
    assert res.returncode == 1
    assert f"127.0.0.1:{members[1].port}: HTTP 503" in res.stdout
