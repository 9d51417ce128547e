"""Assemble one site stack from the estate: tenants, segmentation, placements.

Not a component itself: the stack program calls :func:`build_site` once, so the
program stays thin and tests can build a site under Pulumi mocks without a stack file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.admission import AdmissionGuardrails, AdmissionGuardrailsArgs
from components.placement import BACKUP_CRYPTO_CHANNEL, SystemPlacement, SystemPlacementArgs
from components.segmentation import ZoneSegmentation, ZoneSegmentationArgs
from components.tenant import DepartmentTenant, DepartmentTenantArgs, TenantZone
from govcloud import tenancy
from govcloud.model import Estate, Resources, SiteName, Zone
from govcloud.tenancy import BackupJob, PlacedComponent


@dataclass
class SiteBuild:
    """What :func:`build_site` created (for exports and tests)."""

    site: SiteName
    guardrails: AdmissionGuardrails
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

    # One pass over the site plan, grouped per department and per system, so the
    # assembly below stays linear in the estate (it was departments x namespaces and
    # systems x namespaces).
    zones_of: dict[str, dict[Zone, TenantZone]] = {}
    for (name, zone), quota in plan.quotas.items():
        zones_of.setdefault(name, {})[zone] = TenantZone(
            quota, plan.components.get((name, zone), []), plan.backups.get((name, zone), [])
        )
    comps_of: dict[tuple[str, str], list[PlacedComponent]] = {}
    for (name, _), placed in plan.components.items():
        for c in placed:
            comps_of.setdefault((name, c.system), []).append(c)
    backups_of: dict[tuple[str, str], list[BackupJob]] = {}
    for (name, _), jobs in plan.backups.items():
        for b in jobs:
            backups_of.setdefault((name, b.system), []).append(b)

    # The API server's own refusals first: every tenant object is admitted through them.
    guardrails = AdmissionGuardrails(
        "admission-guardrails", AdmissionGuardrailsArgs(registry=estate.cloud.registry), opts
    )
    tenants: dict[str, DepartmentTenant] = {}
    for dept in estate.departments:
        zones = zones_of.get(dept.name, {})
        if zones:
            tenants[dept.name] = DepartmentTenant(
                dept.name, DepartmentTenantArgs(dept, site, zones),
                pulumi.ResourceOptions(provider=provider, depends_on=[guardrails]),
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

    channel = next((c for c in estate.crypto if c.name == BACKUP_CRYPTO_CHANNEL), None)
    backup_cipher = channel.suites[0] if channel and channel.suites else ""
    placements: dict[str, SystemPlacement] = {}
    for dept, system in systems:
        comps = comps_of.get((dept.name, system.name), [])
        backups = backups_of.get((dept.name, system.name), [])
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
                probe_defaults=dict(estate.workloads.probes),
                platform_images=dict(estate.workloads.platform_images),
                failure_domains=estate.site(site).capacity.failure_domains,
                backups=backups,
                backup_key=backup_key,
                backup_cipher=backup_cipher,
            ),
            pulumi.ResourceOptions(provider=provider, depends_on=[tenants[dept.name]]),
        )
    return SiteBuild(site, guardrails, tenants, segmentation, placements, plan.quotas)
