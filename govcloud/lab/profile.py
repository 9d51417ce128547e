"""The lab profile (``estate/lab.yaml``): which lab hosts exist where and what they run.

The profile only says *which* hosts exist and *which roles* they run; everything
numeric (addresses, routes, bandwidth, rules) is derived from the estate model by
:mod:`govcloud.lab.topology`. It is validated like the estate itself: every problem
names the file, the field and the rule, and all of them are raised together.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from govcloud.model import ApplianceKind, Estate, EstateError, Problem, SiteName, Zone
from govcloud.model.loader import _parse
from govcloud.model.problems import field_path

PROFILE_FILE = "lab.yaml"

#: Role names the lab knows about. A profile naming another role is an error (typo guard);
#: a reserved role without a ``roles/<name>`` package yet is skipped at deploy time.
RESERVED_ROLES = (
    "baseline",
    "firewall",
    "dns",
    "waf",
    "ips",
    "loadbalancer",
    "gatekeeper",
    "bastion",
    "log_audit",
    "db_audit",
    "ids",
    "postgres",
    "patroni",
    "etcd",
    "pgbackrest",
    "app",
)

Function = str

#: Roles that stand in for an estate security appliance: a lab host may run one only on a
#: site where the estate has that appliance (the lab mirrors the estate, never invents).
ROLE_APPLIANCE: dict[str, ApplianceKind] = {
    "firewall": ApplianceKind.FIREWALL,
    "waf": ApplianceKind.WAF,
    "ips": ApplianceKind.IPS,
    "ids": ApplianceKind.IDS,
    "loadbalancer": ApplianceKind.LOAD_BALANCER,
    "gatekeeper": ApplianceKind.GATEKEEPER,
    "bastion": ApplianceKind.BASTION,
    "log_audit": ApplianceKind.LOG_AUDIT,
    "db_audit": ApplianceKind.DB_AUDIT,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostSpec(_Strict):
    """One host function, instantiated once per listed site as ``<site short>-<function>``."""

    function: Function = Field(pattern=r"^[a-z][a-z0-9]{0,9}$")
    sites: list[SiteName] = Field(min_length=1)
    zone: Zone | None = Field(default=None, description="primary zone (not for routers)")
    legs: list[Zone] = Field(default=[], description="extra zones the host has a leg in")
    router: bool = Field(default=False, description="the site router: a leg in every zone")
    forwarding: bool = Field(default=False, description="IP forwarding (routers always on)")
    roles: list[str] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, v: list[str]) -> list[str]:
        for role in v:
            if role not in RESERVED_ROLES and not re.fullmatch(r"[a-z][a-z0-9_]*", role):
                raise ValueError(f"role {role!r} is not a valid role name")
        return v


class ServiceSpec(_Strict):
    """A DNS service name with a VIP per site; the drill runner repoints it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    zone: Zone
    sites: list[SiteName] = Field(min_length=1)
    primary: SiteName


class LabProfile(_Strict):
    domain: str = Field(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
    transit: str = Field(description="lab-only transit range for the inter-site links")
    sites: dict[SiteName, str] = Field(description="site -> short name used in host names")
    hosts: list[HostSpec] = Field(min_length=1)
    services: list[ServiceSpec] = []
    mirror: bool = Field(
        default=False,
        description="whether the lab serves cloud.yaml's internal mirrors (it does not: hosts "
        "install from the image's pre-downloaded packages, so automatic security upgrades and "
        "signature downloads are configured but switched off, and reported as such)",
    )

    @field_validator("transit")
    @classmethod
    def _transit(cls, v: str) -> str:
        try:
            net = ipaddress.ip_network(v, strict=True)
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a valid network CIDR ({exc})") from exc
        if not net.is_private:
            raise ValueError(f"{v} is not a private range")
        return v


def check_profile(profile: LabProfile, estate: Estate) -> list[Problem]:
    """Cross-checks against the estate: the rules a schema alone cannot express."""
    problems: list[Problem] = []
    f = PROFILE_FILE
    transit = ipaddress.ip_network(profile.transit)
    for zone in estate.zones:
        for site, cidr in zone.cidrs.items():
            if transit.overlaps(ipaddress.ip_network(cidr)):
                problems.append(
                    Problem(f, "transit", "cidr-overlap",
                            f"{transit} overlaps zone {zone.name} on {site} ({cidr})")
                )
    if len(list(transit.subnets(new_prefix=30))) < len(estate.links):
        problems.append(Problem(f, "transit", "lab-transit-size",
                                f"{transit} has fewer /30s than the {len(estate.links)} links"))
    for site in estate.sites:
        if site.name not in profile.sites:
            problems.append(Problem(f, "sites", "lab-site-missing",
                                    f"site {site.name} has no short name"))
    shorts = list(profile.sites.values())
    for short in shorts:
        if shorts.count(short) > 1 or not re.fullmatch(r"[a-z][a-z0-9]{0,5}", short):
            problems.append(Problem(f, "sites", "lab-site-short",
                                    f"short name {short!r} must be unique, [a-z][a-z0-9]{{0,5}}"))
    seen: set[tuple[SiteName, str]] = set()
    routers: dict[SiteName, int] = {}
    for i, spec in enumerate(profile.hosts):
        at = field_path("hosts", i)
        for site in spec.sites:
            if (site, spec.function) in seen:
                problems.append(Problem(f, at + ".function", "duplicate-name",
                                        f"host {spec.function} listed twice on {site}"))
            seen.add((site, spec.function))
            if spec.router:
                routers[site] = routers.get(site, 0) + 1
        if spec.router and (spec.zone or spec.legs):
            problems.append(Problem(f, at, "lab-router-zone",
                                    "a router has a leg in every zone; do not set zone/legs"))
        if not spec.router and spec.zone is None:
            problems.append(Problem(f, at + ".zone", "missing-field",
                                    f"host {spec.function} needs a zone"))
        if spec.zone is not None and spec.zone in spec.legs:
            problems.append(Problem(f, at + ".legs", "lab-leg-twice",
                                    f"{spec.zone} is already the primary zone"))
        for j, role in enumerate(spec.roles):
            if role not in RESERVED_ROLES and not (_roles_dir() / role / "__init__.py").is_file():
                problems.append(Problem(f, field_path("hosts", i, "roles", j), "unknown-role",
                                        f"role {role!r} is neither reserved nor in roles/"))
            kind = ROLE_APPLIANCE.get(role)
            for site in spec.sites if kind else ():
                if not estate.appliances_at(site, kind):
                    problems.append(Problem(
                        f, field_path("hosts", i, "roles", j), "lab-appliance-missing",
                        f"role {role} stands in for a {kind} appliance, but the estate has "
                        f"none at {site} (appliances.yaml)"))
    for site in estate.sites:
        if routers.get(site.name, 0) != 1:
            problems.append(Problem(f, "hosts", "lab-router",
                                    f"site {site.name} needs exactly one router host"))
    for i, svc in enumerate(profile.services):
        if svc.primary not in svc.sites:
            problems.append(Problem(f, field_path("services", i, "primary"), "lab-service-primary",
                                    f"primary {svc.primary} is not one of the service's sites"))
    return problems


def _roles_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "roles"


def load_profile(estate: Estate, path: Path | None = None) -> LabProfile:
    """Load ``lab.yaml`` next to the estate data; raise :class:`EstateError` if invalid."""
    root = Path(estate.root)
    path = path or root / PROFILE_FILE
    problems: list[Problem] = []
    profile = _parse(LabProfile, path, root, problems)
    if profile is not None:
        problems += check_profile(profile, estate)
    if problems or profile is None:
        raise EstateError(problems)
    return profile
