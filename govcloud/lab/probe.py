"""Tiny TCP probes run inside the fabric namespace (``python -m govcloud.lab.probe``).

``wait HOST:PORT...`` blocks until every target answers with an SSH banner (or any
data) or the timeout passes; ``check HOST:PORT...`` prints the targets that accept a
connection now. Standard library only: it runs under ``ip netns exec``.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def _answers(target: str, timeout: float = 1.0, banner: bool = False) -> bool:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            if banner:
                s.settimeout(timeout)
                return bool(s.recv(64))
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="govcloud.lab.probe")
    p.add_argument("mode", choices=["wait", "check"])
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("targets", nargs="+")
    args = p.parse_args(argv)
    pending = list(args.targets)
    with ThreadPoolExecutor(max_workers=16) as pool:
        if args.mode == "check":
            ok = pool.map(lambda t: _answers(t, 1.0), pending)
            print("\n".join(t for t, good in zip(pending, ok, strict=True) if good))
            return 0
        deadline = time.monotonic() + args.timeout
        while pending and time.monotonic() < deadline:
            ok = list(pool.map(lambda t: _answers(t, 1.0, banner=True), pending))
            pending = [t for t, good in zip(pending, ok, strict=True) if not good]
            if pending:
                time.sleep(0.3)
    if pending:
        print("no answer from " + " ".join(pending))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
