"""What each department holds on each site: the one place quotas and pod sizes are derived.

The Pulumi components (``components/``), the offline plan and the tenant admission
command all need the same numbers: which systems a site stack deploys, how big every
placed workload is, and what each department namespace's ResourceQuota therefore is.
They are derived here from the estate model (``Estate.footprint`` and the DR tiers) and
nowhere else, so a quota can never disagree with the workloads it has to admit.

Layering: this module reads :mod:`govcloud.model` only; it imports nothing from Pulumi.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from govcloud.model import (
    Component,
    Department,
    Estate,
    MlpsLevel,
    PlacementRole,
    Resources,
    SiteName,
    System,
    Zone,
)

SystemSet = Sequence[tuple[Department, System]]


def systems_for_stacks(estate: Estate) -> list[tuple[Department, System]]:
    """The systems the site stacks deploy — the single hook for tenant admission.

    Exactly the systems tenant admission admits (``govcloud tenants check``): the
    estate's departments judged in admission order against each site's capacity ledger
    and the DR headroom of every failure scenario; a refused department gets nothing,
    reclaimed systems hold nothing. The stack program, the quotas and the offline plan
    all obtain their system set through this function. Read as recorded (no test
    expiry by date), so a plan depends on the repository alone; returned in estate
    order so the plan's resource order does not depend on the admission queue.
    """
    from govcloud.tenants.admission import admit_estate  # tenants imports this module

    admitted = {(d.name, s.name) for d, s in admit_estate(estate).admitted_systems()}
    return [(d, s) for d, s in estate.systems() if (d.name, s.name) in admitted]


def ingress_zone(system: System) -> Zone:
    """The zone a system's public IPs and bandwidth are accounted to.

    Public IPs and bandwidth are system-level figures; they belong to the zone where
    traffic enters: the internet zone if the system has a front end there, otherwise
    its first zone.
    """
    return Zone.INTERNET if Zone.INTERNET in system.zones else system.zones[0]


def zone_footprint(estate: Estate, system: System, site: SiteName) -> dict[Zone, Resources]:
    """``estate.footprint(system, site)`` split over the system's zones.

    Each zone's share is the model's own footprint of the system restricted to that
    zone's components, so the shares add up to the footprint exactly.
    """
    out: dict[Zone, Resources] = {}
    entry = ingress_zone(system)
    for zone in system.zones:
        part = system.model_copy(
            update={
                "components": [c for c in system.components if c.zone == zone],
                "public_ips": system.public_ips if zone == entry else 0,
                "bandwidth": system.bandwidth if zone == entry else Decimal(0),
            }
        )
        out[zone] = estate.footprint(part, site)
    return out


def backup_site(estate: Estate, system: System) -> SiteName | None:
    """Where a system's scheduled backup job runs: its tier's first active site.

    The job runs beside the active database (pgBackRest pushes to the repository);
    tiers without a backup schedule have no backup job.
    """
    tier = estate.tier(system.dr_tier)
    if tier.backup_schedule is None or tier.backup_job is None:
        return None
    active = tier.sites(PlacementRole.ACTIVE)
    return active[0] if active else None


def backed_up(component: Component) -> bool:
    """Components whose data the nightly backup copies (those with persistent storage)."""
    return component.storage > 0


@dataclass(frozen=True)
class PodSize:
    """Requests (= limits: Guaranteed QoS) of one pod, in cores and bytes."""

    cpu: Decimal
    memory: Decimal
    storage: Decimal = Decimal(0)


@dataclass(frozen=True)
class PlacedComponent:
    """One component of one system as it runs (or is stored) on one site."""

    department: str
    system: str
    component: Component
    site: SiteName
    role: PlacementRole
    replicas: int  # 0 for a backup (storage-only) copy
    pod: PodSize  # per replica; for a backup copy, storage is the whole copy
    mlps_level: MlpsLevel

    @property
    def zone(self) -> Zone:
        return self.component.zone


@dataclass(frozen=True)
class BackupJob:
    """A scheduled backup of one component, run on the system's backup site."""

    department: str
    system: str
    component: Component
    site: SiteName
    schedule: str
    pod: PodSize
    mlps_level: MlpsLevel


def _floor_milli(v: Decimal) -> Decimal:
    return (v * 1000).to_integral_value(ROUND_FLOOR) / 1000


def placed_components(
    estate: Estate, system: System, site: SiteName, department: str = ""
) -> list[PlacedComponent]:
    """How each component of ``system`` is placed on ``site`` under its DR tier.

    - active: the component as declared (replicas x cpu/memory/storage);
    - standby: the declared totals scaled by the tier's ``standby_scale`` (the model's
      footprint), spread over ``max(1, floor(replicas x scale))`` pods, so a scaled-down
      copy keeps at least one running pod and the pods never exceed the footprint;
    - backup: no pods, one storage-only copy of the component's data.
    Components with a zero footprint on the site are left out.
    """
    tier = estate.tier(system.dr_tier)
    role = tier.placement.get(site)
    if role is None or not system.live:
        return []
    out: list[PlacedComponent] = []
    for c in system.components:
        if role == PlacementRole.ACTIVE:
            n, pod = c.replicas, PodSize(c.cpu, Decimal(c.memory), Decimal(c.storage))
        elif role == PlacementRole.STANDBY:
            scale = tier.standby_scale
            if scale == 0:
                continue
            n = max(1, math.floor(c.replicas * scale))
            pod = PodSize(
                cpu=_floor_milli(c.cpu * c.replicas * scale / n),
                memory=(Decimal(c.memory) * c.replicas * scale / n).to_integral_value(ROUND_FLOOR),
                storage=(Decimal(c.storage) * c.replicas * scale / n).to_integral_value(
                    ROUND_FLOOR
                ),
            )
        else:
            if c.storage == 0:
                continue
            n, pod = 0, PodSize(Decimal(0), Decimal(0), Decimal(c.storage * c.replicas))
        out.append(
            PlacedComponent(department, system.name, c, site, role, n, pod, system.mlps_level)
        )
    return out


def backup_jobs(
    estate: Estate, system: System, site: SiteName, department: str = ""
) -> list[BackupJob]:
    """The scheduled backup jobs of ``system`` that run on ``site`` (one per stateful part)."""
    if not system.live or backup_site(estate, system) != site:
        return []
    tier = estate.tier(system.dr_tier)
    assert tier.backup_job is not None and tier.backup_schedule is not None
    pod = PodSize(tier.backup_job.cpu, Decimal(tier.backup_job.memory))
    return [
        BackupJob(department, system.name, c, site, tier.backup_schedule, pod, system.mlps_level)
        for c in system.components
        if backed_up(c)
    ]


@dataclass(frozen=True)
class SitePlan:
    """Everything one site stack places for one department set, keyed for the components."""

    site: SiteName
    quotas: dict[tuple[str, Zone], Resources]
    components: dict[tuple[str, Zone], list[PlacedComponent]]
    backups: dict[tuple[str, Zone], list[BackupJob]]


def tenant_quotas(
    estate: Estate, site: SiteName, systems: SystemSet | None = None
) -> dict[tuple[str, Zone], Resources]:
    """Per-namespace quota on ``site``: ``{(department, zone): Resources}``.

    The ONE quota function. A namespace's quota is the model's footprint
    (:meth:`Estate.footprint`, split per zone) of the department's systems placed on
    the site, plus one backup-job pod per scheduled backup that runs there (the job
    pod counts against the ResourceQuota like any other pod). ``systems`` defaults to
    :func:`systems_for_stacks`; tenant admission passes only the admitted systems.
    Namespaces whose quota would be all zero are left out (nothing is placed there).
    """
    systems = systems_for_stacks(estate) if systems is None else systems
    quotas: dict[tuple[str, Zone], Resources] = {}
    for dept, system in systems:
        for zone, res in zone_footprint(estate, system, site).items():
            if any(res.as_dict().values()):
                key = (dept.name, zone)
                quotas[key] = quotas.get(key, Resources()) + res
        for job in backup_jobs(estate, system, site):
            key = (dept.name, job.component.zone)
            quotas[key] = quotas.get(key, Resources()) + Resources(
                vcpu=job.pod.cpu, memory=job.pod.memory
            )
    return quotas


def site_plan(estate: Estate, site: SiteName, systems: SystemSet | None = None) -> SitePlan:
    """Quotas, placed components and backup jobs of ``site``, grouped per namespace."""
    systems = systems_for_stacks(estate) if systems is None else systems
    comps: dict[tuple[str, Zone], list[PlacedComponent]] = {}
    backups: dict[tuple[str, Zone], list[BackupJob]] = {}
    for dept, system in systems:
        for pc in placed_components(estate, system, site, dept.name):
            comps.setdefault((dept.name, pc.zone), []).append(pc)
        for job in backup_jobs(estate, system, site, dept.name):
            backups.setdefault((dept.name, job.component.zone), []).append(job)
    return SitePlan(site, tenant_quotas(estate, site, systems), comps, backups)


def ceil_milli(v: Decimal) -> Decimal:
    """Round CPU up to whole millicores (a quota must never be below what it admits)."""
    return (v * 1000).to_integral_value(ROUND_CEILING) / 1000
