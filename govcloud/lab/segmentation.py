"""Segmentation proven by packets: probe every zone pair through the site routers.

For a representative host of every zone (the first non-router host whose primary zone
it is), a listener opens every TCP port the flow matrix mentions; then each source
host connects to every port of every destination host in another zone (on its own
site and on the other sites), through the routers' firewalls. Before probing, every
listener is checked from the fabric (same zone, no firewall in the way), so a port
that does not connect is a port the firewall blocked, never a missing listener.

The observed matrix is compared with :func:`roles.firewall.allowed` — the model's
matrix as the router enforces it (ferry flows are the gatekeeper's, not the router's).
UDP ports are not probed (no reliable refusal signal); the test says so.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from govcloud.lab.engine import Lab, LabError
from govcloud.lab.topology import Host, Topology
from govcloud.model import Estate, Protocol, SiteName, Zone

LISTENER = r"""
import socket, sys, threading, time
ports = [int(p) for p in sys.argv[1].split(",")]
# bind the probed address, not the wildcard: a wildcard bind is refused next to a real
# service on a specific address and the same port (HAProxy on a keepalived VIP:8080)
addr = sys.argv[3]
def serve(s):
    while True:
        try:
            c, _ = s.accept(); c.close()
        except OSError:
            return
for p in ports:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, p)); s.listen(128)
    except OSError:
        continue  # a real service already listens there
    threading.Thread(target=serve, args=(s,), daemon=True).start()
time.sleep(float(sys.argv[2]))
"""

CONNECTOR = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
targets = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
def probe(t):
    ip, port = t
    s = socket.socket(); s.settimeout(timeout)
    try:
        s.connect((ip, port)); return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "timeout"
    finally:
        s.close()
with ThreadPoolExecutor(max_workers=64) as pool:
    print(json.dumps(list(pool.map(probe, [tuple(t) for t in targets]))))
"""

UNIT = "govcloud-probe-listener"


def probe_ports(estate: Estate) -> list[int]:
    """Every TCP port any zone-to-zone flow mentions (ferry flows included)."""
    return sorted({
        p.port for f in estate.zone_flows() for p in f.ports
        if p.protocol == Protocol.TCP and p.port
    })


def representatives(topo: Topology, site: SiteName | str) -> dict[Zone, Host]:
    out: dict[Zone, Host] = {}
    for h in topo.hosts_on(site):
        if not h.router and h.zone is not None and h.zone not in out:
            out[h.zone] = h
    return out


@dataclass(frozen=True)
class Pair:
    source: Host
    destination: Host

    @property
    def zones(self) -> tuple[Zone, Zone]:
        assert self.source.zone and self.destination.zone
        return (self.source.zone, self.destination.zone)

    def label(self) -> str:
        return f"{self.source.name}({self.source.zone}) -> {self.destination.name}" \
               f"({self.destination.zone})"


def pairs(topo: Topology, from_site: SiteName | str) -> list[Pair]:
    """Every (source zone on ``from_site``, destination zone on any site) that crosses a
    router: different zones, or the same zone on another site."""
    src = representatives(topo, from_site)
    out = []
    for site in topo.profile.sites:
        for dz, dst in representatives(topo, site).items():
            for sz, s in src.items():
                if sz == dz and site == SiteName(from_site):
                    continue
                out.append(Pair(s, dst))
    return out


def expected(estate: Estate, todo: list[Pair], topo: Topology | None = None
             ) -> dict[Pair, set[int]]:
    """TCP ports each pair should find open: the routers' rules, narrowed (with ``topo``)
    to the inline proxy's hosts for flows that must pass one (roles.firewall)."""
    from roles.firewall import matrix_rules

    rules = matrix_rules(estate, topo)
    ports = set(probe_ports(estate))
    out: dict[Pair, set[int]] = {}
    for p in todo:
        src, dst = (str(z) for z in p.zones)
        dst_ips = {leg.ip for leg in p.destination.legs}
        out[p] = {port for r in rules if r.protocol == "tcp" and (r.source, r.destination)
                  == (src, dst) and (r.destination_addresses is None
                                     or dst_ips & set(r.destination_addresses))
                  for port in r.ports} & ports
    return out


def observe(lab: Lab, todo: list[Pair], ports: list[int],
            timeout: float = 2.0) -> dict[Pair, dict[int, str]]:
    """Start listeners, verify them from the fabric, probe, stop the listeners."""
    dests = {p.destination.name: p.destination for p in todo}
    portlist = ",".join(map(str, ports))
    unit = f"{UNIT}-{int(time.time())}"
    for name, dest in dests.items():
        lab.exec_on(name, f"systemctl stop '{UNIT}-*' 2>/dev/null; cat > /run/{UNIT}.py",
                    input=LISTENER, check=True)
        lab.exec_on(name, f"systemd-run --quiet --collect --unit={unit} "
                          f"/usr/bin/python3 /run/{UNIT}.py {portlist} 600 {dest.address}",
                    check=True)
    try:
        # every listener must answer from the fabric (on-link, no firewall in the path)
        targets = [f"{h.address}:{port}" for h in dests.values() for port in ports]
        for _ in range(20):
            res = lab.fabric_exec([sys.executable, "-m", "govcloud.lab.probe", "check",
                                   *targets], check=False)
            missing = sorted(set(targets) - set(res.stdout.split()))
            if not missing:
                break
            time.sleep(0.5)
        if missing:
            raise LabError(f"listeners not reachable from the fabric: {missing}")

        by_source: dict[str, list[Pair]] = {}
        for p in todo:
            by_source.setdefault(p.source.name, []).append(p)

        def run(source: str) -> dict[Pair, dict[int, str]]:
            plist = by_source[source]
            tlist = [(p.destination.address, port) for p in plist for port in ports]
            res = lab.exec_on(source, ["/usr/bin/python3", "-c", CONNECTOR, json.dumps(tlist),
                                       str(timeout)], check=True, timeout=120)
            results = json.loads(res.stdout)
            out: dict[Pair, dict[int, str]] = {}
            i = 0
            for p in plist:
                out[p] = {}
                for port in ports:
                    out[p][port] = results[i]
                    i += 1
            return out

        observed: dict[Pair, dict[int, str]] = {}
        with ThreadPoolExecutor(max_workers=4) as pool:
            for part in pool.map(run, list(by_source)):
                observed.update(part)
        return observed
    finally:
        for name in dests:
            lab.exec_on(name, f"systemctl stop {unit} 2>/dev/null; rm -f /run/{UNIT}.py")


def render(observed: dict[Pair, dict[int, str]], want: dict[Pair, set[int]]) -> str:
    """The matrix as a reviewer reads it: open ports per pair, and any disagreement."""
    lines = [f"{'source':<34} {'destination':<36} open TCP ports (model)"]
    for p in sorted(observed, key=lambda q: (q.source.name, q.destination.name)):
        got = sorted(port for port, r in observed[p].items() if r == "open")
        exp = sorted(want[p])
        mark = "" if got == exp else f"   <-- MODEL SAYS {exp}"
        lines.append(f"{p.source.name + ' (' + str(p.source.zone) + ')':<34} "
                     f"{p.destination.name + ' (' + str(p.destination.zone) + ')':<36} "
                     f"{','.join(map(str, got)) or '-'}{mark}")
    return "\n".join(lines)
