"""anti_ddos — nftables in front of the WAF: synproxy, per-source meters, an offenders set.

Stands in for the anti-DDoS appliance (抗DDoS) of ``estate/appliances.yaml`` on the
public-web ingress: it runs on the WAF hosts, on their leg in the flow's destination zone,
for the ports of every flow whose chain names ``anti-ddos`` (public-web-ingress), with the
thresholds of ``appliances.yaml`` ``anti_ddos`` (nothing typed here):

- ``synproxy``: SYNs are not tracked and are answered by the kernel with SYN cookies; a
  connection reaches the WAF only after the client completes the handshake, so a SYN
  flood (spoofed or not) fills no queue and no conntrack table;
- ``connection_rate``: validated new connections per source over
  ``new_connections_per_second`` (burst ``new_connections_burst``) make it an offender;
- ``connection_limit``: more than ``concurrent_connections`` open at once are refused;
- ``packet_rate``: a source sending the protected ports over ``packets_per_second``
  becomes an offender;
- ``offenders``: a set with a timeout (``offender_seconds``); an offender's packets to
  the protected ports are dropped until the timeout runs out (listing does not refresh
  it). No source is exempt: administration reaches the host on other ports, which stay
  the firewall's business.

Every drop is counted in a named counter (``nft list counters table inet
govcloud_antiddos``), so an operator reads what was stopped and why. Synproxy needs
``nf_conntrack_tcp_loose=0`` (else a bare ACK would open a connection around it):
:func:`kernel_settings` gives it, and the lab sets it from outside, as for every
per-namespace sysctl a container cannot write.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate, Protocol
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.ANTI_DDOS
PACKAGES = ("nftables",)
RULESET = "/etc/govcloud/anti-ddos.nft"
UNIT = "govcloud-antiddos-nft.service"
TABLE = "govcloud_antiddos"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ifname: str = Field(description="the leg the protected flows arrive on")
    ports: list[int] = Field(min_length=1)
    new_connections_per_second: int = Field(ge=1)
    new_connections_burst: int = Field(ge=1)
    concurrent_connections: int = Field(ge=1)
    packets_per_second: int = Field(ge=1)
    packets_burst: int = Field(ge=1)
    offender_seconds: int = Field(ge=1)
    synproxy: bool = True
    connection_rate: bool = True
    connection_limit: bool = True
    packet_rate: bool = True
    offenders: bool = True


def protected_ports(estate: Estate) -> tuple[Any, list[int]]:
    """(destination zone, TCP ports) of the flows whose chain names ``anti-ddos``."""
    flows = [f for f in estate.flows if ApplianceKind.ANTI_DDOS in f.chain]
    if not flows:
        raise LookupError("no flow in estate/flows.yaml names anti-ddos in its chain")
    zones = {f.destination for f in flows}
    if len(zones) != 1:
        raise ValueError(f"anti-ddos flows end in several zones ({sorted(map(str, zones))})")
    ports = sorted({p.port for f in flows for p in f.ports
                    if p.protocol == Protocol.TCP and p.port})
    return zones.pop(), ports


def data_for(estate: Estate, host: Any) -> Data:
    zone, ports = protected_ports(estate)
    leg = next((leg for leg in host.legs if leg.zone == zone), None)
    if leg is None:
        raise ValueError(f"{host.name} has no leg in zone {zone}, where the anti-ddos flows "
                         "arrive")
    return Data(ifname=leg.ifname, ports=ports, **estate.anti_ddos.model_dump())


def kernel_settings() -> dict[str, str]:
    """Per-namespace sysctls synproxy needs (the lab sets them from outside)."""
    return {"net.netfilter.nf_conntrack_tcp_loose": "0"}


def render(name: str, data: Data) -> str:
    """A rendered template of this role (unit tests use the same function)."""
    return _render(__file__, name, d=data, table=TABLE)


@deploy("anti_ddos")
def apply(data: Data | None = None) -> None:
    """Stage the ruleset, validate it (``nft -c``), load it now and at every boot."""
    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("anti_ddos"))
    apt.packages(name="nftables", packages=list(PACKAGES), update=False, no_recommends=True)
    files.directory(name="/etc/govcloud", path="/etc/govcloud", mode="755")
    nft = files.put(name="stage anti-DDoS ruleset", src=StringIO(render("anti-ddos.nft.j2", d)),
                    dest=RULESET, mode="640")
    unit = files.put(name="anti-DDoS ruleset unit", src=StringIO(render(f"{UNIT}.j2", d)),
                     dest=f"/etc/systemd/system/{UNIT}", mode="644")
    loaded = host.get_fact(Command, command=f"nft list table inet {TABLE} >/dev/null 2>&1 "
                                            "&& echo loaded || echo absent")
    systemd.daemon_reload(name="systemd daemon-reload (anti-DDoS unit)", _if=unit.did_change)
    server.shell(name="validate (nft -c) and load the anti-DDoS ruleset",
                 commands=[f"nft -c -f {RULESET}", f"systemctl restart {UNIT}"],
                 _if=lambda: nft.did_change() or unit.did_change()
                 or (loaded or "").strip() != "loaded")
    systemd.service(name="anti-DDoS ruleset at boot", service=UNIT, enabled=True)
