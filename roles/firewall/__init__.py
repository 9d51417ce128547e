"""firewall — the site router's nftables ruleset, generated from the flow matrix.

Default drop; the only forwarded traffic is a zone-to-zone flow of the matrix (source
zone's CIDRs on any site -> destination zone's CIDRs on any site, its ports), plus
replies (conntrack). Drops are counted and logged with a prefix, so a reviewer can see
what was refused. The ruleset is validated with ``nft -c`` before it is loaded, and it
owns only its own table (``inet govcloud``): other tables on the host are left alone.

A flow whose chain names an inline proxy appliance (``ips``: it must evaluate every
request) is admitted only to the addresses of the lab hosts that run that appliance's
role, not to the whole destination zone, so nothing behind it is reachable around it
(:func:`inline_destinations`). With no such host the flow is not admitted at all: an IPS
that is not deployed fails closed.

Ferry flows (网闸摆渡, ``mode: ferry``) are not opened on the router: the gatekeeper has
a leg in both zones and carries them itself, so a direct session between the internet
and extranet zones stays impossible through the firewall — the standards' rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Direction, Estate, FlowMode, Protocol, Zone

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.FIREWALL
PACKAGES = ("nftables",)
SERVICES = ("nftables",)
TEMPLATES = Path(__file__).parent / "templates"
LOG_PREFIX = "govcloud-drop"


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: str
    source: str  # zone name
    destination: str
    protocol: str  # tcp | udp | icmp
    ports: list[int]
    # set for flows that must pass an inline proxy: only these addresses, not the zone
    destination_addresses: list[str] | None = None


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zones: dict[str, list[str]]  # zone -> its CIDRs on every site
    rules: list[Rule]
    admin_zones: list[str] = ["management"]  # who may SSH to the router itself
    log_drops: bool = True
    log_prefix: str = LOG_PREFIX


#: appliance kinds that terminate the flow's connections (a proxy): the firewall admits
#: their flows only to the hosts that carry them
INLINE_PROXY_KINDS = (ApplianceKind.IPS,)


def inline_destinations(estate: Estate, topo: Any) -> dict[str, list[str]]:
    """Flow id -> the addresses it may reach: for each zone flow whose chain names an
    inline proxy kind, the destination-zone legs of the lab hosts whose roles stand in for
    that kind (every site). An empty list means none is deployed: nothing is admitted."""
    from govcloud.lab.profile import ROLE_APPLIANCE

    out: dict[str, list[str]] = {}
    for flow in estate.zone_flows():
        kinds = [k for k in flow.chain if k in INLINE_PROXY_KINDS]
        if not kinds:
            continue
        roles = {r for r, k in ROLE_APPLIANCE.items() if k in kinds}
        out[flow.id] = [leg.ip for h in topo.hosts if roles & set(h.roles)
                        for leg in h.legs if str(leg.zone) == str(flow.destination)]
    return out


def matrix_rules(estate: Estate, topo: Any = None) -> list[Rule]:
    """Forwarding rules for every interactive zone-to-zone flow (both ways if bidirectional).

    With the lab ``topo``, flows that must pass an inline proxy are narrowed to its hosts."""
    only = inline_destinations(estate, topo) if topo is not None else {}
    out: list[Rule] = []
    for flow in estate.zone_flows():
        if flow.mode == FlowMode.FERRY:
            continue
        pairs = [(flow.source, flow.destination)]
        if flow.direction == Direction.BIDIRECTIONAL and flow.source != flow.destination:
            pairs.append((flow.destination, flow.source))
        for src, dst in pairs:
            for proto in (Protocol.TCP, Protocol.UDP, Protocol.ICMP):
                ports = sorted({p.port for p in flow.ports if p.protocol == proto and p.port})
                if ports or any(p.protocol == proto and not p.port for p in flow.ports):
                    out.append(Rule(flow=flow.id, source=str(src), destination=str(dst),
                                    protocol=proto.value, ports=ports,
                                    destination_addresses=only.get(flow.id)))
    return out


def allowed(estate: Estate) -> dict[tuple[Zone, Zone], set[tuple[str, int]]]:
    """The router's matrix: (source zone, destination zone) -> {(protocol, port)}."""
    out: dict[tuple[Zone, Zone], set[tuple[str, int]]] = {}
    for r in matrix_rules(estate):
        key = (Zone(r.source), Zone(r.destination))
        out.setdefault(key, set()).update((r.protocol, p) for p in r.ports)
    return out


def data_for(estate: Estate, host: Any) -> Data:
    zones = {str(z.name): sorted(z.cidrs.values()) for z in estate.zones}
    return Data(zones=zones, rules=matrix_rules(estate, getattr(host, "topology", None)))


def set_name(zone: str) -> str:
    return "z_" + zone.replace("-", "_")


def render(data: Data) -> str:
    """The nftables file (also used by unit tests, which check it with ``nft -c``)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("nftables.conf.j2").render(d=data, set_name=set_name)


@deploy("firewall")
def apply(data: Data | None = None) -> None:
    """Render, validate (``nft -c``), install and load the ruleset; keep it across boots."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("firewall"))
    apt.packages(name="nftables", packages=list(PACKAGES), update=False, no_recommends=True)
    files.directory(name="/etc/govcloud", path="/etc/govcloud", mode="755")
    staged = files.put(name="stage ruleset (generated from the flow matrix)",
                       src=StringIO(render(d)), dest="/etc/govcloud/nftables.conf", mode="640")
    # load when the staged file changed, or when what is live is not what was staged (a
    # failed validation last time, a reboot without the unit, a hand edit): self-healing
    live = host.get_fact(Command, command=(
        "cmp -s /etc/govcloud/nftables.conf /etc/nftables.conf && "
        "nft list table inet govcloud >/dev/null 2>&1 && echo loaded || echo stale"))
    server.shell(name="validate (nft -c), install and load the ruleset",
                 commands=["nft -c -f /etc/govcloud/nftables.conf",
                           "install -m 0640 /etc/govcloud/nftables.conf /etc/nftables.conf",
                           "nft -f /etc/nftables.conf"],
                 _if=lambda: staged.did_change() or live.strip() != "loaded")
    systemd.service(name="nftables loads the ruleset at boot", service="nftables", enabled=True)
