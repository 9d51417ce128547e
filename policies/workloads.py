"""Workload policies: privilege, resources, MLPS level, DR placement.

Per-resource checks read one planned workload (Deployment, StatefulSet, ...); the DR
policy compares a stack's workloads with the placement the system's DR tier declares
in ``estate/dr-tiers.yaml``, and the tier's targets with its GB/T 20988 level.
"""

from __future__ import annotations

from collections.abc import Iterator

from govcloud.model import MlpsLevel, PlacementRole, System
from govcloud.model import rules as model_rules
from policies import clauses as C
from policies.core import Context, Enforcement, Policy, Resource, Violation
from policies.k8s import (
    DEPARTMENT,
    DR_TIER,
    MLPS_LEVEL,
    PLACEMENT,
    SYSTEM,
    containers,
    is_tenant,
    is_workload,
    pod_spec,
    site_of_stack,
    workload_labels,
)

# Capabilities that break the container/host boundary as surely as privileged: true.
DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_RAW", "BPF"}


def _rv(policy: str, r: Resource, msg: str) -> Violation:
    return Violation(policy, r.ref, f"{r.ref}: {msg}", r.urn or None)


# ---------------------------------------------------------------- no-privileged-workloads


def check_privileged(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "no-privileged-workloads"
    if not is_workload(r) or not is_tenant(r):
        return
    ctx.saw(r.ref)
    spec = pod_spec(r)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield _rv(pid, r, f"{key}: true shares the node's namespace with a tenant pod")
    for vol in spec.get("volumes") or []:
        if vol.get("hostPath"):
            path = vol["hostPath"].get("path", "?")
            yield _rv(pid, r, f"volume {vol.get('name')} mounts hostPath {path}")
    for where, c in containers(r):
        sc = c.get("securityContext") or {}
        name = f"{where}/{c.get('name', '?')}"
        if sc.get("privileged"):
            yield _rv(pid, r, f"{name} runs privileged")
        if sc.get("allowPrivilegeEscalation"):
            yield _rv(pid, r, f"{name} allows privilege escalation")
        added = set((sc.get("capabilities") or {}).get("add") or [])
        if bad := sorted(added & DANGEROUS_CAPS):
            yield _rv(pid, r, f"{name} adds capabilities {', '.join(bad)}")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                yield _rv(pid, r, f"{name} binds hostPort {p['hostPort']}")


# ---------------------------------------------------------------- workload-resources


def check_resources(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "workload-resources"
    if not is_workload(r):
        return
    ctx.saw(r.ref)
    for where, c in containers(r):
        if where == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral containers
        res = c.get("resources") or {}
        missing = [
            f"{kind}.{what}"
            for kind in ("requests", "limits")
            for what in ("cpu", "memory")
            if not (res.get(kind) or {}).get(what)
        ]
        if missing:
            yield _rv(pid, r, f"{where}/{c.get('name', '?')} has no {', '.join(missing)}")


# ---------------------------------------------------------------- mlps-not-above-cloud


def check_mlps_resource(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "mlps-not-above-cloud"
    level = workload_labels(r).get(MLPS_LEVEL)
    if level is None:
        if is_workload(r) and is_tenant(r):
            yield _rv(pid, r, f"tenant workload has no {MLPS_LEVEL} label")
        return
    cloud = ctx.estate.cloud.mlps_level.number
    ctx.saw(f"{r.ref}: level {level}")
    if level not in {v.value for v in MlpsLevel} or int(level) > cloud:
        yield _rv(
            pid, r, f"graded MLPS level {level}; this cloud is level {cloud} and may not carry it"
        )


def check_mlps_estate(ctx: Context) -> Iterator[Violation]:
    for p in model_rules.RULES["mlps-above-cloud"](ctx.estate):
        yield Violation("mlps-not-above-cloud", f"estate/{p.file}:{p.field}", str(p))
    cloud = ctx.estate.cloud.mlps_level.number
    ctx.saw(f"cloud {ctx.estate.cloud.name} graded level {cloud}")
    levels = sorted({s.mlps_level.number for _, s in ctx.estate.systems()})
    ctx.saw(f"{len(ctx.estate.systems())} systems graded {levels}")


# ---------------------------------------------------------------- dr-tier-consistent


def _level_table(ctx: Context) -> tuple[str, dict[int, tuple[int | None, int | None]]]:
    """(edition, {level: (max RPO s, max RTO s)}): the edition in force, or the newest
    edition that has a machine-readable table (the report says which)."""
    editions = sorted(ctx.estate.editions, key=lambda e: e.effective, reverse=True)
    in_force = next((e for e in editions if e.standard == ctx.estate.cloud.dr_edition), None)
    for e in [in_force, *editions]:
        if e and any(lv.rpo_max_seconds is not None for lv in e.levels):
            return e.standard, {
                lv.level: (lv.rpo_max_seconds, lv.rto_max_seconds) for lv in e.levels
            }
    return "", {}


def check_dr_estate(ctx: Context) -> Iterator[Violation]:
    pid = "dr-tier-consistent"
    edition, table = _level_table(ctx)
    for t in ctx.estate.tiers:
        subject = f"tier:{t.name}"
        bounds = table.get(t.gbt20988_level)
        if bounds is None:
            yield Violation(
                pid,
                subject,
                f"tier {t.name} declares GB/T 20988 level {t.gbt20988_level} but no edition "
                "in dr-tiers.yaml states that level's RPO/RTO bounds",
            )
            continue
        rpo_max, rto_max = bounds
        ctx.saw(
            f"tier {t.name}: level {t.gbt20988_level} ({edition}: RPO <= {rpo_max} s, "
            f"RTO <= {rto_max if rto_max is not None else 'unbounded'} s); in-city "
            f"RPO {t.rpo_seconds} s RTO {t.rto_seconds} s, off-site RPO "
            f"{t.offsite_rpo_seconds} s RTO {t.offsite_rto_seconds} s"
        )
        for scope, rpo, rto in (
            ("in-city", t.rpo_seconds, t.rto_seconds),
            ("off-site", t.offsite_rpo_seconds, t.offsite_rto_seconds),
        ):
            if rpo_max is not None and rpo > rpo_max:
                yield Violation(
                    pid,
                    f"{subject}:{scope}",
                    f"tier {t.name} declares GB/T 20988 level {t.gbt20988_level} but its "
                    f"{scope} RPO is {rpo} s; that level allows at most {rpo_max} s ({edition})",
                )
            if rto_max is not None and rto > rto_max:
                yield Violation(
                    pid,
                    f"{subject}:{scope}",
                    f"tier {t.name} declares GB/T 20988 level {t.gbt20988_level} but its "
                    f"{scope} RTO is {rto} s; that level allows at most {rto_max} s ({edition})",
                )
        sites = {s.name: s for s in ctx.estate.sites}
        home = {sites[s].region for s in t.sites(PlacementRole.ACTIVE) if s in sites}
        offsite = {r for s, r in t.placement.items() if s in sites and sites[s].region not in home}
        if t.gbt20988_level >= 3 and not offsite:
            yield Violation(
                pid, subject, f"tier {t.name} (level {t.gbt20988_level}) has no off-site copy"
            )
        elif t.gbt20988_level >= 5 and offsite <= {PlacementRole.BACKUP}:
            yield Violation(
                pid,
                subject,
                f"tier {t.name} (level {t.gbt20988_level}: real-time transfer, complete "
                "equipment) keeps only a backup off-site; it needs a standby there",
            )
        if t.gbt20988_level == 6 and len(t.sites(PlacementRole.ACTIVE)) < 2:
            yield Violation(
                pid, subject, f"tier {t.name} (level 6) needs at least two active sites"
            )


def check_dr_stack(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    """The stack's workloads sit where each system's tier places it, labelled alike."""
    pid = "dr-tier-consistent"
    if ctx.stack is None:
        return
    site = site_of_stack(ctx.stack)
    if site is None:
        return
    systems = {(d.name, s.name): s for d, s in ctx.estate.systems() if s.live}
    present: dict[tuple[str, str], list[Resource]] = {}
    for r in resources:
        if not is_workload(r):
            continue
        lab = workload_labels(r)
        key = (lab.get(DEPARTMENT, ""), lab.get(SYSTEM, ""))
        if not key[1]:
            continue
        present.setdefault(key, []).append(r)
        system = systems.get(key)
        if system is None:
            yield _rv(pid, r, f"workload of unknown or reclaimed system {key[0]}/{key[1]}")
            continue
        tier = ctx.estate.tier(system.dr_tier)
        role = tier.placement.get(site)
        if lab.get(DR_TIER) != str(system.dr_tier):
            yield _rv(
                pid, r, f"labelled {DR_TIER}={lab.get(DR_TIER)}, system declares {system.dr_tier}"
            )
        backup_job = lab.get(PLACEMENT) == str(PlacementRole.BACKUP)
        if backup_job and tier.backup_schedule and role is not None:
            # the tier's backup job runs where the data is (active) or lands (backup)
            ctx.saw(f"{r.ref}: {system.dr_tier} backup job ({tier.backup_schedule})")
        elif backup_job:
            yield _rv(
                pid, r, f"backup job of {key[1]}, but tier {tier.name} takes no backup on {site}"
            )
        elif role in (None, PlacementRole.BACKUP):
            yield _rv(
                pid,
                r,
                f"system {key[1]} (tier {system.dr_tier}) runs no workload on {site}, "
                "but the plan places one here",
            )
        elif lab.get(PLACEMENT) != str(role):
            yield _rv(
                pid, r, f"labelled {PLACEMENT}={lab.get(PLACEMENT)}, tier {tier.name} says {role}"
            )
        else:
            ctx.saw(f"{r.ref}: {system.dr_tier}/{role}")
    for key, system in sorted(systems.items()):
        role = ctx.estate.tier(system.dr_tier).placement.get(site)
        if role in (PlacementRole.ACTIVE, PlacementRole.STANDBY) and key not in present:
            yield Violation(
                pid,
                f"{ctx.stack}/system/{key[0]}/{key[1]}",
                f"system {key[0]}/{key[1]} (tier {system.dr_tier}) must run {role} on {site}; "
                f"stack {ctx.stack} plans no workload for it",
            )


# ---------------------------------------------------------------- mlps3-offsite-backup


def _offsite_realtime(ctx: Context, system: System) -> bool:
    tier = ctx.estate.tier(system.dr_tier)
    sites = {s.name: s for s in ctx.estate.sites}
    home = {sites[s].region for s in tier.sites(PlacementRole.ACTIVE)}
    return any(
        role == PlacementRole.STANDBY and sites[s].region not in home
        for s, role in tier.placement.items()
    )


def check_offsite_backup(ctx: Context) -> Iterator[Violation]:
    for d, s in ctx.estate.systems():
        if s.mlps_level.number < 3 or not s.live:
            continue
        tier = ctx.estate.tier(s.dr_tier)
        if _offsite_realtime(ctx, s) and len(tier.placement) >= 2:
            ctx.saw(f"{d.name}/{s.name}: level {s.mlps_level} on {s.dr_tier}")
            continue
        yield Violation(
            "mlps3-offsite-realtime",
            f"system:{d.name}/{s.name}",
            f"{d.source}: system {s.name} is MLPS level {s.mlps_level} on tier {s.dr_tier}, "
            "which keeps no real-time standby off-site; level 3 needs real-time off-site "
            "backup and hot redundancy (dual-active or warm-standby)",
        )


POLICIES = [
    Policy(
        id="no-privileged-workloads",
        title="No privileged containers, hostNetwork, hostPID, hostIPC or hostPath for tenants",
        clauses=(C.CLOUD_INTRUSION_A, C.CLOUD_NET_B, C.COMPUTE_ACCESS_D),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "A privileged or host-namespaced pod is root on the node: it can read every "
            "other tenant's memory, traffic and volumes. Tenant isolation on a shared node "
            "holds only if no tenant workload can leave its container."
        ),
        on_resource=check_privileged,
    ),
    Policy(
        id="workload-resources",
        title="Every workload container sets CPU and memory requests and limits",
        clauses=(C.CLOUD_CENTRAL_A,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Capacity is promised to departments by quota; a container without limits can "
            "starve its neighbours (a noisy tenant becomes an outage for others), and one "
            "without requests cannot be scheduled against the quota the estate grants."
        ),
        on_resource=check_resources,
    ),
    Policy(
        id="mlps-not-above-cloud",
        title="No system graded above the cloud's own MLPS level",
        clauses=(C.CLOUD_NET_A,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "The cloud is assessed at level 3; its controls are only as strong as that. A "
            "level-4 system would inherit a platform weaker than it is required to be."
        ),
        on_resource=check_mlps_resource,
        on_estate=check_mlps_estate,
    ),
    Policy(
        id="dr-tier-consistent",
        title="DR tiers meet their GB/T 20988 level; workloads sit where the tier places them",
        clauses=(C.DR_LEVELS, C.COMPUTE_BACKUP_C),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "A tier that claims level 6 must actually lose no data and recover in minutes, "
            "with a remote cluster; and a system on that tier must really run on every site "
            "the tier names, or the claimed level is fiction at the first site loss."
        ),
        on_stack=check_dr_stack,
        on_estate=check_dr_estate,
    ),
    Policy(
        id="mlps3-offsite-realtime",
        title="Level-3 systems keep a real-time standby off-site",
        clauses=(C.COMPUTE_BACKUP_B, C.COMPUTE_BACKUP_C),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Level 3 asks for real-time off-site backup over the network and hot redundancy; "
            "a nightly backup (tier backup-only) meets level 2, not level 3."
        ),
        on_estate=check_offsite_backup,
    ),
]
