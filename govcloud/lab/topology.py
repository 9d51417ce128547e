"""Lab topology derived from the estate model and the lab profile (pure, no side effects).

Addresses are never written down: a host's address in a zone is computed from that
zone's CIDR on the host's site (``estate.zone(z).network(site)``):

- the site router takes the first host address of every zone (the zones' gateway);
- other hosts take ``.11``, ``.12``, ... in profile order among the hosts with a leg
  in that zone on that site;
- the lab's tool namespace (the "fabric") takes the last host address of every zone,
  service VIPs the addresses just below it;
- each estate link gets a /30 of the profile's transit range, in estate order.

Interface names are short and derived too (``z-ext`` is a host's extranet leg,
``l-dc2`` a router's link to dc2), so the same topology always builds the same lab.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from govcloud.lab.profile import LabProfile
from govcloud.model import Estate, SiteName, Zone

IPv4Interface = ipaddress.IPv4Interface

#: Three-letter zone abbreviations used in interface and bridge names (IFNAMSIZ is 15).
ZONE_ABBR: dict[Zone, str] = {
    Zone.INTERNET: "int",
    Zone.EXTRANET: "ext",
    Zone.DEDICATED: "ded",
    Zone.MANAGEMENT: "mgt",
    Zone.SECURITY_MANAGEMENT: "sec",
}

HOST_OFFSET = 11  # first address handed to a non-router host in a zone


@dataclass(frozen=True)
class Leg:
    """A host's interface in one zone of its site."""

    zone: Zone
    address: IPv4Interface
    ifname: str  # inside the host

    @property
    def ip(self) -> str:
        return str(self.address.ip)


@dataclass(frozen=True)
class Host:
    """One lab host (an nspawn machine in its own network namespace)."""

    name: str  # <site short>-<function>
    function: str
    site: SiteName
    site_short: str
    zone: Zone | None  # primary zone; None for the site router
    legs: tuple[Leg, ...]
    roles: tuple[str, ...]
    router: bool = False
    forwarding: bool = False
    gateway: str | None = None  # default route (the router's leg in the primary zone)
    routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, via) for routers
    #: the whole lab/site picture, for roles whose data depends on peers (log host, DNS)
    topology: Topology | None = field(default=None, repr=False, compare=False)

    @property
    def address(self) -> str:
        """The address tools and records use: the primary zone leg (a router's management leg,
        since routers are administered from the management zone)."""
        return self.primary_leg.ip

    @property
    def primary_leg(self) -> Leg:
        if self.zone is None:
            return next((leg for leg in self.legs if leg.zone == Zone.MANAGEMENT), self.legs[0])
        return next(leg for leg in self.legs if leg.zone == self.zone)

    def leg(self, zone: Zone | str) -> Leg | None:
        return next((leg for leg in self.legs if leg.zone == Zone(zone)), None)

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class LinkPath:
    """An estate link as the lab builds it: a transit /30 between the two site routers."""

    name: str
    a: SiteName
    b: SiteName
    a_short: str
    b_short: str
    a_addr: IPv4Interface
    b_addr: IPv4Interface
    bandwidth_mbps: Decimal

    def ifname(self, site: SiteName) -> str:
        """The router's interface for this link (named after the peer)."""
        return f"l-{self.b_short}" if site == self.a else f"l-{self.a_short}"

    def touches(self, site: SiteName) -> bool:
        return site in (self.a, self.b)


@dataclass(frozen=True)
class Service:
    """A DNS name with one VIP per site; ``primary`` is where it points at first."""

    name: str
    fqdn: str
    zone: Zone
    vips: dict[SiteName, str]
    primary: SiteName


@dataclass(frozen=True)
class Topology:
    estate: Estate = field(repr=False)
    profile: LabProfile = field(repr=False)
    hosts: tuple[Host, ...]
    links: tuple[LinkPath, ...]
    services: tuple[Service, ...]
    tool_addresses: dict[tuple[SiteName, Zone], IPv4Interface]

    @property
    def domain(self) -> str:
        return self.profile.domain

    @cached_property
    def _by_name(self) -> dict[str, Host]:
        return {h.name: h for h in self.hosts}

    def host(self, name: str) -> Host:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise KeyError(f"no lab host {name!r} (known: {known})") from None

    def hosts_on(self, site: SiteName | str) -> list[Host]:
        return [h for h in self.hosts if h.site == SiteName(site)]

    def with_role(self, role: str, site: SiteName | str | None = None) -> list[Host]:
        return [
            h for h in self.hosts if role in h.roles and (site is None or h.site == SiteName(site))
        ]

    def router(self, site: SiteName | str) -> Host:
        return next(h for h in self.hosts if h.router and h.site == SiteName(site))

    def address(self, name: str, zone: Zone | str | None = None) -> str:
        """A host's address (in ``zone`` if given, else its primary zone)."""
        host = self.host(name)
        if zone is None:
            return host.address
        leg = host.leg(zone)
        if leg is None:
            raise KeyError(f"host {name} has no leg in zone {zone}")
        return leg.ip

    def site_short(self, site: SiteName | str) -> str:
        return self.profile.sites[SiteName(site)]

    def site_of_short(self, short: str) -> SiteName:
        return next(s for s, v in self.profile.sites.items() if v == short)

    def link(self, a: SiteName | str, b: SiteName | str) -> LinkPath:
        pair = {SiteName(a), SiteName(b)}
        for link in self.links:
            if {link.a, link.b} == pair:
                return link
        raise KeyError(f"no link between {a} and {b}")

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def records(self) -> dict[str, str]:
        """DNS A records: every host name (primary address) and every service's primary VIP."""
        out = {h.name: h.address for h in self.hosts}
        for svc in self.services:
            out[svc.name] = svc.vips[svc.primary]
        return out


def _nth(net: ipaddress.IPv4Network, n: int) -> IPv4Interface:
    addr = net.network_address + n
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        raise ValueError(f"{net} has no host number {n}")
    return ipaddress.IPv4Interface(f"{addr}/{net.prefixlen}")


def build_topology(estate: Estate, profile: LabProfile) -> Topology:
    """Expand the profile over the estate: hosts, legs, addresses, routes, links."""
    zones = [z.name for z in estate.zones]
    counters: dict[tuple[SiteName, Zone], int] = {}
    site_order = [s.name for s in estate.sites]

    def net(site: SiteName, zone: Zone) -> ipaddress.IPv4Network:
        network = estate.zone(zone).network(site)
        assert isinstance(network, ipaddress.IPv4Network)
        return network

    def alloc(site: SiteName, zone: Zone) -> IPv4Interface:
        k = counters.get((site, zone), 0)
        counters[(site, zone)] = k + 1
        return _nth(net(site, zone), HOST_OFFSET + k)

    # links first: routers need them for their routes
    transit = ipaddress.ip_network(profile.transit).subnets(new_prefix=30)
    links: list[LinkPath] = []
    for link in estate.links:
        sub = next(transit)
        links.append(
            LinkPath(
                name=link.name,
                a=link.a,
                b=link.b,
                a_short=profile.sites[link.a],
                b_short=profile.sites[link.b],
                a_addr=ipaddress.IPv4Interface(f"{sub.network_address + 1}/30"),
                b_addr=ipaddress.IPv4Interface(f"{sub.network_address + 2}/30"),
                bandwidth_mbps=Decimal(link.bandwidth),
            )
        )

    hosts: list[Host] = []
    for site in site_order:
        short = profile.sites[site]
        for spec in profile.hosts:
            if site not in spec.sites:
                continue
            name = f"{short}-{spec.function}"
            if spec.router:
                legs = tuple(
                    Leg(z, _nth(net(site, z), 1), f"z-{ZONE_ABBR[z]}") for z in zones
                )
                routes: list[tuple[str, str]] = []
                for link in links:
                    if not link.touches(site):
                        continue
                    peer = link.b if link.a == site else link.a
                    via = link.b_addr if link.a == site else link.a_addr
                    routes += [(estate.zone(z).cidrs[peer], str(via.ip)) for z in zones]
                hosts.append(
                    Host(name, spec.function, site, short, None, legs, tuple(spec.roles),
                         router=True, forwarding=True, routes=tuple(routes))
                )
                continue
            assert spec.zone is not None
            legs = tuple(
                Leg(z, alloc(site, z), f"z-{ZONE_ABBR[z]}") for z in [spec.zone, *spec.legs]
            )
            gateway = str(_nth(net(site, spec.zone), 1).ip)
            hosts.append(
                Host(name, spec.function, site, short, spec.zone, legs, tuple(spec.roles),
                     forwarding=spec.forwarding, gateway=gateway)
            )

    tool = {}
    for site in site_order:
        for z in zones:
            n = net(site, z)
            tool[(site, z)] = _nth(n, n.num_addresses - 2)

    services: list[Service] = []
    vip_counters: dict[tuple[SiteName, Zone], int] = {}
    for svc in profile.services:
        vips = {}
        for site in svc.sites:
            k = vip_counters.get((site, svc.zone), 0)
            vip_counters[(site, svc.zone)] = k + 1
            n = net(site, svc.zone)
            vips[site] = str(_nth(n, n.num_addresses - 3 - k).ip)
        services.append(
            Service(svc.name, f"{svc.name}.{profile.domain}", svc.zone, vips, svc.primary)
        )

    topo = Topology(estate, profile, tuple(hosts), tuple(links), tuple(services), tool)
    for host in hosts:
        object.__setattr__(host, "topology", topo)
    return topo


def load_topology(estate: Estate | None = None) -> Topology:
    """The default topology: the repo's (or ``$GOVCLOUD_ESTATE``'s) estate and lab.yaml."""
    from govcloud.lab.profile import load_profile
    from govcloud.model import load_estate

    estate = estate or load_estate()
    return build_topology(estate, load_profile(estate))
