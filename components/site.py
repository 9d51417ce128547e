"""Assemble one site stack from the estate: tenants, segmentation, placements.

Not a component itself: the stack program calls :func:`build_site` once, so the
program stays thin and tests can build a site under Pulumi mocks without a stack file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.placement import SystemPlacement, SystemPlacementArgs
from components.segmentation import ZoneSegmentation, ZoneSegmentationArgs
from components.tenant import DepartmentTenant, DepartmentTenantArgs, TenantZone
from govcloud import tenancy
from govcloud.model import Estate, Resources, SiteName, Zone


@dataclass
class SiteBuild:
    """What :func:`build_site` created (for exports and tests)."""

    site: SiteName
    tenants: dict[str, DepartmentTenant]
    segmentation: ZoneSegmentation
    placements: dict[str, SystemPlacement]
    quotas: dict[tuple[str, Zone], Resources]


def build_site(
    estate: Estate,
    site: SiteName,
    provider: pulumi.ProviderResource | None = None,
    backup_key: pulumi.Input[str] | None = None,
    systems: tenancy.SystemSet | None = None,
) -> SiteBuild:
    """Create every component of ``site`` for ``systems`` (default: the stacks' set)."""
    systems = tenancy.systems_for_stacks(estate) if systems is None else systems
    plan = tenancy.site_plan(estate, site, systems)
    opts = pulumi.ResourceOptions(provider=provider) if provider is not None else None

    tenants: dict[str, DepartmentTenant] = {}
    for dept in estate.departments:
        zones: dict[Zone, TenantZone] = {}
        for (name, zone), quota in plan.quotas.items():
            if name != dept.name:
                continue
            comps = plan.components.get((name, zone), [])
            backups = plan.backups.get((name, zone), [])
            zones[zone] = TenantZone(quota, comps, backups)
        if zones:
            tenants[dept.name] = DepartmentTenant(
                dept.name, DepartmentTenantArgs(dept, site, zones), opts
            )

    namespaces = {
        (d, z): ns for d, t in tenants.items() for z, ns in t.namespaces.items()
    }
    segmentation = ZoneSegmentation(
        "segmentation",
        ZoneSegmentationArgs(
            site=site,
            flows=list(estate.flows),
            namespaces=namespaces,
            cidrs={z.name: dict(z.cidrs) for z in estate.zones},
        ),
        pulumi.ResourceOptions(provider=provider, depends_on=list(tenants.values())),
    )

    placements: dict[str, SystemPlacement] = {}
    for dept, system in systems:
        comps = [
            c for (d, _), cs in plan.components.items() if d == dept.name for c in cs
            if c.system == system.name
        ]
        backups = [
            b for (d, _), bs in plan.backups.items() if d == dept.name for b in bs
            if b.system == system.name
        ]
        if not comps and not backups:
            continue
        name = f"{dept.name}-{system.name}"
        placements[name] = SystemPlacement(
            name,
            SystemPlacementArgs(
                department=dept,
                system=system,
                site=site,
                tier=estate.tier(system.dr_tier),
                registry=estate.cloud.registry,
                components=comps,
                backups=backups,
                backup_key=backup_key,
            ),
            pulumi.ResourceOptions(provider=provider, depends_on=[tenants[dept.name]]),
        )
    return SiteBuild(site, tenants, segmentation, placements, plan.quotas)
