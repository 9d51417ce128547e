"""Repoint a lab service name (``hotline.<domain>``) at another site's VIP — for drills.

The ``dns`` role renders service records into their own file on every DNS host; this
rewrites that one line on all of them and makes dnsmasq re-read it (SIGHUP, no
restart, ``local-ttl`` 5 s). A later ``govcloud lab deploy`` puts every name back on
its primary site, as the model says.
"""

from __future__ import annotations

from govcloud.lab.engine import Lab, LabError
from govcloud.model import SiteName

SERVICES_FILE = "/etc/govcloud/dns/services.hosts"


def repoint(lab: Lab, service: str, site: SiteName | str) -> str:
    """Point ``service`` at its VIP on ``site`` on every lab DNS server; return the address."""
    topo = lab.topology
    try:
        svc = topo.service(service)
    except StopIteration:
        raise LabError(f"no service {service!r} in lab.yaml") from None
    site = SiteName(site)
    if site not in svc.vips:
        raise LabError(f"service {service} has no VIP on {site} (sites: {sorted(svc.vips)})")
    addr = svc.vips[site]
    servers = topo.with_role("dns")
    if not servers:
        raise LabError("no host runs the dns role")
    line = f"{addr} {svc.fqdn} {svc.name}"
    script = (
        f"set -e; f={SERVICES_FILE}; test -f $f; "
        f"grep -v ' {svc.fqdn} ' $f > $f.new || true; echo '{line}' >> $f.new; "
        f"sort -k2 $f.new -o $f.new; mv $f.new $f; systemctl kill --kill-who=main -s HUP dnsmasq"
    )
    for h in servers:
        lab.exec_on(h.name, script, check=True)
    return addr


def resolve(lab: Lab, host: str, name: str) -> str | None:
    """What ``name`` resolves to on ``host`` (through the host's own resolver)."""
    res = lab.exec_on(host, ["getent", "ahostsv4", name])
    words = res.stdout.split()
    return words[0] if res.returncode == 0 and words else None
