"""loadbalancer — HAProxy behind a keepalived VRRP virtual IP, one VIP pair per site.

Stands in for the load balancer (负载均衡) at the end of the ingress chains
(``... -> load-balancer``) and for the in-site HA of a service: two LB hosts per site
share the service VIP; the higher-priority one holds it, and when its keepalived stops
(or its HAProxy dies: ``track_haproxy``) the peer takes the VIP within a few VRRP
adverts. GB/T 22239-2019 8.1.2.x / 8.1.4.x (availability: 冗余, 高可用).

Concerns (flags, secure default = on):

- ``vrrp``: keepalived with *unicast* VRRP between the site's two LB hosts only (no
  multicast adverts into the zone), the VIP on the host's leg in the service zone;
- ``track_haproxy``: the VRRP priority drops when HAProxy is not running;
- ``bind_transparent``: HAProxy on the backup binds the VIP before it owns it
  (``transparent`` bind, no sysctl needed), so failover needs no HAProxy restart;
- ``health_checks``: HTTP health checks of every backend; a failing backend is taken out.

VIP, port and backends are derived: the VIP is the lab service's address on this site
(topology, from the zone CIDR), the port and backends are the system's component in the
service zone (estate model) on the site's ``app`` hosts.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, ComponentKind, Estate
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.LOAD_BALANCER
PACKAGES = ("haproxy", "keepalived")
SERVICES = ("haproxy", "keepalived")
BACKEND_ROLE = "app"


class Frontend(BaseModel):
    """One balanced service: clients connect to ``vip:port``; HAProxy spreads over backends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    vip: str
    prefixlen: int = Field(ge=1, le=32)
    port: int = Field(ge=1, le=65535)
    backends: list[str] = Field(description="host:port")
    vrid: int = Field(ge=1, le=255, description="VRRP virtual router id (unique per segment)")
    health_path: str | None = "/health"

    @field_validator("vip")
    @classmethod
    def _ip(cls, v: str) -> str:
        ipaddress.IPv4Address(v)
        return v


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hostname: str
    interface: str = Field(description="the host's interface in the service zone")
    address: str = Field(description="this host's address on that interface (VRRP source)")
    peers: list[str] = Field(default=[], description="the other LB hosts of the site")
    priority: int = Field(default=100, ge=1, le=254)
    frontends: list[Frontend] = []
    vrrp: bool = True
    track_haproxy: bool = True
    bind_transparent: bool = True
    health_checks: bool = True
    advert_int: int = Field(default=1, ge=1, le=10)
    maxconn: int = Field(default=4096, ge=64)
    timeout_connect_ms: int = Field(default=3000, ge=100)
    timeout_client_ms: int = Field(default=30000, ge=1000)
    timeout_server_ms: int = Field(default=30000, ge=1000)


def service_component(estate: Estate, service: str, zone: str) -> tuple[str, int]:
    """(system, port) behind a lab service: the system named ``service`` or
    ``service-*``, its api/web component in ``zone``."""
    for _dept, sys_ in estate.systems():
        if sys_.name != service and not sys_.name.startswith(service + "-"):
            continue
        for comp in sys_.components:
            if str(comp.zone) == str(zone) and comp.kind in (ComponentKind.API,
                                                               ComponentKind.WEB):
                return sys_.name, comp.port
    raise LookupError(f"lab service {service!r}: no system with an api/web component in {zone}")


def data_for(estate: Estate, host: Any) -> Data:
    """The site's LB pair, its service VIPs (topology) and backends (model + topology)."""
    topo = host.topology
    pair = [h for h in topo.with_role("loadbalancer", host.site) if h.zone == host.zone]
    rank = [h.name for h in pair].index(host.name)
    leg = host.leg(host.zone)
    site_index = [s.name for s in estate.sites].index(host.site)
    frontends = []
    for i, svc in enumerate(topo.services):
        if svc.zone != host.zone or host.site not in svc.vips:
            continue
        _system, port = service_component(estate, svc.name, str(svc.zone))
        backends = [f"{h.address}:{port}" for h in topo.with_role(BACKEND_ROLE, host.site)]
        frontends.append(Frontend(
            name=svc.name, vip=svc.vips[host.site], prefixlen=leg.address.network.prefixlen,
            port=port, backends=backends, vrid=50 + 10 * site_index + i,
        ))
    return Data(
        hostname=host.name,
        interface=leg.ifname,
        address=leg.ip,
        peers=[h.leg(host.zone).ip for h in pair if h.name != host.name],
        priority=max(1, 150 - 50 * rank),
        frontends=frontends,
    )


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data)


@deploy("loadbalancer")
def apply(data: Data | None = None) -> None:
    """HAProxy config (validated with ``haproxy -c``), keepalived VRRP, both running."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("loadbalancer"))
    apt.packages(name="haproxy + keepalived", packages=list(PACKAGES), update=False,
                 no_recommends=True)
    files.directory(name="/etc/govcloud", path="/etc/govcloud", mode="755")
    staged = files.put(name="stage haproxy.cfg", src=StringIO(render("haproxy.cfg.j2", d)),
                       dest="/etc/govcloud/haproxy.cfg", mode="640")
    server.shell(name="haproxy -c, install, reload",
                 commands=["haproxy -c -q -f /etc/govcloud/haproxy.cfg",
                           "install -m 0640 /etc/govcloud/haproxy.cfg /etc/haproxy/haproxy.cfg",
                           "systemctl reload-or-restart haproxy"],
                 _if=staged.did_change)
    systemd.service(name="haproxy running", service="haproxy", running=True, enabled=True)
    if d.vrrp and d.frontends:
        ka = files.put(name="keepalived: unicast VRRP for the service VIPs",
                            src=StringIO(render("keepalived.conf.j2", d)),
                            dest="/etc/keepalived/keepalived.conf", mode="640")
        systemd.service(name="keepalived restart", service="keepalived", running=True,
                        restarted=True, _if=ka.did_change)
        systemd.service(name="keepalived running", service="keepalived", running=True,
                        enabled=True)
