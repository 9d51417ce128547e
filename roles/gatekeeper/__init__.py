"""gatekeeper — a one-way file ferry standing in for the 网闸 (安全隔离与信息交换).

The internet zone and the extranet zone never exchange packets end to end: the flow
matrix allows them to meet only through the gatekeeper, in ``ferry`` mode (files, no
sessions) — GB/T 22239-2019 8.1.3.1 (边界防护) and the e-government rule that the
internet zone and the 政务外网 are physically/logically isolated.

The gatekeeper is a dual-homed host (one leg per zone). Per ferry flow of the matrix
(``internet-to-extranet-ferry`` = *inward*, ``extranet-to-internet-ferry`` = *outward*):

- on the **source** leg an rsync daemon offers a *write-only* inbox (nothing can be read
  back or listed: a drop box, not a share) — the flow's port (tcp/873);
- a systemd path unit (plus a timer as a backstop) runs the ferry mover, which checks
  every file (regular file, safe name, allowed type, size limit, the content matches the
  type) and moves it into the outbox of the other side, or into quarantine; every
  decision is logged (``govcloud-ferry`` in syslog, shipped to log audit);
- on the **destination** leg an rsync daemon offers the outbox *read-only*.

Concerns (flags, secure default = on): ``no_forwarding`` (IP forwarding off, persisted),
``packet_filter`` (nftables: each leg accepts only the ferry port from its own zone, SSH
only from the administration sources; forward chain drops everything),
``content_checks`` (off would ferry any regular file), ``outbox_expiry``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate, FlowMode, Protocol, Zone
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.GATEKEEPER
PACKAGES = ("rsync", "nftables", "python3")
SERVICES = ("govcloud-rsyncd@internet", "govcloud-rsyncd@extranet")
SPOOL = "/srv/ferry"
USER = "ferry"


class Ferry(BaseModel):
    """One ferry direction (a ``mode: ferry`` flow of the matrix)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: str
    name: str = Field(pattern=r"^[a-z]+$", description="inward | outward")
    source_zone: str
    destination_zone: str
    port: int = Field(ge=1, le=65535)

    @property
    def inbox(self) -> str:
        return f"{SPOOL}/{self.name}/inbox"

    @property
    def outbox(self) -> str:
        return f"{SPOOL}/{self.name}/outbox"

    @property
    def quarantine(self) -> str:
        return f"{SPOOL}/{self.name}/quarantine"

    @property
    def push_module(self) -> str:
        return f"to-{self.destination_zone}"

    @property
    def pull_module(self) -> str:
        return f"from-{self.source_zone}"


class Leg(BaseModel):
    """One side of the gatekeeper: its zone, interface, address and who may talk to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zone: str
    ifname: str
    address: str
    clients: list[str] = Field(description="CIDRs of the zone on every site")


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    legs: list[Leg] = Field(min_length=2, max_length=2)
    ferries: list[Ferry] = Field(min_length=1)
    admin_sources: list[str] = Field(default=[], description="may SSH to the gatekeeper")
    no_forwarding: bool = True
    packet_filter: bool = True
    content_checks: bool = True
    # every file is scanned by ClamAV (roles/baseline installs it) before it may cross;
    # a scanner that cannot run (missing, no signatures loaded) refuses the file
    malware_scan: bool = True
    allowed_suffixes: list[str] = [".txt", ".csv", ".json", ".xml", ".pdf"]
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    outbox_expiry: bool = True
    outbox_days: int = Field(default=7, ge=1)
    rescan_seconds: int = Field(default=60, ge=5)

    def leg(self, zone: str) -> Leg:
        return next(leg for leg in self.legs if leg.zone == zone)

    def pushes_on(self, zone: str) -> list[Ferry]:
        """Ferries whose write-only inbox is served on ``zone``'s leg."""
        return [f for f in self.ferries if f.source_zone == zone]

    def pulls_on(self, zone: str) -> list[Ferry]:
        """Ferries whose read-only outbox is served on ``zone``'s leg."""
        return [f for f in self.ferries if f.destination_zone == zone]

    @property
    def ports(self) -> list[int]:
        return sorted({f.port for f in self.ferries})


def ferries(estate: Estate, zones: set[str]) -> list[Ferry]:
    """The matrix's ferry flows through a gatekeeper between ``zones``."""
    out = []
    for flow in estate.zone_flows():
        if flow.mode != FlowMode.FERRY or ApplianceKind.GATEKEEPER not in flow.chain:
            continue
        if {str(flow.source), str(flow.destination)} != zones:
            continue
        ports = [p.port for p in flow.ports if p.protocol == Protocol.TCP and p.port]
        if not ports:
            raise ValueError(f"ferry flow {flow.id} has no tcp port")
        name = "inward" if flow.source == Zone.INTERNET else "outward"
        out.append(Ferry(flow=flow.id, name=name, source_zone=str(flow.source),
                         destination_zone=str(flow.destination), port=ports[0]))
    return out


def data_for(estate: Estate, host: Any) -> Data:
    """Legs from the topology (addresses derived from the zone CIDRs), ferries from flows."""
    legs = []
    for leg in host.legs:
        legs.append(Leg(zone=str(leg.zone), ifname=leg.ifname, address=leg.ip,
                        clients=sorted(estate.zone(leg.zone).cidrs.values())))
    zones = {leg.zone for leg in legs}
    admin = sorted(estate.zone(Zone.MANAGEMENT).cidrs.values())
    topo = getattr(host, "topology", None)
    tools = getattr(topo, "tool_addresses", {}) or {}
    for leg in host.legs:
        tool = tools.get((host.site, leg.zone))
        if tool is not None:
            admin.append(f"{tool.ip}/32")
    return Data(legs=legs, ferries=ferries(estate, zones), admin_sources=admin)


def render(name: str, data: Data, **extra: Any) -> str:
    return _render(__file__, name, d=data, **extra)


@deploy("gatekeeper")
def apply(data: Data | None = None) -> None:
    """Forwarding off, packet filter, spool dirs, rsync daemons per leg, the ferry mover."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("gatekeeper"))
    apt.packages(name="rsync + nftables", packages=list(PACKAGES), update=False,
                 no_recommends=True)
    if d.no_forwarding:
        # persisted for every boot; applied now where the host may write its sysctls (a
        # container's are set from outside: there the current value is checked instead)
        sysctl = files.put(name="forwarding off at boot (sysctl.d)",
                           src=StringIO(render("sysctl.conf.j2", d)),
                           dest="/etc/sysctl.d/60-govcloud-gatekeeper.conf", mode="644")
        current = host.get_fact(
            Command, command="cat /proc/sys/net/ipv4/ip_forward "
            "/proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null || true").split()
        server.shell(name="forwarding off now",
                     commands=["sysctl -q -p /etc/sysctl.d/60-govcloud-gatekeeper.conf "
                               "2>/dev/null || { grep -qx 0 /proc/sys/net/ipv4/ip_forward && "
                               "grep -qx 0 /proc/sys/net/ipv6/conf/all/forwarding; } || "
                               "{ echo 'IP forwarding is on and cannot be switched off here' "
                               ">&2; exit 1; }"],
                     _if=lambda: sysctl.did_change() or any(v != "0" for v in current))
    if d.packet_filter:
        files.directory(name="/etc/govcloud", path="/etc/govcloud", mode="755")
        nft = files.put(name="stage gatekeeper ruleset",
                        src=StringIO(render("nftables.nft.j2", d)),
                        dest="/etc/govcloud/gatekeeper.nft", mode="640")
        unit = files.put(name="gatekeeper ruleset unit",
                         src=StringIO(render("govcloud-gatekeeper-nft.service.j2", d)),
                         dest="/etc/systemd/system/govcloud-gatekeeper-nft.service", mode="644")
        systemd.daemon_reload(name="daemon-reload (ruleset unit)", _if=unit.did_change)
        server.shell(name="validate (nft -c) and load the gatekeeper ruleset",
                     commands=["nft -c -f /etc/govcloud/gatekeeper.nft",
                               "systemctl restart govcloud-gatekeeper-nft"],
                     _if=lambda: nft.did_change() or unit.did_change())
        systemd.service(name="gatekeeper ruleset at boot", service="govcloud-gatekeeper-nft",
                        running=True, enabled=True)

    server.group(name="ferry group", group=USER, system=True)
    server.user(name="ferry user (owns the spool; rsyncd and the mover run as it)", user=USER,
                group=USER, system=True, shell="/usr/sbin/nologin", home=SPOOL,
                create_home=False, ensure_home=False)
    files.directory(name="spool", path=SPOOL, user="root", group=USER, mode="750")
    for f in d.ferries:
        files.directory(name=f"{f.name} dir", path=f"{SPOOL}/{f.name}", user="root",
                        group=USER, mode="750")
        for sub, mode in ((f.inbox, "700"), (f.outbox, "750"), (f.quarantine, "700")):
            files.directory(name=f"{sub}", path=sub, user=USER, group=USER, mode=mode)

    files.directory(name="/etc/govcloud/ferry", path="/etc/govcloud/ferry", mode="755")
    mover = files.put(name="ferry mover (content checks)",
                      src=str(Path(__file__).parent / "files" / "govcloud-ferry"),
                      dest="/usr/local/sbin/govcloud-ferry", mode="755")
    units = [mover]
    for f in d.ferries:
        units.append(files.put(
            name=f"ferry {f.name} policy", src=StringIO(render("ferry.json.j2", d, f=f)),
            dest=f"/etc/govcloud/ferry/{f.name}.json", mode="644"))
        for kind in ("service", "path", "timer"):
            units.append(files.put(
                name=f"govcloud-ferry-{f.name}.{kind}",
                src=StringIO(render(f"govcloud-ferry.{kind}.j2", d, f=f)),
                dest=f"/etc/systemd/system/govcloud-ferry-{f.name}.{kind}", mode="644"))
    for leg in d.legs:
        units.append(files.put(
            name=f"rsyncd on the {leg.zone} leg", src=StringIO(render("rsyncd.conf.j2", d,
                                                                       leg=leg)),
            dest=f"/etc/govcloud/ferry/rsyncd-{leg.zone}.conf", mode="644"))
    units.append(files.put(name="rsyncd unit", src=StringIO(render("govcloud-rsyncd@.service.j2",
                                                                  d)),
                           dest="/etc/systemd/system/govcloud-rsyncd@.service", mode="644"))
    if d.outbox_expiry:
        files.put(name="outbox expiry (tmpfiles)", src=StringIO(render("tmpfiles.conf.j2", d)),
                  dest="/etc/tmpfiles.d/govcloud-ferry.conf", mode="644")

    def changed() -> bool:
        return any(op.did_change() for op in units)

    systemd.daemon_reload(name="daemon-reload (ferry units)", _if=changed)
    for leg in d.legs:
        systemd.service(name=f"rsyncd ({leg.zone} leg) restart", service=f"govcloud-rsyncd@"
                        f"{leg.zone}", running=True, enabled=True, restarted=True, _if=changed)
        systemd.service(name=f"rsyncd ({leg.zone} leg) running",
                        service=f"govcloud-rsyncd@{leg.zone}", running=True, enabled=True)
    for f in d.ferries:
        for kind in ("path", "timer"):
            systemd.service(name=f"ferry {f.name} {kind}", service=f"govcloud-ferry-{f.name}."
                            f"{kind}", running=True, enabled=True)
