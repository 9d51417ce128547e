"""The capacity ledger of each site, and the DR headroom of each failure scenario.

Normal operation: every charged system holds ``Estate.footprint(system, site)`` on each
site its DR tier places it on; a site's total must stay within ``Site.allocatable()``
(physical capacity x the over-commit ratios in sites.yaml).

Failure: the scenarios are derived from the model, not listed by hand: the loss of each
active site, and the loss of each region holding an active site (region B holds
none). When sites are lost, each system that had an active copy there moves the
load of its lost copies to the survivors:

- if it still has an active copy (dual-active, one DC lost), the surviving active
  site(s) carry the load of every active copy: DC2 absorbs DC1's dual-active load;
- otherwise its standby is promoted (in-city standby first, then off-site) and must
  carry the whole load of all its active copies: if region A is lost, region B carries
  every dual-active system at twice one copy and every warm-standby system at one copy;
- with neither (backup-only), it is restored from backup later: no headroom is held.

Scheduled backup-job pods (500m/1Gi per stateful component, see dr-tiers.yaml) are
charged in normal operation, because the namespace ResourceQuota reserves them; in a
failure scenario only the systems' own load is counted.

Load-carrying resources (vCPU, memory, public IPs, bandwidth) add up; storage does
not: each surviving copy already holds a full replica of the data, so the promoted
site needs one full copy (``System.request().storage``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from govcloud.model import (
    RESOURCE_KEYS,
    Estate,
    PlacementRole,
    Resources,
    SiteName,
    SiteRole,
    System,
)
from govcloud.tenancy import backup_jobs

GIB = Decimal(2**30)


def fmt(resource: str, value: Decimal) -> str:
    """A resource amount as an operator reads it (GiB for memory and storage)."""
    if resource in ("memory", "storage"):
        return f"{_num(value / GIB)} GiB"
    if resource == "bandwidth":
        return f"{_num(value)} Mbps"
    if resource == "vcpu":
        return f"{_num(value)} vCPU"
    return f"{_num(value)} public IP(s)"


def _num(value: Decimal) -> str:
    q = value.quantize(Decimal("0.01"))
    text = f"{q:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Scenario:
    """A failure: the sites lost together."""

    name: str
    lost: frozenset[SiteName]

    def __str__(self) -> str:
        return self.name


def scenarios(estate: Estate) -> list[Scenario]:
    """Loss of each active site, then of each region that holds an active site."""
    out = [
        Scenario(f"loss of {s.name}", frozenset({s.name}))
        for s in estate.sites
        if s.role == SiteRole.ACTIVE
    ]
    regions: dict[str, set[SiteName]] = {}
    for s in estate.sites:
        regions.setdefault(str(s.region), set()).add(s.name)
    for region, sites in regions.items():
        has_active = any(estate.site(n).role == SiteRole.ACTIVE for n in sites)
        if has_active and len(sites) > 1:
            out.append(Scenario(f"loss of {region}", frozenset(sites)))
    return out


def _carry(system: System, copies: int) -> Resources:
    """What one site needs to carry ``copies`` active copies' load (one data replica)."""
    one = system.request()
    return Resources(
        vcpu=one.vcpu * copies,
        memory=one.memory * copies,
        storage=one.storage,
        public_ips=one.public_ips * copies,
        bandwidth=one.bandwidth * copies,
    )


def held(estate: Estate, system: System) -> dict[SiteName, Resources]:
    """What ``system`` holds on each site in normal operation.

    Its footprint under its DR tier plus the pods of its scheduled backup jobs: the
    namespace ResourceQuota reserves both (:func:`govcloud.tenancy.tenant_quotas`), so
    the ledger charges both.
    """
    out = {}
    for site in estate.sites:
        res = estate.footprint(system, site.name)
        for job in backup_jobs(estate, system, site.name):
            res = res + Resources(vcpu=job.pod.cpu, memory=job.pod.memory)
        out[site.name] = res
    return out


def after_failure(estate: Estate, system: System, scenario: Scenario) -> dict[SiteName, Resources]:
    """What ``system`` holds on each surviving site once ``scenario`` has happened."""
    placement = estate.placement(system)
    survivors = [s.name for s in estate.sites if s.name not in scenario.lost]
    normal = {site: estate.footprint(system, site) for site in survivors}
    active = [s for s, r in placement.items() if r == PlacementRole.ACTIVE]
    if not any(s in scenario.lost for s in active):
        return normal
    still_active = [s for s in active if s not in scenario.lost]
    if still_active:
        share = _carry(system, len(active))
        per_site = Resources(
            **{
                k: (v if k == "storage" else v / len(still_active))
                for k, v in share.as_dict().items()
            }
        )
        for s in still_active:
            normal[s] = per_site
        return normal
    lost_regions = {estate.site(s).region for s in active}
    standbys = [
        s.name
        for s in estate.sites
        if s.name in survivors and placement.get(s.name) == PlacementRole.STANDBY
    ]
    standbys.sort(key=lambda n: estate.site(n).region not in lost_regions)
    if standbys:
        normal[standbys[0]] = _carry(system, len(active))
    return normal


class Ledger:
    """Resources charged to each site by the systems admitted so far.

    Immutable: :meth:`with_systems` returns a new ledger, so a trial that is refused
    leaves the current one untouched. Totals are kept incrementally (one pass per
    added system), so judging a queue of requests stays linear in its size.
    """

    def __init__(self, estate: Estate, systems: Iterable[System] = ()) -> None:
        self.estate = estate
        self.systems: list[System] = []
        self._scenarios = scenarios(estate)
        zero = {s.name: Resources() for s in estate.sites}
        self._used: dict[SiteName, Resources] = dict(zero)
        self._after: dict[Scenario, dict[SiteName, Resources]] = {
            sc: dict(zero) for sc in self._scenarios
        }
        self._add(systems)

    def _add(self, systems: Iterable[System]) -> None:
        for system in systems:
            self.systems.append(system)
            for site, res in held(self.estate, system).items():
                self._used[site] = self._used[site] + res
            for sc, total in self._after.items():
                for site, res in after_failure(self.estate, system, sc).items():
                    total[site] = total[site] + res

    def with_systems(self, more: Iterable[System]) -> Ledger:
        new = Ledger(self.estate)
        new.systems = list(self.systems)
        new._used = dict(self._used)
        new._after = {sc: dict(t) for sc, t in self._after.items()}
        new._add(more)
        return new

    def used(self) -> dict[SiteName, Resources]:
        """Normal-operation total per site: what the site's ResourceQuotas add up to."""
        return dict(self._used)

    def after(self, scenario: Scenario) -> dict[SiteName, Resources]:
        """Total per surviving site once ``scenario`` has happened."""
        total = self._after.get(scenario)
        if total is None:  # a scenario not derived from the model: compute it
            total = {s.name: Resources() for s in self.estate.sites}
            for system in self.systems:
                for site, res in after_failure(self.estate, system, scenario).items():
                    total[site] = total[site] + res
        return {site: res for site, res in total.items() if site not in scenario.lost}

    def shortfalls(self) -> list[Shortfall]:
        """Every (site, resource) over its allocatable, in normal operation and failures."""
        out = _over(self.estate, None, self.used())
        for sc in self._scenarios:
            out += _over(self.estate, sc, self.after(sc))
        return out


@dataclass(frozen=True)
class Shortfall:
    scenario: Scenario | None  # None: normal operation
    site: SiteName
    resource: str
    needed: Decimal
    allocatable: Decimal

    @property
    def short_by(self) -> Decimal:
        return self.needed - self.allocatable

    def describe(self, added: Decimal | None = None) -> str:
        adds = f" (this request adds {fmt(self.resource, added)})" if added else ""
        if self.scenario is None:
            return (
                f"site {self.site}: {self.resource} would reach "
                f"{fmt(self.resource, self.needed)} of {fmt(self.resource, self.allocatable)} "
                f"allocatable{adds}; short by {fmt(self.resource, self.short_by)}"
            )
        return (
            f"DR headroom, {self.scenario}: {self.site} would have to carry "
            f"{self.resource} {fmt(self.resource, self.needed)} of "
            f"{fmt(self.resource, self.allocatable)} allocatable{adds}; short by "
            f"{fmt(self.resource, self.short_by)}"
        )


def _over(
    estate: Estate, scenario: Scenario | None, totals: dict[SiteName, Resources]
) -> list[Shortfall]:
    out = []
    for site, res in totals.items():
        alloc = estate.site(site).allocatable()
        for k in RESOURCE_KEYS:
            v = getattr(res, k)
            if v > alloc[k]:
                out.append(Shortfall(scenario, site, k, v, alloc[k]))
    return out
