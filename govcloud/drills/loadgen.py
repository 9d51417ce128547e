"""Steady write load through the hotline service, recording every attempt.

Run by the drill runner inside the lab's fabric namespace (so the traffic stays in the
lab) as ``python -m govcloud.drills.loadgen ...``; it writes one JSON line per attempt
(request id, send and answer wall-clock times, ok, sequence number, error) and flushes
each line, so the runner can read the timeline even if the client is killed.

The client finds the service the way a citizen's browser would: it resolves the
service's DNS name at the lab's DNS server (re-resolving every ``--ttl`` seconds, so a
repointed name takes effect) and tries the addresses it gets, last good one first.
Stdlib only: the fabric namespace runs the repo's virtualenv python.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import uuid


def resolve_a(name: str, server: str, timeout: float = 1.0) -> list[str]:
    """A records for ``name`` from one DNS server (a minimal RFC 1035 query)."""
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        data, _ = s.recvfrom(4096)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    if rid != qid or flags & 0x000F:
        return []
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    out = []
    for _ in range(an):
        pos = _skip_name(data, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[pos : pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(data[pos : pos + 4]))
        pos += rdlen
    return out


def _skip_name(data: bytes, pos: int) -> int:
    while True:
        n = data[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += n + 1


def resolve_any(name: str, servers: list[str], timeout: float = 0.5) -> list[str]:
    """A records from the first of ``servers`` that answers (a lost site's DNS is silent)."""
    for server in servers:
        try:
            addrs = resolve_a(name, server, timeout)
        except OSError:
            continue
        if addrs:
            return addrs
    return []


class Targets:
    """The service's current addresses: DNS-resolved (with a short TTL) or fixed."""

    def __init__(self, name: str | None, dns: list[str], fixed: list[str], ttl: float):
        self.name, self.dns, self.fixed, self.ttl = name, dns, fixed, ttl
        self._addrs: list[str] = list(fixed)
        self._at = 0.0
        self._good: str | None = None
        self._lock = threading.Lock()

    def ordered(self) -> list[str]:
        with self._lock:
            if self.name and self.dns and time.monotonic() - self._at > self.ttl:
                self._addrs = resolve_any(self.name, self.dns) or self._addrs
                self._at = time.monotonic()
            addrs = list(self._addrs)
            good = self._good
        if good in addrs:
            addrs.remove(good)
            addrs.insert(0, good)
        return addrs

    def worked(self, addr: str) -> None:
        with self._lock:
            self._good = addr


def post(addr: str, port: int, body: bytes, timeout: float) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        conn.request("POST", "/tickets", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def worker(
    n: int, args: argparse.Namespace, targets: Targets, out, lock, stop: threading.Event
) -> None:
    pad = "x" * args.payload
    i = 0
    while not stop.is_set():
        i += 1
        req = f"{args.run}-{n}-{i}"
        body = json.dumps({"req": req, "body": pad}).encode()
        sent = time.time()
        ok, seq, err, via = False, None, None, None
        for addr in targets.ordered():
            via = addr
            try:
                status, doc = post(addr, args.port, body, args.timeout)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                err = f"{addr}: {type(exc).__name__}: {exc}"[:160]
                continue
            if status == 201 and "seq" in doc:
                ok, seq, err = True, int(doc["seq"]), None
                targets.worked(addr)
                break
            err = f"{addr}: HTTP {status}: {doc.get('error', '')}"[:160]
            # the site answered but its database is not writable: try the next site
        done = time.time()
        rec = {"req": req, "sent": sent, "done": done, "ok": ok, "seq": seq, "err": err, "via": via}
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()
        pause = args.interval - (time.time() - sent)
        if pause > 0:
            stop.wait(pause)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", help="service DNS name")
    p.add_argument("--dns", action="append", default=[], help="DNS server (repeatable, in order)")
    p.add_argument("--resolve", metavar="NAME", help="print NAME's addresses and exit")
    p.add_argument("--target", action="append", default=[], help="fixed address (repeatable)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between a worker's writes")
    p.add_argument("--timeout", type=float, default=2.0, help="per-address request timeout")
    p.add_argument("--payload", type=int, default=2048, help="bytes of ticket text per write")
    p.add_argument("--ttl", type=float, default=1.0, help="seconds before re-resolving the name")
    p.add_argument("--run", default=uuid.uuid4().hex[:8], help="request id prefix")
    args = p.parse_args(argv)
    if args.resolve:
        addrs = resolve_any(args.resolve, args.dns)
        print(" ".join(addrs))
        return 0 if addrs else 1
    if not args.target and not (args.name and args.dns):
        p.error("give --name and --dns, or --target")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    targets = Targets(args.name, args.dns, args.target, args.ttl)
    lock = threading.Lock()
    out = sys.stdout if args.out == "-" else open(args.out, "a", encoding="utf-8")  # noqa: SIM115
    with out:
        threads = [
            threading.Thread(target=worker, args=(n, args, targets, out, lock, stop), daemon=True)
            for n in range(args.workers)
        ]
        for n, t in enumerate(threads):
            t.start()
            stop.wait(args.interval / max(1, args.workers) * (n + 1) - args.interval / args.workers)
        while not stop.is_set():
            stop.wait(0.5)
        for t in threads:
            t.join(timeout=args.timeout * 3 + 1)
    print(f"loadgen {os.getpid()}: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
