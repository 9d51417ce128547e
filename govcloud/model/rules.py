"""Cross-object validation rules of the estate.

Each rule is a function registered with :func:`rule`; it receives the assembled estate
and yields :class:`Problem` objects naming the file, field and rule id. The rule ids
are stable: tests, waivers and docs refer to them. Rules encode the standards facts in
DESIGN.md (gatekeeper between internet and extranet zones, isolated dedicated VPNs,
no level-4 system, bastion-only management), so a bad estate never reaches a stack.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from govcloud.model.enums import (
    ApplianceKind,
    ComponentKind,
    Direction,
    DrTier,
    External,
    FlowMode,
    LifecycleState,
    ProbeType,
    ProbeUse,
    SiteName,
    Zone,
)
from govcloud.model.problems import Problem, field_path
from govcloud.model.quantity import format_bytes
from govcloud.model.schema import (
    RESOURCE_KEYS,
    Component,
    Department,
    Estate,
    Image,
    KindProbes,
    Probe,
    ProbeSpec,
    System,
)

SITES_FILE = "sites.yaml"
ZONES_FILE = "zones.yaml"
FLOWS_FILE = "flows.yaml"
APPLIANCES_FILE = "appliances.yaml"
TIERS_FILE = "dr-tiers.yaml"
CLOUD_FILE = "cloud.yaml"
OPERATORS_FILE = "operators.yaml"
WORKLOADS_FILE = "workloads.yaml"

# Zones that hold departments' own workloads (as opposed to shared operations zones).
DEPARTMENT_ZONES = {Zone.INTERNET, Zone.EXTRANET, Zone.DEDICATED}
# Log shipping, name and time service: the collection flows every zone sends to the
# security-management zone. They carry no administrative session, so no bastion.
COLLECTION_PORTS = {514, 6514, 53, 123}

RuleFn = Callable[[Estate], Iterable[Problem]]
RULES: dict[str, RuleFn] = {}


def rule(rule_id: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES[rule_id] = fn
        return fn

    return register


def check(estate: Estate) -> list[Problem]:
    """Run every registered rule; return all problems (empty list = valid)."""
    problems: list[Problem] = []
    for fn in RULES.values():
        problems.extend(fn(estate))
    return problems


def _dupes(names: Iterable[str]) -> set[str]:
    return {n for n, count in Counter(names).items() if count > 1}


# --------------------------------------------------------------------------- names


@rule("duplicate-name")
def duplicate_names(estate: Estate) -> Iterator[Problem]:
    # (file, section, the key that names an item, the names in order)
    sections: list[tuple[str, str, str, list[str]]] = [
        (SITES_FILE, "sites", "name", [s.name for s in estate.sites]),
        (SITES_FILE, "links", "name", [link.name for link in estate.links]),
        (ZONES_FILE, "zones", "name", [z.name for z in estate.zones]),
        (FLOWS_FILE, "flows", "id", [f.id for f in estate.flows]),
        (APPLIANCES_FILE, "appliances", "name", [a.name for a in estate.appliances]),
        (TIERS_FILE, "tiers", "name", [t.name for t in estate.tiers]),
        (OPERATORS_FILE, "operators", "name", [o.name for o in estate.operators]),
    ]
    for file, section, key, names in sections:
        dupes = _dupes(names)
        for i, name in enumerate(names):
            if name in dupes:
                yield Problem(
                    file,
                    field_path(section, i, key),
                    "duplicate-name",
                    f"{section[:-1]} {name!r} is declared more than once",
                )
    dept_dupes = _dupes(d.name for d in estate.departments)
    for d in estate.departments:
        if d.name in dept_dupes:
            yield Problem(
                d.source,
                "name",
                "duplicate-name",
                f"department {d.name!r} is declared in more than one file",
            )
        sys_dupes = _dupes(s.name for s in d.systems)
        for i, s in enumerate(d.systems):
            if s.name in sys_dupes:
                yield Problem(
                    d.source,
                    field_path("systems", i, "name"),
                    "duplicate-name",
                    f"system {s.name!r} is declared more than once in {d.name}",
                )
            comp_dupes = _dupes(c.name for c in s.components)
            for j, c in enumerate(s.components):
                if c.name in comp_dupes:
                    yield Problem(
                        d.source,
                        field_path("systems", i, "components", j, "name"),
                        "duplicate-name",
                        f"component {c.name!r} appears twice in system {s.name}",
                    )


@rule("department-file-name")
def department_file_name(estate: Estate) -> Iterator[Problem]:
    for d in estate.departments:
        stem = d.source.rsplit("/", 1)[-1].removesuffix(".yaml")
        if d.source and stem != d.name:
            yield Problem(
                d.source,
                "name",
                "department-file-name",
                f"department {d.name!r} must live in departments/{d.name}.yaml",
            )


# --------------------------------------------------------------------------- references


@rule("unknown-site")
def unknown_sites(estate: Estate) -> Iterator[Problem]:
    known = set(estate.site_by_name)
    for i, link in enumerate(estate.links):
        for end in ("a", "b"):
            if getattr(link, end) not in known:
                yield Problem(
                    SITES_FILE,
                    field_path("links", i, end),
                    "unknown-site",
                    f"link {link.name} refers to site {getattr(link, end)!s} "
                    "which sites.yaml does not define",
                )
    for i, a in enumerate(estate.appliances):
        if a.site not in known:
            yield Problem(
                APPLIANCES_FILE,
                field_path("appliances", i, "site"),
                "unknown-site",
                f"appliance {a.name} is placed on undefined site {a.site!s}",
            )
    for i, t in enumerate(estate.tiers):
        for site in t.placement:
            if site not in known:
                yield Problem(
                    TIERS_FILE,
                    field_path("tiers", i, "placement", str(site)),
                    "unknown-site",
                    f"tier {t.name!s} places systems on undefined site {site!s}",
                )
    for i, z in enumerate(estate.zones):
        for site in z.cidrs:
            if site not in known:
                yield Problem(
                    ZONES_FILE,
                    field_path("zones", i, "cidrs", str(site)),
                    "unknown-site",
                    f"zone {z.name!s} has a CIDR for undefined site {site!s}",
                )


@rule("missing-definition")
def missing_definitions(estate: Estate) -> Iterator[Problem]:
    """The vocabulary is closed: every site, zone and tier must be defined exactly once."""
    for site in SiteName:
        if site not in estate.site_by_name:
            yield Problem(
                SITES_FILE, "sites", "missing-definition", f"site {site!s} is not defined"
            )
    for zone in Zone:
        if zone not in estate.zone_by_name:
            yield Problem(
                ZONES_FILE, "zones", "missing-definition", f"zone {zone!s} is not defined"
            )
    for tier in DrTier:
        if tier not in estate.tier_by_name:
            yield Problem(
                TIERS_FILE, "tiers", "missing-definition", f"DR tier {tier!s} is not defined"
            )
    for i, z in enumerate(estate.zones):
        for site in estate.site_by_name:
            if site not in z.cidrs:
                yield Problem(
                    ZONES_FILE,
                    field_path("zones", i, "cidrs"),
                    "missing-definition",
                    f"zone {z.name!s} has no CIDR on site {site!s}",
                )
    editions = {e.standard for e in estate.editions}
    if estate.cloud.dr_edition not in editions:
        yield Problem(
            CLOUD_FILE,
            "dr_edition",
            "missing-definition",
            f"DR edition {estate.cloud.dr_edition!r} is not among the editions in "
            f"{TIERS_FILE} ({', '.join(sorted(editions))})",
        )


@rule("unknown-zone")
def unknown_zones(estate: Estate) -> Iterator[Problem]:
    known = set(estate.zone_by_name)
    for i, f in enumerate(estate.flows):
        for end in ("source", "destination"):
            v = getattr(f, end)
            if isinstance(v, Zone) and v not in known:
                yield Problem(
                    FLOWS_FILE,
                    field_path("flows", i, end),
                    "unknown-zone",
                    f"flow {f.id} refers to zone {v!s} which zones.yaml does not define",
                )
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            for j, c in enumerate(s.components):
                if c.zone not in known:
                    yield Problem(
                        d.source,
                        field_path("systems", i, "components", j, "zone"),
                        "unknown-zone",
                        f"component {c.name} is placed in undefined zone {c.zone!s}",
                    )


@rule("unknown-dr-tier")
def unknown_tiers(estate: Estate) -> Iterator[Problem]:
    known = set(estate.tier_by_name)
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            if s.dr_tier not in known:
                yield Problem(
                    d.source,
                    field_path("systems", i, "dr_tier"),
                    "unknown-dr-tier",
                    f"system {s.name} asks for DR tier {s.dr_tier!s} which "
                    f"{TIERS_FILE} does not define",
                )


@rule("link-self")
def link_self(estate: Estate) -> Iterator[Problem]:
    for i, link in enumerate(estate.links):
        if link.a == link.b:
            yield Problem(
                SITES_FILE,
                field_path("links", i),
                "link-self",
                f"link {link.name} joins site {link.a!s} to itself",
            )


# --------------------------------------------------------------------------- addressing


@rule("cidr-overlap")
def cidr_overlap(estate: Estate) -> Iterator[Problem]:
    nets = [
        (i, z.name, site, z.network(site)) for i, z in enumerate(estate.zones) for site in z.cidrs
    ]
    for (i, za, sa, na), (_, zb, sb, nb) in itertools.combinations(nets, 2):
        if na.version == nb.version and na.overlaps(nb):
            yield Problem(
                ZONES_FILE,
                field_path("zones", i, "cidrs", str(sa)),
                "cidr-overlap",
                f"{na} ({za!s} on {sa!s}) overlaps {nb} ({zb!s} on {sb!s})",
            )


# --------------------------------------------------------------------------- flow matrix


@rule("flow-no-chain")
def flow_no_chain(estate: Estate) -> Iterator[Problem]:
    for i, f in enumerate(estate.flows):
        if not f.chain:
            yield Problem(
                FLOWS_FILE,
                field_path("flows", i, "chain"),
                "flow-no-chain",
                f"flow {f.id} ({f.source!s} -> {f.destination!s}) names no appliance "
                "chain; every inter-zone flow must traverse at least a firewall",
            )


@rule("flow-gatekeeper")
def flow_gatekeeper(estate: Estate) -> Iterator[Problem]:
    """互联网区 <-> 政务外网区 only through the 网闸, one way, as a ferry (no sessions)."""
    for i, f in enumerate(estate.flows):
        if not f.touches(Zone.INTERNET, Zone.EXTRANET):
            continue
        where = field_path("flows", i)
        if ApplianceKind.GATEKEEPER not in f.chain:
            yield Problem(
                FLOWS_FILE,
                where + ".chain",
                "flow-gatekeeper",
                f"flow {f.id} joins the internet zone and the extranet zone without "
                "the gatekeeper (网闸) in its chain",
            )
        if f.mode != FlowMode.FERRY:
            yield Problem(
                FLOWS_FILE,
                where + ".mode",
                "flow-gatekeeper",
                f"flow {f.id} crosses the gatekeeper interactively; only ferry "
                "(file/message 摆渡) transfers may cross between internet and extranet",
            )
        if f.direction != Direction.ONE_WAY:
            yield Problem(
                FLOWS_FILE,
                where + ".direction",
                "flow-gatekeeper",
                f"flow {f.id} across the gatekeeper must be one-way",
            )


@rule("flow-dedicated-isolation")
def flow_dedicated(estate: Estate) -> Iterator[Problem]:
    """Department VPNs (the dedicated zone and the VPNs that terminate in it) stay apart.

    A flow from the dedicated zone to itself, or from the VPN side to itself, joins two
    departments' VPNs; a flow that carries a VPN into any department zone must stay
    within the one department (``same_department: true``). Shared services (audit
    collection into security-management, bastion sessions from management) are not
    department zones and are unaffected.
    """
    vpn_ends: set[Zone | External] = {Zone.DEDICATED, External.DEPARTMENT_VPN}
    for i, f in enumerate(estate.flows):
        if f.source == f.destination and f.source in vpn_ends:
            yield Problem(
                FLOWS_FILE,
                field_path("flows", i),
                "flow-dedicated-isolation",
                f"flow {f.id} lets dedicated-network VPNs reach each other; "
                "department VPNs must stay isolated",
            )
            continue
        ends = {f.source, f.destination}
        if ends & vpn_ends and ends <= DEPARTMENT_ZONES | vpn_ends and not f.same_department:
            yield Problem(
                FLOWS_FILE,
                field_path("flows", i, "same_department"),
                "flow-dedicated-isolation",
                f"flow {f.id} lets a department's dedicated network reach other "
                "departments' systems; set same_department: true",
            )


@rule("flow-internet-ingress")
def flow_internet_ingress(estate: Estate) -> Iterator[Problem]:
    """Internet -> internet zone only, through anti-DDoS -> firewall -> WAF/IPS -> LB."""
    expected = [ApplianceKind.ANTI_DDOS, ApplianceKind.FIREWALL]
    for i, f in enumerate(estate.flows):
        if f.source != External.PUBLIC_INTERNET:
            continue
        where = field_path("flows", i)
        if f.destination != Zone.INTERNET:
            yield Problem(
                FLOWS_FILE,
                where + ".destination",
                "flow-internet-ingress",
                f"flow {f.id} lets the public Internet reach {f.destination!s}; it may "
                "only reach the internet zone",
            )
        chain = list(f.chain)
        inspect = {ApplianceKind.WAF, ApplianceKind.IPS}
        ok = (
            len(chain) >= 4
            and chain[:2] == expected
            and all(k in inspect for k in chain[2:-1])
            and chain[-1] == ApplianceKind.LOAD_BALANCER
        )
        if f.chain and not ok:
            yield Problem(
                FLOWS_FILE,
                where + ".chain",
                "flow-internet-ingress",
                f"flow {f.id} from the public Internet must traverse anti-ddos -> "
                f"firewall -> waf/ips -> load-balancer, not {' -> '.join(chain)}",
            )


@rule("flow-management-bastion")
def flow_management(estate: Estate) -> Iterator[Problem]:
    for i, f in enumerate(estate.flows):
        collection_only = f.destination == Zone.SECURITY_MANAGEMENT and all(
            p.port in COLLECTION_PORTS for p in f.ports
        )
        if (
            f.source == Zone.MANAGEMENT
            and f.destination != Zone.MANAGEMENT
            and not collection_only
            and ApplianceKind.BASTION not in f.chain
        ):
            yield Problem(
                FLOWS_FILE,
                field_path("flows", i, "chain"),
                "flow-management-bastion",
                f"flow {f.id} lets the management zone reach {f.destination!s} "
                "without the bastion (堡垒机)",
            )


@rule("chain-appliance-missing")
def chain_appliance_missing(estate: Estate) -> Iterator[Problem]:
    """A chain is only real if every site actually has the appliances it names."""
    present = {(a.site, a.kind) for a in estate.appliances}
    for i, f in enumerate(estate.flows):
        for j, kind in enumerate(f.chain):
            missing = [s for s in estate.site_by_name if (s, kind) not in present]
            if missing:
                yield Problem(
                    FLOWS_FILE,
                    field_path("flows", i, "chain", j),
                    "chain-appliance-missing",
                    f"flow {f.id} traverses a {kind!s} but site(s) "
                    f"{', '.join(map(str, missing))} have none in {APPLIANCES_FILE}",
                )


@rule("appliance-edges")
def appliance_edges(estate: Estate) -> Iterator[Problem]:
    """Where an appliance sits is said once: by the flow chains (inline) or by what it
    observes (passive). Hand-written edges drifted from the chains, so they are refused."""
    for i, a in enumerate(estate.appliances):
        if a.edges is not None:
            how = ("the flows it observes (observes:)" if a.kind.passive
                   else f"the chains in {FLOWS_FILE} that name {a.kind!s}")
            yield Problem(
                APPLIANCES_FILE, field_path("appliances", i, "edges"), "appliance-edges",
                f"appliance {a.name}: edges are derived from {how}; remove the field",
            )


@rule("appliance-observes")
def appliance_observes(estate: Estate) -> Iterator[Problem]:
    """A passive appliance (IDS, DB audit, log audit) must say which flows it sees, and
    each must exist; an inline one is placed by the chains, so it observes nothing."""
    flows = {f.id for f in estate.flows}
    for i, a in enumerate(estate.appliances):
        where = field_path("appliances", i, "observes")
        if a.kind.passive and not a.observes:
            yield Problem(
                APPLIANCES_FILE, where, "appliance-observes",
                f"appliance {a.name} ({a.kind!s}) is passive: name the flows it observes "
                f"(observes: [flow id, ...] from {FLOWS_FILE})",
            )
        if not a.kind.passive and a.observes:
            yield Problem(
                APPLIANCES_FILE, where, "appliance-observes",
                f"appliance {a.name} ({a.kind!s}) sits inline: it is placed by the chains "
                f"in {FLOWS_FILE} that name {a.kind!s}, not by observes",
            )
        for j, flow_id in enumerate(a.observes):
            if flow_id not in flows:
                yield Problem(
                    APPLIANCES_FILE, field_path("appliances", i, "observes", j),
                    "appliance-observes",
                    f"appliance {a.name} observes flow {flow_id!r}, which {FLOWS_FILE} "
                    "does not define",
                )


@rule("anti-ddos-burst")
def anti_ddos_burst(estate: Estate) -> Iterator[Problem]:
    """A burst below its rate would make a source sending at the allowed rate an offender."""
    a = estate.anti_ddos
    for rate, burst in (("new_connections_per_second", "new_connections_burst"),
                        ("packets_per_second", "packets_burst")):
        if getattr(a, burst) < getattr(a, rate):
            yield Problem(
                APPLIANCES_FILE, field_path("anti_ddos", burst), "anti-ddos-burst",
                f"anti_ddos {burst} {getattr(a, burst)} is below {rate} {getattr(a, rate)}: "
                "a source sending at the allowed rate would become an offender",
            )


@rule("chain-passive-appliance")
def chain_passive_appliance(estate: Estate) -> Iterator[Problem]:
    """A chain lists what traffic passes through; a passive appliance only sees a copy."""
    for i, f in enumerate(estate.flows):
        for j, kind in enumerate(f.chain):
            if kind.passive:
                yield Problem(
                    FLOWS_FILE, field_path("flows", i, "chain", j), "chain-passive-appliance",
                    f"flow {f.id} names {kind!s} in its chain, but a {kind!s} is passive "
                    f"(it sees a copy, nothing passes through it): list {f.id} under the "
                    f"{kind!s} appliances' observes in {APPLIANCES_FILE}",
                )


# --------------------------------------------------------------------------- systems


@rule("mlps-above-cloud")
def mlps_above_cloud(estate: Estate) -> Iterator[Problem]:
    cloud = estate.cloud.mlps_level.number
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            if s.mlps_level.number > cloud:
                yield Problem(
                    d.source,
                    field_path("systems", i, "mlps_level"),
                    "mlps-above-cloud",
                    f"system {s.name} is graded MLPS level {s.mlps_level.number}; this "
                    f"cloud is graded level {cloud} and may not host it (GB/T "
                    "22239-2019: a cloud must not carry systems above its own level)",
                )


@rule("zone-internet-database")
def zone_internet_database(estate: Estate) -> Iterator[Problem]:
    """No database in 互联网区: data stays behind the gatekeeper in the extranet zone."""
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            for j, c in enumerate(s.components):
                if c.zone == Zone.INTERNET and c.kind == ComponentKind.DATABASE:
                    yield Problem(
                        d.source,
                        field_path("systems", i, "components", j, "zone"),
                        "zone-internet-database",
                        f"system {s.name}: database {c.name} may not sit in the internet "
                        "zone; put it in the extranet zone behind the gatekeeper",
                    )


@rule("zone-internet-stateless")
def zone_internet_stateless(estate: Estate) -> Iterator[Problem]:
    """Internet-zone parts hold no state, so losing or rebuilding one loses no data."""
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            for j, c in enumerate(s.components):
                if (
                    c.zone == Zone.INTERNET
                    and c.kind != ComponentKind.DATABASE  # zone-internet-database says it
                    and c.stateful
                ):
                    what = (
                        f"asks for {format_bytes(c.storage)} of storage"
                        if c.storage
                        else f"is a {c.kind!s}"
                    )
                    yield Problem(
                        d.source,
                        field_path("systems", i, "components", j),
                        "zone-internet-stateless",
                        f"system {s.name}: internet-zone component {c.name} {what}; "
                        "internet-zone parts must be stateless (no storage, no "
                        "cache/queue/file store)",
                    )


@rule("lifecycle-order")
def lifecycle_order(estate: Estate) -> Iterator[Problem]:
    order = ["applied", "reviewed", "testing", "provisioned", "reclaimed"]
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            lc = s.lifecycle
            where = field_path("systems", i, "lifecycle")
            dates = [(k, getattr(lc, k)) for k in order if getattr(lc, k) is not None]
            for (ka, da), (kb, db) in itertools.pairwise(dates):
                if db < da:
                    yield Problem(
                        d.source,
                        f"{where}.{kb}",
                        "lifecycle-order",
                        f"system {s.name}: {kb} ({db}) is before {ka} ({da})",
                    )
            state = LifecycleState(lc.state)
            if getattr(lc, state.value) is None and state != LifecycleState.APPLIED:
                yield Problem(
                    d.source,
                    f"{where}.{state.value}",
                    "lifecycle-order",
                    f"system {s.name} is in state {state!s} but has no {state.value} date",
                )


@rule("backup-job-schedule")
def backup_job_schedule(estate: Estate) -> Iterator[Problem]:
    """A tier with a backup schedule needs a sized backup job, and vice versa.

    The job pod counts against the department's quota, so an unsized job would either
    be refused by the quota or escape it; a sized job with no schedule never runs.
    """
    for i, t in enumerate(estate.tiers):
        if (t.backup_schedule is None) != (t.backup_job is None):
            missing, present = (
                ("backup_job", "backup_schedule")
                if t.backup_job is None
                else ("backup_schedule", "backup_job")
            )
            yield Problem(
                TIERS_FILE,
                field_path("tiers", i, missing),
                "backup-job-schedule",
                f"tier {t.name!s} sets {present} but not {missing}: a backup needs both a "
                "schedule and a sized job",
            )


# --------------------------------------------------------------------------- capacity


_LABEL = {
    "vcpu": "vCPU",
    "memory": "memory",
    "storage": "storage",
    "public_ips": "public IPs",
    "bandwidth": "bandwidth",
}


def _fmt(resource: str, value: Decimal) -> str:
    if resource in ("memory", "storage"):
        return f"{value / 2**40:.2f} TiB"
    if resource == "bandwidth":
        return f"{value:.0f} Mbps"
    if resource == "public_ips":
        return f"{value:.0f}"
    return f"{value:.1f}"


@rule("department-over-capacity")
def department_over_capacity(estate: Estate) -> Iterator[Problem]:
    """A single department may never need more than a whole site can allocate."""
    for d in estate.departments:
        for site in estate.sites:
            total = {k: Decimal(0) for k in RESOURCE_KEYS}
            # a system on an undefined tier has no placement; unknown-dr-tier reports it
            for s in (s for s in d.systems if s.dr_tier in estate.tier_by_name):
                for k, v in estate.footprint(s, site.name).as_dict().items():
                    total[k] += v
            alloc = site.allocatable()
            for k in RESOURCE_KEYS:
                if total[k] > alloc[k]:
                    yield Problem(
                        d.source,
                        "systems",
                        "department-over-capacity",
                        f"department {d.name} needs {_fmt(k, total[k])} {_LABEL[k]} on "
                        f"{site.name!s}, more than the site can allocate "
                        f"({_fmt(k, alloc[k])})",
                    )


# --------------------------------------------------------------------------- DR levels


@rule("dr-level-bounds")
def dr_level_bounds(estate: Estate) -> Iterator[Problem]:
    """A higher GB/T 20988 level never allows a larger RPO/RTO than a lower one."""
    inf = float("inf")
    for i, e in enumerate(estate.editions):
        levels = sorted(enumerate(e.levels), key=lambda p: p[1].level)
        for (_, lo), (j, hi) in itertools.pairwise(levels):
            for what in ("rpo_max_seconds", "rto_max_seconds"):
                a = getattr(lo, what)
                b = getattr(hi, what)
                if (inf if b is None else b) > (inf if a is None else a):
                    yield Problem(
                        TIERS_FILE,
                        field_path("editions", i, "levels", j, what),
                        "dr-level-bounds",
                        f"{e.standard} level {hi.level} allows {what} "
                        f"{'unbounded' if b is None else b}, more than level {lo.level} "
                        f"({'unbounded' if a is None else a})",
                    )


# --------------------------------------------------------------------------- workloads


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _components(estate: Estate) -> Iterator[tuple[Department, int, System, int, Component]]:
    for d in estate.departments:
        for i, s in enumerate(d.systems):
            for j, c in enumerate(s.components):
                yield d, i, s, j, c


def _images(estate: Estate) -> Iterator[tuple[str, str, str, Image | None, str]]:
    """(file, field, what, image, default repository path) for every image the estate names."""
    for name, img in estate.workloads.platform_images.items():
        yield WORKLOADS_FILE, field_path("platform_images", name), f"platform image {name}", \
            img, f"platform/{name}"
    for d, i, s, j, c in _components(estate):
        yield d.source, field_path("systems", i, "components", j, "image"), \
            f"system {s.name}: component {c.name}", c.image, f"{d.name}/{s.name}/{c.name}"


@rule("image-missing")
def image_missing(estate: Estate) -> Iterator[Problem]:
    """Every component names the image it runs; nothing is pulled by convention."""
    for file, where, what, img, _ in _images(estate):
        if img is None:
            yield Problem(
                file, where, "image-missing",
                f"{what} has no image: give its tag and sha256 digest in the cloud registry "
                f"({estate.cloud.registry})",
            )


@rule("image-digest")
def image_digest(estate: Estate) -> Iterator[Problem]:
    """A tag can be moved to other content; only a digest names what was reviewed."""
    for file, where, what, img, _ in _images(estate):
        if img is None:
            continue
        if img.digest is None:
            yield Problem(
                file, f"{where}.digest", "image-digest",
                f"{what}: image tag {img.tag} has no digest; pin it as sha256:<64 hex> "
                "(a tag can be moved to other content, a digest cannot)",
            )
        elif not _DIGEST.match(img.digest):
            yield Problem(
                file, f"{where}.digest", "image-digest",
                f"{what}: digest {img.digest!r} is not sha256:<64 lowercase hex digits>",
            )


@rule("image-registry")
def image_registry(estate: Estate) -> Iterator[Problem]:
    """Images come from the cloud's own registry, where they were scanned and signed off."""
    registry = estate.cloud.registry
    for file, where, what, img, default in _images(estate):
        if img is None or img.repository is None:
            continue
        ref = img.reference(registry, default)
        if not ref.startswith(f"{registry}/"):
            yield Problem(
                file, f"{where}.repository", "image-registry",
                f"{what}: image repository {img.repository} is outside the cloud registry "
                f"{registry}; push it there and reference it by its path",
            )


@rule("probe-kind-default")
def probe_kind_default(estate: Estate) -> Iterator[Problem]:
    """Every component kind has default probes, so no workload ships without them."""
    for kind in ComponentKind:
        if kind not in estate.workloads.probes:
            yield Problem(
                WORKLOADS_FILE, field_path("probes", kind.value), "probe-kind-default",
                f"component kind {kind!s} has no default probes (liveness, readiness)",
            )


def _probe_sources(
    estate: Estate,
) -> Iterator[tuple[str, str, str, ProbeSpec]]:
    """(file, field, whose probe, spec) for every probe written in the data."""
    for kind, kp in estate.workloads.probes.items():
        for use in ProbeUse:
            spec = kp.spec(use)
            if spec is not None:
                yield WORKLOADS_FILE, field_path("probes", kind.value, use.value), \
                    f"default {use} probe of kind {kind!s}", spec
    for d, i, s, j, c in _components(estate):
        for use in ProbeUse:
            spec = c.probes.spec(use) if c.probes else None
            if spec is not None:
                yield d.source, field_path("systems", i, "components", j, "probes", use.value), \
                    f"system {s.name}: component {c.name}: {use} probe", spec


@rule("probe-period")
def probe_period(estate: Estate) -> Iterator[Problem]:
    """A probe that never runs (period 0) or never times out cannot decide anything."""
    for file, where, what, spec in _probe_sources(estate):
        for key in ("period", "timeout"):
            value = getattr(spec, key)
            if value is not None and value <= 0:
                yield Problem(
                    file, f"{where}.{key}", "probe-period",
                    f"{what}: {key} is {value} s; it must be a positive number of seconds",
                )


def _effective(estate: Estate) -> Iterator[
    tuple[Department, str, System, Component, KindProbes, dict[ProbeUse, Probe]]
]:
    for d, i, s, j, c in _components(estate):
        defaults = estate.workloads.probes.get(c.kind)
        if defaults is None:
            continue  # probe-kind-default
        yield d, field_path("systems", i, "components", j), s, c, defaults, \
            c.effective_probes(defaults)


@rule("probe-incomplete")
def probe_incomplete(estate: Estate) -> Iterator[Problem]:
    """An HTTP probe needs a path and an exec probe a command, or the kubelet refuses it."""
    for d, where, s, c, _, probes in _effective(estate):
        for use, p in probes.items():
            missing = (
                "path" if p.type == ProbeType.HTTP and not p.path
                else "command" if p.type == ProbeType.EXEC and not p.command
                else None
            )
            if missing:
                yield Problem(
                    d.source, f"{where}.probes.{use.value}.{missing}", "probe-incomplete",
                    f"system {s.name}: component {c.name}: {use} probe is {p.type!s} but has "
                    f"no {missing}",
                )


@rule("probe-port")
def probe_port(estate: Estate) -> Iterator[Problem]:
    """A probe on a port the container does not expose fails forever: a restart loop."""
    for d, where, s, c, _, probes in _effective(estate):
        for use, p in probes.items():
            if p.type != ProbeType.EXEC and p.port != c.port:
                yield Problem(
                    d.source, f"{where}.probes.{use.value}.port", "probe-port",
                    f"system {s.name}: component {c.name}: {use} probe on port {p.port}, "
                    f"but the component exposes only port {c.port}",
                )


@rule("probe-startup")
def probe_startup(estate: Estate) -> Iterator[Problem]:
    """Liveness must not kill a pod before it can have started: a crash loop at every start.

    With a startup probe the kubelet holds liveness back until start-up succeeds, so the
    startup probe's budget must cover the start time; without one, liveness's own budget
    (initial delay + period x failure threshold) must.
    """
    for d, where, s, c, defaults, probes in _effective(estate):
        need = c.start_seconds(defaults)
        startup = probes.get(ProbeUse.STARTUP)
        live = probes.get(ProbeUse.LIVENESS)
        probe, use = (startup, ProbeUse.STARTUP) if startup else (live, ProbeUse.LIVENESS)
        if probe is None or probe.period <= 0 or probe.budget_seconds >= need:
            continue  # a non-positive period is probe-period's to report
        yield Problem(
            d.source, f"{where}.probes.{use.value}", "probe-startup",
            f"system {s.name}: component {c.name}: the {use} probe gives up after "
            f"{probe.budget_seconds} s (initial_delay {probe.initial_delay} + period "
            f"{probe.period} x failure_threshold {probe.failure_threshold}), but the "
            f"component may take {need} s to start (start_seconds): liveness would kill it "
            "before it is up; lengthen the startup probe or lower start_seconds",
        )


@rule("mirror-internal")
def mirror_internal(estate: Estate) -> Iterator[Problem]:
    """Patches and signatures come from inside the cloud: hosts have no internet route,
    so a mirror URL outside the cloud's domain is one no host can ever reach."""
    domain = estate.cloud.domain
    for name, url in estate.cloud.mirrors.model_dump().items():
        host = url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
        if host != domain and not host.endswith(f".{domain}"):
            yield Problem(
                CLOUD_FILE, field_path("mirrors", name), "mirror-internal",
                f"mirror {name}: {url} is outside the cloud's domain {domain} (hosts have "
                f"no internet route); serve it from a mirror host under {domain}",
            )


# agetty escapes that print system details (\s system, \r release, \v version,
# \m machine, \n node name, \o/\O domain) and words that name the platform
_BANNER_ESCAPES = ("\\s", "\\r", "\\v", "\\m", "\\n", "\\o", "\\O")
_BANNER_WORDS = ("debian", "linux", "ubuntu", "kernel", "openssh", "bookworm")


@rule("banner-system-info")
def banner_system_info(estate: Estate) -> Iterator[Problem]:
    """A login banner states terms of use; telling a visitor the OS and version before
    authentication only helps an attacker choose an exploit."""
    for lang, text in estate.cloud.login_banner.model_dump().items():
        found = [e for e in _BANNER_ESCAPES if e in text]
        found += [w for w in _BANNER_WORDS if w in text.lower()]
        if found:
            yield Problem(
                CLOUD_FILE, field_path("login_banner", lang), "banner-system-info",
                f"login banner ({lang}) reveals system details ({', '.join(found)}); "
                "state the terms of use only",
            )
