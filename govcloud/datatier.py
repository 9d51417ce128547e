"""Who is who in the dual-active data tier, derived from the model and the host list.

Roles (``patroni``, ``etcd``, ``pgbackrest``, ``app``) and the drill runner all need the
same answers — which members form region A's Patroni cluster, which etcd members vote
for it, where the region-B standby cluster and its own etcd live, where backups go —
so they are computed once here from the estate (site roles, the hotline system, its DR
tier) and any host list shaped like the lab topology's (``name``, ``site``, ``roles``,
``address``, ``function``). Nothing here touches a host.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from govcloud.model import ComponentKind, Estate, SiteName, SiteRole, System, TierDef

DEPARTMENT = "data-bureau"
SYSTEM = "hotline-12345"
PATRONI_CONFIG = "/etc/patroni/15-main.yml"


class HostLike(Protocol):
    name: str
    site: SiteName
    roles: tuple[str, ...]

    @property
    def address(self) -> str: ...


@dataclass(frozen=True)
class DataTier:
    """The data tier's layout for one system."""

    scope: str
    tier: TierDef
    primary_region_members: list[Any]  # Patroni members on active sites, site order
    dr_members: list[Any]  # Patroni members on the DR site (the standby cluster)
    etcd_a: list[Any]  # region A's etcd: members on active sites + witnesses
    etcd_b: list[Any]  # region B's own etcd (on the DR Patroni members)
    repo: list[Any]  # pgBackRest repository hosts (DR site, no Patroni)
    apps: list[Any]
    db_zone_cidrs: list[str]
    app_port: int
    db_port: int

    def cluster_of(self, host: HostLike) -> str:
        return "b" if host in self.dr_members else "a"

    def etcd_cluster_of(self, host: HostLike) -> list[Any]:
        return self.etcd_b if host in self.etcd_b else self.etcd_a

    def offsite_links(self, estate: Estate, site: SiteName | str | None = None) -> list[Any]:
        """The estate links region B's standby streams over: those joining a site of
        region A's members (``site`` only, if given) to a DR member's site. The monitoring
        thresholds, the peak drills and the link bench all read the bandwidth here."""
        a = {m.site for m in self.primary_region_members if site is None or m.site == site}
        b = {m.site for m in self.dr_members}
        return [li for li in estate.links if {li.a, li.b} & a and {li.a, li.b} & b]


def hotline(estate: Estate) -> System:
    for dept, system in estate.systems():
        if dept.name == DEPARTMENT and system.name == SYSTEM:
            return system
    raise LookupError(f"{DEPARTMENT}/{SYSTEM} is not in the estate")


def _component(system: System, kind: ComponentKind):
    for c in system.components:
        if c.kind == kind:
            return c
    raise LookupError(f"{system.name} has no {kind} component")


def layout(estate: Estate, hosts: Iterable[Any]) -> DataTier:
    """The data tier of the hotline system over ``hosts`` (e.g. ``topology.hosts``)."""
    system = hotline(estate)
    tier = estate.tier(system.dr_tier)
    order = [s.name for s in estate.sites]
    hosts = sorted(hosts, key=lambda h: (order.index(h.site), h.name))
    dr_sites = {s.name for s in estate.sites if s.role == SiteRole.DR}

    def on_dr(h: Any) -> bool:
        return h.site in dr_sites

    patroni = [h for h in hosts if "patroni" in h.roles]
    etcd = [h for h in hosts if "etcd" in h.roles]
    db = _component(system, ComponentKind.DATABASE)
    api = _component(system, ComponentKind.API)
    return DataTier(
        scope=system.name,
        tier=tier,
        primary_region_members=[h for h in patroni if not on_dr(h)],
        dr_members=[h for h in patroni if on_dr(h)],
        etcd_a=[h for h in etcd if not on_dr(h) or "patroni" not in h.roles],
        etcd_b=[h for h in etcd if on_dr(h) and "patroni" in h.roles],
        repo=[h for h in hosts if "pgbackrest" in h.roles and "patroni" not in h.roles],
        apps=[h for h in hosts if "app" in h.roles],
        db_zone_cidrs=[
            estate.zone(db.zone).cidrs[s] for s in order if s in estate.zone(db.zone).cidrs
        ],
        app_port=api.port,
        db_port=db.port,
    )


def local_first(members: Sequence[Any], site: SiteName) -> list[Any]:
    """Members on ``site`` first, then the others in site order (libpq tries in order)."""
    return [m for m in members if m.site == site] + [m for m in members if m.site != site]
