"""Figures for the security appliances on a running lab (``GOVCLOUD_LAB_NAME``).

Prints, for region-a-dc1: WAF status codes (normal / SQL injection / XSS), the inline
IPS's latency (clean requests and refused attacks from the dedicated zone, beside the same
request sent to the load balancer without the IPS), seconds from
the first failed SSH login to the fail2ban ban, seconds for a file to cross the
gatekeeper, seconds for a log line to reach the log-audit host, and seconds for the
hotline VIP to move when the master's keepalived stops (and to come back).

Usage (root, lab up): ``.venv/bin/python bench/appliances.py``. Every probe starts on a
lab host or in the lab's fabric namespace and targets lab addresses only.
"""

from __future__ import annotations

import shlex
import sys
import time
import uuid
from collections.abc import Callable

# N requests to one URL, one connection each: prints the statuses seen and the median ms
TIMED = ("import statistics, sys, time, urllib.request, urllib.error\n"
         "url, n, codes, ms = sys.argv[1], int(sys.argv[2]), set(), []\n"
         "for _ in range(n):\n"
         "    t0 = time.monotonic()\n"
         "    try:\n"
         "        codes.add(urllib.request.urlopen(url, timeout=5).status)\n"
         "    except urllib.error.HTTPError as e:\n"
         "        codes.add(e.code)\n"
         "    ms.append((time.monotonic() - t0) * 1000)\n"
         "print(','.join(map(str, sorted(codes))), round(statistics.median(ms), 2))\n")
HTTP = ("import sys, urllib.request, urllib.error\ntry:\n"
        "    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)\n"
        "except urllib.error.HTTPError as e:\n    print(e.code)\n"
        "except Exception as e:\n    print('ERR', type(e).__name__)\n")


def wait_for(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def main() -> int:
    from govcloud.lab import Lab

    lab = Lab()
    if not lab.is_up():
        print(f"lab {lab.name} is not up (govcloud lab up)", file=sys.stderr)
        return 2
    topo = lab.topology
    site = "region-a-dc1"

    def sh(host: str, cmd: str) -> str:
        return lab.exec_on(host, cmd, timeout=120).stdout.strip()

    def http(host: str, url: str) -> str:
        return sh(host, f"python3 -c {shlex.quote(HTTP)} {shlex.quote(url)}")

    probe = topo.host("dc1-probe")
    waf = topo.with_role("waf", site)[0]
    base = f"http://{waf.address}/"
    print(f"waf {waf.name}: normal {http(probe.name, base + '?id=42')}, "
          f"sqli {http(probe.name, base + '?id=1%27%20OR%20%271%27=%271')}, "
          f"xss {http(probe.name, base + '?q=%3Cscript%3Ealert(1)%3C/script%3E')}")

    sh(waf.name, f"fail2ban-client unban {probe.address} >/dev/null 2>&1")
    t0 = time.monotonic()
    attempts = 0
    for i in range(12):
        attempts += 1
        sh(probe.name, f"ssh -o BatchMode=yes -o ConnectTimeout=3 -o StrictHostKeyChecking=no "
                       f"-o UserKnownHostsFile=/dev/null intruder{i}@{waf.address} true")
        if probe.address in sh(waf.name, "fail2ban-client status sshd"):
            break
    banned = time.monotonic() - t0
    print(f"ids {waf.name}: brute force from {probe.name} banned after {attempts} attempts, "
          f"{banned:.1f}s; http from attacker while banned: {http(probe.name, base)}")
    sh(waf.name, f"fail2ban-client unban {probe.address}")

    ips = topo.with_role("ips", site)[0]
    client = next(h for h in topo.hosts_on(site) if str(h.zone) == "dedicated")
    vip = topo.service("hotline").vips[site]
    n = 50

    def timed(host: str, url: str) -> tuple[str, float]:
        codes, median = sh(host, f"python3 -c {shlex.quote(TIMED)} {shlex.quote(url)} {n}"
                           ).split()
        return codes, float(median)

    clean = timed(client.name, f"http://{ips.address}:8080/health")
    blocked = timed(client.name, f"http://{ips.address}:8080/tickets/x?id=1%27%20OR%20"
                                 "%271%27=%271")
    direct = timed(ips.name, f"http://{vip}:8080/health")  # the peer: no IPS in the path
    print(f"ips {ips.name} (n={n} each, median): clean {clean[1]} ms [{clean[0]}], attack "
          f"refused in {blocked[1]} ms [{blocked[0]}]; the load balancer without the IPS "
          f"{direct[1]} ms [{direct[0]}]; IPS path / direct = {clean[1] / direct[1]:.2f}")

    gk = topo.with_role("gatekeeper", site)[0]
    app = topo.with_role("app", site)[0]
    for h in (probe.name, app.name):
        sh(h, "dpkg -s rsync >/dev/null 2>&1 || apt-get install -y -qq --no-download rsync")
    name = f"bench-{uuid.uuid4().hex[:8]}.json"
    sh(probe.name, f"echo '{{\"bench\": 1}}' > /tmp/{name} && rsync /tmp/{name} "
                   f"rsync://{gk.leg('internet').ip}/to-extranet/")
    t0 = time.monotonic()
    crossed = wait_for(lambda: lab.exec_on(app.name, f"rsync -q rsync://{gk.leg('extranet').ip}"
                                           f"/from-internet/{name} /tmp/").returncode == 0, 90)
    print(f"gatekeeper {gk.name}: file crossed internet -> extranet in "
          f"{crossed if crossed is None else round(crossed, 1)}s")

    log = topo.with_role("log_audit", site)[0]
    marker = f"bench-{uuid.uuid4().hex[:10]}"
    sh(app.name, f"logger -t govcloud-bench {marker}")
    took = wait_for(lambda: lab.exec_on(log.name, f"grep -rlq {marker} /var/log/remote/"
                                        f"{app.name}/").returncode == 0, 30)
    print(f"log audit: {app.name} -> {log.name} in {took if took is None else round(took, 2)}s")

    master, backup = topo.with_role("loadbalancer", site)[:2]

    def holds(h: str) -> bool:
        return f" {vip}/" in sh(h, "ip -4 -o addr show")

    sh(master.name, "systemctl stop keepalived")
    moved = wait_for(lambda: holds(backup.name), 30)
    sh(master.name, "systemctl start keepalived")
    back = wait_for(lambda: holds(master.name) and not holds(backup.name), 30)
    print(f"loadbalancer: VIP {vip} {master.name} -> {backup.name} in "
          f"{moved if moved is None else round(moved, 2)}s after keepalived stop; back in "
          f"{back if back is None else round(back, 2)}s after start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
