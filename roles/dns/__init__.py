"""dns — the lab/site name service (dnsmasq), records generated from the topology.

Serves ``<host>.<domain>`` for every host and ``<service>.<domain>`` for every service
name of the lab profile (pointing at the service's VIP on its primary site). It has no
upstream (``no-resolv``): nothing leaves the lab. Service records live in their own
file (``/etc/govcloud/dns/services.hosts``) so the drill runner can repoint a name
(:func:`govcloud.lab.dns.repoint`) without touching host records; a deploy puts the
names back where the model says.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from pyinfra.api import deploy

from govcloud.model import Estate

PACKAGES = ("dnsmasq",)
SERVICES = ("dnsmasq",)
TEMPLATES = Path(__file__).parent / "templates"
HOSTS_FILE = "/etc/govcloud/dns/hosts"
SERVICES_FILE = "/etc/govcloud/dns/services.hosts"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str
    listen: list[str]
    hosts: dict[str, str]  # name -> address
    services: dict[str, str]  # service name -> address it points at
    log_queries: bool = True


def data_for(estate: Estate, host: Any) -> Data:
    topo = host.topology
    return Data(
        domain=topo.domain,
        listen=[leg.ip for leg in host.legs],
        hosts={h.name: h.address for h in topo.hosts},
        services={s.name: s.vips[s.primary] for s in topo.services},
    )


def hosts_text(records: dict[str, str], domain: str) -> str:
    """An addn-hosts file: ``address fqdn short`` per record, sorted for stable output."""
    lines = [f"{addr} {name}.{domain} {name}" for name, addr in sorted(records.items())]
    return "".join(line + "\n" for line in lines)


@deploy("dns")
def apply(data: Data | None = None) -> None:
    from pyinfra import host
    from pyinfra.operations import apt, files, systemd

    d = data or Data.model_validate(host.data.get("dns"))
    apt.packages(name="dnsmasq", packages=list(PACKAGES), update=False, no_recommends=True)
    files.directory(name="records dir", path="/etc/govcloud/dns", mode="755")
    recs = files.put(name="host records (from the topology)",
                     src=StringIO(hosts_text(d.hosts, d.domain)), dest=HOSTS_FILE, mode="644")
    svcs = files.put(name="service records (primary sites)",
                     src=StringIO(hosts_text(d.services, d.domain)), dest=SERVICES_FILE,
                     mode="644")
    conf = files.template(name="dnsmasq: lab zone, no upstream",
                          src=str(TEMPLATES / "govcloud.conf.j2"),
                          dest="/etc/dnsmasq.d/govcloud.conf", mode="644", d=d,
                          hosts_file=HOSTS_FILE, services_file=SERVICES_FILE)
    systemd.service(name="dnsmasq restart on change", service="dnsmasq", running=True,
                    restarted=True,
                    _if=lambda: conf.did_change() or recs.did_change() or svcs.did_change())
    systemd.service(name="dnsmasq running", service="dnsmasq", running=True, enabled=True)
