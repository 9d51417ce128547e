"""Typed shape of the estate data.

One pydantic model per concept, ``extra="forbid"`` everywhere so an unknown key in a
YAML file is an error rather than an ignored typo. Cross-object rules (references,
overlaps, capacity) live in :mod:`govcloud.model.rules`: the schema only says what a
single object must look like.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from decimal import Decimal
from functools import cached_property
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from govcloud.model.crypto import CryptoChannel
from govcloud.model.enums import (
    AdminRole,
    ApplianceKind,
    ComponentKind,
    Direction,
    DrTier,
    External,
    FlowMode,
    HaMode,
    LifecycleState,
    MlpsLevel,
    PlacementRole,
    ProbeScheme,
    ProbeType,
    ProbeUse,
    Protocol,
    Region,
    SiteName,
    SiteRole,
    Zone,
)
from govcloud.model.quantity import Bandwidth, Bytes, Cpu, PositiveBytes, PositiveCpu

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


# --------------------------------------------------------------------------- cloud


URL_PATTERN = r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$"


class Mirrors(Strict):
    """The cloud's internal mirrors. Hosts have no route to the internet, so security
    updates and malware signatures reach them only from here; the ``mirror-internal``
    rule keeps every URL inside the cloud's own domain (the registry's parent domain)."""

    debian: str = Field(pattern=URL_PATTERN, description="Debian release archive")
    debian_security: str = Field(pattern=URL_PATTERN, description="Debian security archive")
    clamav: str = Field(pattern=URL_PATTERN, description="ClamAV signature mirror")


class LoginBanner(Strict):
    """The legal warning shown before login (``/etc/issue``, ``/etc/issue.net``, sshd
    ``Banner``). Terms only: the ``banner-system-info`` rule refuses text that tells an
    attacker what the host runs."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Cloud(Strict):
    """The cloud as a graded system: it may not host systems above its own MLPS level."""

    name: str
    title: str
    mlps_level: MlpsLevel
    dr_edition: str = Field(description="GB/T 20988 edition whose targets are in force")
    audit_retention_days: int = Field(ge=1)
    registry: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9](:[0-9]+)?(/[a-z0-9._-]+)*$",
        description="container registry the departments' workload images are pulled from",
    )
    mirrors: Mirrors
    login_banner: LoginBanner

    @property
    def domain(self) -> str:
        """The cloud's own DNS domain: the parent of the registry's host name."""
        host = self.registry.split("/", 1)[0].split(":", 1)[0]
        return host.split(".", 1)[1] if "." in host else host

    @field_validator("mlps_level", mode="before")
    @classmethod
    def _level_number(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


# --------------------------------------------------------------------------- sites


class Capacity(Strict):
    vcpu: Cpu
    memory: Bytes
    storage: Bytes
    public_ips: int = Field(ge=0)
    bandwidth: Bandwidth
    hosts: int = Field(
        default=1, ge=1, le=5000,
        description="compute hosts the vcpu/memory pool is spread over (equal hosts)",
    )
    pods_per_host: int = Field(default=110, ge=1, le=1000)
    failure_domains: int = Field(
        default=1, ge=1, le=64,
        description="rooms or rack rows the hosts are spread over (power, cooling, ToR "
        "switches); a dual-active system's replicas are spread over them too",
    )


class Overcommit(Strict):
    """Allocatable = physical capacity x ratio. Memory is never over-committed here."""

    cpu: Decimal = Field(ge=1, le=8)
    memory: Decimal = Field(ge=1, le=1)
    storage: Decimal = Field(ge=1, le=3)


class Site(Strict):
    name: SiteName
    title: str
    region: Region
    role: SiteRole
    city: str
    capacity: Capacity
    overcommit: Overcommit

    def allocatable(self) -> dict[str, Decimal]:
        """Resources that may be promised to departments on this site."""
        c, o = self.capacity, self.overcommit
        return {
            "vcpu": c.vcpu * o.cpu,
            "memory": Decimal(c.memory) * o.memory,
            "storage": Decimal(c.storage) * o.storage,
            "public_ips": Decimal(c.public_ips),
            "bandwidth": c.bandwidth,
        }

    def failure_domain(self, host: int) -> str:
        """The failure domain of compute host ``host`` (0-based): hosts alternate over them.

        This is the value of the nodes' ``topology.kubernetes.io/zone`` label; with one
        domain it is the site's name.
        """
        n = self.capacity.failure_domains
        return str(self.name) if n == 1 else f"{self.name}-fd{host % n + 1}"

    def host_allocatable(self) -> dict[str, Decimal | int]:
        """One compute host's share of :meth:`allocatable` (what a Kubernetes node offers).

        The pool is split evenly over ``capacity.hosts``; rounding is down, so the
        hosts together never offer more than the site has.
        """
        alloc, n = self.allocatable(), self.capacity.hosts
        return {
            "vcpu": (alloc["vcpu"] * 1000 // n) / 1000,
            "memory": alloc["memory"] // n,
            "pods": self.capacity.pods_per_host,
        }


class Link(Strict):
    """A network link between two sites (the lab shapes it to ``bandwidth``)."""

    name: Slug
    a: SiteName
    b: SiteName
    kind: str = Field(description="e.g. same-city dark fibre, inter-region MPLS")
    bandwidth: Bandwidth
    latency_ms: Decimal = Field(ge=0)


class SitesFile(Strict):
    sites: list[Site]
    links: list[Link]


# --------------------------------------------------------------------------- zones


class CidrError(ValueError):
    """A zone subnet that is not a private network CIDR (rule ``invalid-cidr``)."""


def _private_cidr(text: str) -> str:
    """Validate one zone subnet; checked per site so the error names the site's key."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise CidrError(f"{text!r} is not a valid network CIDR ({exc})") from exc
    if not net.is_private:
        raise CidrError(f"{text} is not a private range")
    return text


Cidr = Annotated[str, AfterValidator(_private_cidr)]


class ZoneDef(Strict):
    name: Zone
    title: str
    purpose: str
    cidrs: dict[SiteName, Cidr] = Field(description="the zone's subnet on each site")

    def network(self, site: SiteName) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidrs[site])


class ZonesFile(Strict):
    zones: list[ZoneDef]


# --------------------------------------------------------------------------- flows


class Port(Strict):
    protocol: Protocol
    port: int | None = Field(default=None, ge=1, le=65535)

    @classmethod
    def parse(cls, text: str) -> Port:
        proto, _, port = text.partition("/")
        return cls(protocol=Protocol(proto), port=int(port) if port else None)

    def __str__(self) -> str:
        return f"{self.protocol}/{self.port}" if self.port else str(self.protocol)


Endpoint = Zone | External


class Flow(Strict):
    """One allowed flow. Anything not in the matrix is denied."""

    id: Slug
    description: str
    source: Endpoint
    destination: Endpoint
    ports: list[Port]
    direction: Direction = Direction.ONE_WAY
    mode: FlowMode = FlowMode.INTERACTIVE
    chain: list[ApplianceKind] = Field(description="appliances traversed, in order")
    same_department: bool = Field(
        default=True,
        description="pod-to-pod flows only within one department; shared services set false",
    )

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, v: object) -> object:
        if isinstance(v, list):
            out = []
            for item in v:
                if isinstance(item, str):
                    try:
                        out.append(Port.parse(item))
                    except ValueError as exc:
                        raise ValueError(
                            f"port {item!r} is not '<tcp|udp|icmp>[/<1-65535>]'"
                        ) from exc
                else:
                    out.append(item)
            return out
        return v

    @property
    def zone_to_zone(self) -> bool:
        return isinstance(self.source, Zone) and isinstance(self.destination, Zone)

    def touches(self, a: Endpoint, b: Endpoint) -> bool:
        return {self.source, self.destination} == {a, b}


class FlowsFile(Strict):
    flows: list[Flow]


# --------------------------------------------------------------------------- appliances


class Appliance(Strict):
    """A security appliance on a site. Where it sits is not declared twice: an inline
    appliance is placed by the flow chains (``flows.yaml``) that name its kind; a passive
    one (``ApplianceKind.passive``) names the flows it ``observes``. ``Estate.edges_of``
    derives the zone boundaries either way."""

    name: Slug
    kind: ApplianceKind
    site: SiteName
    observes: list[str] = Field(
        default=[], description="passive kinds only: ids of the flows it sees a copy of")
    edges: list[tuple[Endpoint, Endpoint]] | None = Field(
        default=None, description="no longer accepted: derived (rule appliance-edges)")
    ha: HaMode
    stand_in: str = Field(description="what the lab and roles deploy in its place, or "
                          "'not deployed' and what is planned")


class AntiDdos(Strict):
    """Thresholds of the anti-DDoS stand-in, per source address, for every port of the
    flows whose chain names ``anti-ddos``. A source over a rate joins the offenders set
    and is dropped on every port until ``offender_seconds`` pass without it returning."""

    new_connections_per_second: int = Field(ge=1, description="validated handshakes/s")
    new_connections_burst: int = Field(ge=1)
    concurrent_connections: int = Field(ge=1, description="open connections at once")
    packets_per_second: int = Field(ge=1)
    packets_burst: int = Field(ge=1)
    offender_seconds: int = Field(ge=1, le=86400)


class AppliancesFile(Strict):
    anti_ddos: AntiDdos
    appliances: list[Appliance]


# --------------------------------------------------------------------------- DR tiers


class JobSize(Strict):
    """Resources of one run-to-completion job pod (e.g. a nightly backup)."""

    cpu: PositiveCpu
    memory: PositiveBytes


class TierDef(Strict):
    name: DrTier
    title: str
    gbt20988_level: int = Field(ge=1, le=6)
    rpo_seconds: int = Field(ge=0, description="in-city recovery point objective")
    rto_seconds: int = Field(ge=0, description="in-city recovery time objective")
    offsite_rpo_seconds: int = Field(ge=0, description="RPO when the whole region A is lost")
    offsite_rto_seconds: int = Field(ge=0, description="RTO when the whole region A is lost")
    placement: dict[SiteName, PlacementRole]
    standby_scale: Decimal = Field(
        ge=0, le=1, description="share of the active footprint kept running on standby sites"
    )
    in_city_replication: str
    off_site_replication: str
    backup_schedule: str | None = None
    backup_job: JobSize | None = Field(
        default=None,
        description="size of the backup job pod; it counts against the department's quota",
    )

    def sites(self, role: PlacementRole) -> list[SiteName]:
        return [s for s, r in self.placement.items() if r == role]


class LevelDef(Strict):
    level: int = Field(ge=1, le=6)
    title: str
    rpo: str
    rto: str
    # Machine-readable upper bounds of the level's ranges (None = the standard sets no
    # upper bound, e.g. "RTO 2 days or more"); policies compare tiers' targets with them.
    rpo_max_seconds: int | None = Field(default=None, ge=0)
    rto_max_seconds: int | None = Field(default=None, ge=0)


class Edition(Strict):
    standard: str
    effective: dt.date
    superseded: dt.date | None = None
    note: str = ""
    levels: list[LevelDef] = []


class BatchLoad(Strict):
    """A bulk write (tax / social-security month-end batch): one multi-hundred-MB insert."""

    megabytes: int = Field(ge=1, le=4096, description="table data written by the batch")
    max_seconds: int = Field(ge=1, le=900, description="the batch stops by itself after this")


class PeakLoad(Strict):
    """The month-end peak the lab is loaded with to watch the off-site link fall behind
    (lab only, bounded in size and time)."""

    batch: BatchLoad


class DrTiersFile(Strict):
    editions: list[Edition]
    tiers: list[TierDef]
    peak_load: PeakLoad | None = None


# --------------------------------------------------------------------------- departments


class Contact(Strict):
    name: str
    phone: str
    email: str
    role: str | None = Field(default=None, description="e.g. ops on-call, security officer")


# --------------------------------------------------------------------------- workloads


class ProbeSpec(Strict):
    """A probe as written in the data: every field optional, merged over the kind default.

    Timing is in seconds, as the kubelet counts it. ``period`` and ``timeout`` are plain
    integers so that a non-positive value reaches the ``probe-period`` rule (file, field,
    message) instead of a generic schema error.
    """

    type: ProbeType | None = None
    path: str | None = Field(default=None, pattern=r"^/[^\s]*$")
    scheme: ProbeScheme | None = None
    command: list[str] | None = Field(default=None, min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    initial_delay: int | None = Field(default=None, ge=0)
    period: int | None = None
    timeout: int | None = None
    failure_threshold: int | None = Field(default=None, ge=1)


class Probe(Strict):
    """An effective probe: the kind default with the component's override applied."""

    type: ProbeType
    port: int
    path: str | None = None
    scheme: ProbeScheme = ProbeScheme.HTTP
    command: tuple[str, ...] | None = None
    initial_delay: int = 0
    period: int = 10
    timeout: int = 1
    failure_threshold: int = 3

    @property
    def budget_seconds(self) -> int:
        """How long a container that never answers survives this probe."""
        return self.initial_delay + self.period * self.failure_threshold


class ProbePlan(Strict):
    """A component's probes (overrides in a department file; defaults per kind).

    ``start_seconds`` is the worst case the component may take to start (a database
    replaying WAL, a JVM warming up): the liveness probe must not kill it sooner.
    """

    start_seconds: int | None = Field(default=None, ge=0)
    liveness: ProbeSpec | None = None
    readiness: ProbeSpec | None = None
    startup: ProbeSpec | None = None

    def spec(self, use: ProbeUse) -> ProbeSpec | None:
        return getattr(self, use.value)


class KindProbes(ProbePlan):
    """The default probes of one component kind: liveness and readiness are required."""

    start_seconds: int = Field(ge=0)
    liveness: ProbeSpec
    readiness: ProbeSpec


TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


class Image(Strict):
    """What a component runs: a repository in the cloud registry, pinned by digest.

    ``repository`` defaults to ``<department>/<system>/<component>`` under the cloud's
    registry (``cloud.yaml``); a repository whose first part names a host
    (``docker.io/...``) is outside it, which the ``image-registry`` rule refuses. The tag
    is for humans; the digest is what the manifests reference (``repo@sha256:...``).
    """

    repository: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._:/-]*$")
    tag: str = Field(pattern=TAG_PATTERN)
    digest: str | None = None

    def reference(self, registry: str, default_path: str) -> str:
        """``<registry>/<path>@<digest>``, or the repository as written if it names a host."""
        repo = self.repository or default_path
        if not repository_host(repo):
            repo = f"{registry}/{repo}"
        return f"{repo}@{self.digest}"


def stand_in_image(path: str, tag: str = "1.0.0") -> dict[str, str]:
    """A well-formed image entry for generated estates (bench, tests, samples).

    The digest is the SHA-256 of ``path:tag``: stable across runs, so a generated plan
    is reproducible. Real departments give the digest their registry reports.
    """
    digest = hashlib.sha256(f"{path}:{tag}".encode()).hexdigest()
    return {"tag": tag, "digest": f"sha256:{digest}"}


def repository_host(repository: str) -> str | None:
    """The registry host a repository names, as Docker reads references (else None)."""
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


class WorkloadsFile(Strict):
    """What every workload gets unless its department file says otherwise."""

    probes: dict[ComponentKind, KindProbes]
    platform_images: dict[Slug, Image] = Field(
        description="the platform's own tools (backup jobs), pinned like tenants' images"
    )


class Component(Strict):
    """One workload of a system; becomes a Deployment/StatefulSet in the zone's namespace."""

    name: Slug
    kind: ComponentKind
    zone: Zone
    replicas: int = Field(default=2, ge=1, le=64)
    cpu: PositiveCpu
    memory: PositiveBytes
    storage: Bytes = 0
    port: int = Field(default=8080, ge=1, le=65535)
    image: Image | None = Field(
        default=None, description="required: the image-missing rule says so with a message"
    )
    probes: ProbePlan | None = Field(default=None, description="overrides of the kind default")

    def effective_probes(self, defaults: KindProbes) -> dict[ProbeUse, Probe]:
        """The probes the manifests carry: kind default, then this component's override.

        A field the override sets replaces the default's; a type change drops the old
        type's path or command. A startup probe added by the override alone inherits the
        liveness type. The port is the component's unless a probe names another.
        """
        out: dict[ProbeUse, Probe] = {}
        for use in ProbeUse:
            base = defaults.spec(use)
            over = self.probes.spec(use) if self.probes else None
            if base is None and over is None:
                continue
            merged: dict[str, object] = {}
            for spec in (base, over):
                if spec is None:
                    continue
                fields = spec.model_dump(exclude_none=True)
                if "type" in fields and fields["type"] != merged.get("type"):
                    merged.pop("path", None)
                    merged.pop("command", None)
                merged.update(fields)
            merged.setdefault("type", defaults.liveness.type)
            merged.setdefault("port", self.port)
            if merged.get("command") is not None:
                merged["command"] = tuple(merged["command"])  # type: ignore[arg-type]
            out[use] = Probe.model_validate(merged)
        return out

    def start_seconds(self, defaults: KindProbes) -> int:
        if self.probes and self.probes.start_seconds is not None:
            return self.probes.start_seconds
        return defaults.start_seconds

    @property
    def stateful(self) -> bool:
        return (
            self.kind
            in {
                ComponentKind.DATABASE,
                ComponentKind.CACHE,
                ComponentKind.QUEUE,
                ComponentKind.FILE_STORE,
            }
            or self.storage > 0
        )


class Lifecycle(Strict):
    state: LifecycleState
    applied: dt.date
    reviewed: dt.date | None = None
    testing: dt.date | None = None
    provisioned: dt.date | None = None
    reclaimed: dt.date | None = None


class Resources(Strict):
    """A resource total; every request and capacity figure is one of these."""

    vcpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    storage: Decimal = Decimal(0)
    public_ips: Decimal = Decimal(0)
    bandwidth: Decimal = Decimal(0)

    def __add__(self, other: Resources) -> Resources:
        return Resources(**{k: getattr(self, k) + getattr(other, k) for k in RESOURCE_KEYS})

    def scaled(self, factor: Decimal) -> Resources:
        return Resources(**{k: getattr(self, k) * factor for k in RESOURCE_KEYS})

    def as_dict(self) -> dict[str, Decimal]:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}


RESOURCE_KEYS = ("vcpu", "memory", "storage", "public_ips", "bandwidth")


class System(Strict):
    name: Slug
    title: str
    mlps_level: MlpsLevel
    dr_tier: DrTier
    wave: int = Field(ge=1, le=10, description="migration wave")
    owner: Contact
    contacts: list[Contact] = Field(
        default_factory=list, description="further contacts besides the owner (ops, security)"
    )
    components: list[Component] = Field(min_length=1)
    public_ips: int = Field(default=0, ge=0)
    bandwidth: Bandwidth = Decimal(0)
    lifecycle: Lifecycle

    @field_validator("mlps_level", mode="before")
    @classmethod
    def _level_number(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @property
    def zones(self) -> list[Zone]:
        """Zones the system occupies, derived from its components (never declared twice)."""
        seen: list[Zone] = []
        for c in self.components:
            if c.zone not in seen:
                seen.append(c.zone)
        return seen

    def request(self) -> Resources:
        """Total active footprint of one copy of the system."""
        return Resources(
            vcpu=sum((c.cpu * c.replicas for c in self.components), Decimal(0)),
            memory=Decimal(sum(c.memory * c.replicas for c in self.components)),
            storage=Decimal(sum(c.storage * c.replicas for c in self.components)),
            public_ips=Decimal(self.public_ips),
            bandwidth=self.bandwidth,
        )

    @property
    def live(self) -> bool:
        """Holds resources: everything but a reclaimed system."""
        return self.lifecycle.state != LifecycleState.RECLAIMED


class Groups(Strict):
    """Directory groups bound to the department's Kubernetes roles."""

    admins: str
    auditors: str


class Department(Strict):
    """A 委办局 and the systems it migrates. One file per department under departments/."""

    name: Slug
    title: str
    groups: Groups
    contact: Contact
    systems: list[System] = Field(min_length=1)

    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        return self._source


# --------------------------------------------------------------------------- operators


class Operator(Strict):
    """A cloud administrator; 三权分立 forbids one person holding two duties."""

    name: Slug
    full_name: str
    roles: list[AdminRole] = Field(min_length=1)
    mfa: list[str] = Field(description="authentication factors, e.g. ssh-key, totp")


class OperatorsFile(Strict):
    operators: list[Operator]


# --------------------------------------------------------------------------- the estate


class Estate(Strict):
    """The whole estate, validated. Build it with :func:`govcloud.model.load_estate`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    root: str
    cloud: Cloud
    sites: list[Site]
    links: list[Link]
    zones: list[ZoneDef]
    flows: list[Flow]
    appliances: list[Appliance]
    anti_ddos: AntiDdos
    editions: list[Edition]
    tiers: list[TierDef]
    peak_load: PeakLoad | None = Field(default=None, description="dr-tiers.yaml peak_load")
    departments: list[Department]
    operators: list[Operator]
    workloads: WorkloadsFile
    crypto: list[CryptoChannel] = Field(default=[], description="crypto profile (crypto.yaml)")

    # ---- look-ups (the only way other layers should reach into the estate)

    @cached_property
    def site_by_name(self) -> dict[SiteName, Site]:
        return {s.name: s for s in self.sites}

    @cached_property
    def zone_by_name(self) -> dict[Zone, ZoneDef]:
        return {z.name: z for z in self.zones}

    @cached_property
    def tier_by_name(self) -> dict[DrTier, TierDef]:
        return {t.name: t for t in self.tiers}

    def site(self, name: SiteName | str) -> Site:
        return self.site_by_name[SiteName(name)]

    def zone(self, name: Zone | str) -> ZoneDef:
        return self.zone_by_name[Zone(name)]

    def tier(self, name: DrTier | str) -> TierDef:
        return self.tier_by_name[DrTier(name)]

    def systems(self) -> list[tuple[Department, System]]:
        return [(d, s) for d in self.departments for s in d.systems]

    def placement(self, system: System) -> dict[SiteName, PlacementRole]:
        return dict(self.tier(system.dr_tier).placement)

    def footprint(
        self, system: System, site: SiteName, *, ignore_lifecycle: bool = False
    ) -> Resources:
        """Resources the system holds on ``site`` under its DR tier (zero if not placed).

        A reclaimed system holds nothing; ``ignore_lifecycle`` gives what it held while
        live (metering bills the days before the reclaim).
        """
        tier = self.tier(system.dr_tier)
        role = tier.placement.get(site)
        if role is None or not (system.live or ignore_lifecycle):
            return Resources()
        if role == PlacementRole.ACTIVE:
            return system.request()
        if role == PlacementRole.STANDBY:
            return system.request().scaled(tier.standby_scale)
        # a backup copy holds storage only
        return Resources(storage=system.request().storage)

    def appliances_at(self, site: SiteName, kind: ApplianceKind | None = None) -> list[Appliance]:
        return [a for a in self.appliances if a.site == site and (kind is None or a.kind == kind)]

    def flows_of(self, appliance: Appliance) -> list[Flow]:
        """The flows an appliance handles: those whose chain names its kind (inline), or
        those it observes (passive)."""
        if appliance.kind.passive:
            return [f for f in self.flows if f.id in appliance.observes]
        return [f for f in self.flows if appliance.kind in f.chain]

    def edges_of(self, appliance: Appliance) -> list[tuple[Endpoint, Endpoint]]:
        """Zone boundaries (source side, destination side) the appliance sits on or
        watches, derived from :meth:`flows_of` (sorted, each once)."""
        pairs = {(f.source, f.destination) for f in self.flows_of(appliance)}
        return sorted(pairs, key=lambda e: (str(e[0]), str(e[1])))

    def zone_flows(self) -> list[Flow]:
        return [f for f in self.flows if f.zone_to_zone]
