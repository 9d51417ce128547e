"""Host policies over the configuration the pyinfra roles would deploy.

Host facts are never copied into a policy: :func:`host_configs` builds the host list
from the model (the lab topology, ``govcloud.lab.topology``, which derives hosts and
addresses from the estate and ``estate/lab.yaml``) and asks each of a host's roles for
its data with ``roles.<role>.data_for(estate, host)`` — the very object the deploy
renders its configuration from. A role that refuses its data (its own validator
raises) is recorded as such and reported by the policies that need it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from govcloud.model import Estate, Zone
from govcloud.model.rules import COLLECTION_PORTS
from policies import clauses as C
from policies.core import Context, Enforcement, HostConfig, Policy, Violation
from policies.governance import check_operator_factors

# 《网络安全法》第二十一条: network logs kept no less than six months. GB/T 22239-2019
# 8.1.5.4 d) defers to it ("留存时间符合法律法规要求"). A legal floor, not estate data.
LEGAL_LOG_RETENTION_DAYS = 180


@dataclass(frozen=True)
class RoleError:
    """``data_for`` refused to build the role's data for this host (the message says why)."""

    role: str
    message: str


def host_configs(estate: Estate) -> list[HostConfig] | None:
    """Every host the roles deploy, with each role's data; None if no host model exists."""
    try:
        from govcloud.lab.profile import load_profile
        from govcloud.lab.topology import build_topology
    except ImportError:
        return None
    topo = build_topology(estate, load_profile(estate))
    out: list[HostConfig] = []
    for h in topo.hosts:
        roles: dict[str, Any] = {}
        for role in h.roles:
            try:
                mod = importlib.import_module(f"roles.{role}")
            except ImportError:
                continue  # a role named in the profile but not written yet
            data_for = getattr(mod, "data_for", None)
            if data_for is None:
                continue
            try:
                roles[role] = data_for(estate, h)
            except (ValueError, LookupError) as exc:
                roles[role] = RoleError(role, str(exc).splitlines()[0])
        out.append(
            HostConfig(
                name=h.name,
                site=str(h.site),
                group=h.function,
                roles=roles,
                address=h.address,
                zone=str(h.zone) if h.zone else None,
                assigned=tuple(h.roles),
            )
        )
    return out


def _hv(policy: str, h: HostConfig, msg: str) -> Violation:
    return Violation(policy, f"host:{h.name}", f"{h.name} ({h.group}, {h.site}): {msg}")


def role_data(pid: str, h: HostConfig, role: str, absent: str) -> Any:
    """The data ``roles.<role>`` derives for ``h``, or the violation saying why there is
    none (``absent`` when the host has no such role data, or the role's own refusal)."""
    d = h.roles.get(role)
    if d is None:
        return _hv(pid, h, absent)
    if isinstance(d, RoleError):
        return _hv(pid, h, f"roles/{role} refuses its data: {d.message}")
    return d


def _no_hosts(policy: str, hosts: list[HostConfig]) -> Iterator[Violation]:
    if not hosts:
        yield Violation(
            policy,
            "hosts",
            "no host configuration could be derived (govcloud.lab.topology and roles/ "
            "missing): the control has no evidence",
        )


# ---------------------------------------------------------------- audit-retention


def check_retention_estate(ctx: Context) -> Iterator[Violation]:
    days = ctx.estate.cloud.audit_retention_days
    ctx.saw(f"cloud.yaml audit_retention_days: {days}")
    if days < LEGAL_LOG_RETENTION_DAYS:
        yield Violation(
            "audit-retention",
            "estate/cloud.yaml:audit_retention_days",
            f"cloud.yaml: audit_retention_days is {days}; audit records must be kept at "
            f"least {LEGAL_LOG_RETENTION_DAYS} days (six months)",
        )


def check_retention_hosts(hosts: list[HostConfig], ctx: Context) -> Iterator[Violation]:
    pid = "audit-retention"
    yield from _no_hosts(pid, hosts)
    collectors = [h for h in hosts if h.has_role("log_audit")]
    if hosts and not collectors:
        yield Violation(pid, "hosts", "no host runs the log_audit role: nothing keeps the records")
    for h in collectors:
        d = role_data(pid, h, "log_audit",
                      "roles/log_audit is not in this checkout: its retention is unknown")
        if isinstance(d, Violation):
            yield d
            continue
        if not getattr(d, "retention", False):
            yield _hv(pid, h, "roles/log_audit retention is switched off (Data.retention)")
        days = getattr(d, "retention_days", 0)
        if days < LEGAL_LOG_RETENTION_DAYS:
            yield _hv(
                pid,
                h,
                f"roles/log_audit keeps records {days} days; at least "
                f"{LEGAL_LOG_RETENTION_DAYS} are required",
            )
        else:
            ctx.saw(f"{h.name}: log_audit retention_days={days}")


# ---------------------------------------------------------------- admin-two-factor (hosts)

# Field names a bastion role may use to say it demands a second factor.
MFA_FIELDS = ("two_factor", "mfa", "require_mfa")


def check_bastion_hosts(hosts: list[HostConfig], ctx: Context) -> Iterator[Violation]:
    pid = "admin-two-factor"
    yield from _no_hosts(pid, hosts)
    for h in hosts:
        if h.has_role("bastion") and "bastion" not in h.roles:
            yield _hv(pid, h, "roles/bastion is not in this checkout: its sshd policy is unknown")
        elif isinstance(h.roles.get("bastion"), RoleError):
            # e.g. operators.yaml lists a factor the bastion cannot ask: nothing would deploy
            yield _hv(pid, h, f"roles/bastion refuses its data: {h.roles['bastion'].message}")
    jumps = [
        h for h in hosts if "bastion" in h.roles and getattr(h.roles["bastion"], "jump", False)
    ]
    if hosts and not jumps and not any(h.has_role("bastion") for h in hosts):
        yield Violation(pid, "hosts", "no host is a bastion jump host (roles/bastion, jump)")
    for h in jumps:
        d = h.roles["bastion"]
        flag = next((f for f in MFA_FIELDS if hasattr(d, f)), None)
        methods = getattr(d, "authentication_methods", None)
        key_only = list(getattr(d, "key_only_operators", []) or [])
        if flag is not None and getattr(d, flag) and key_only:
            yield _hv(
                pid,
                h,
                f"roles/bastion lets {', '.join(key_only)} in with a key alone "
                "(operators.yaml: their mfa lists no totp)",
            )
        elif flag is not None and getattr(d, flag):
            ctx.saw(f"{h.name}: roles/bastion {flag}={getattr(d, flag)}")
        elif methods and all("," in m for m in methods):
            ctx.saw(f"{h.name}: roles/bastion AuthenticationMethods {' '.join(methods)}")
        else:
            why = (
                f"Data.{flag} is off"
                if flag
                else "its Data has no second-factor setting (two_factor / "
                "authentication_methods), so sshd accepts a key alone"
            )
            yield _hv(
                pid,
                h,
                f"roles/bastion would deploy a jump host without a second factor: {why}",
            )


# ---------------------------------------------------------------- log-forwarding


def check_forwarding(hosts: list[HostConfig], ctx: Context) -> Iterator[Violation]:
    pid = "log-forwarding"
    yield from _no_hosts(pid, hosts)
    collectors = {h.address: h for h in hosts if h.has_role("log_audit")}
    for h in hosts:
        if h.has_role("log_audit"):
            ctx.saw(f"{h.name}: is the collector of {h.site}")
            continue
        d = h.roles.get("baseline")
        if d is None:
            yield _hv(pid, h, "does not run roles/baseline, which configures log forwarding")
            continue
        if isinstance(d, RoleError):
            yield _hv(pid, h, f"roles/baseline refuses its data: {d.message}")
            continue
        targets = list(getattr(d, "log_targets", []) or [])
        if not getattr(d, "log_forwarding", False):
            yield _hv(pid, h, "roles/baseline log forwarding is switched off")
            continue
        if not targets:
            yield _hv(pid, h, "roles/baseline forwards logs nowhere (no log_targets)")
            continue
        for t in targets:
            c = collectors.get(t)
            if c is None:
                yield _hv(pid, h, f"forwards logs to {t}, which is no log_audit host")
            elif c.site != h.site:
                yield _hv(pid, h, f"forwards logs to {c.name} on another site ({c.site})")
            elif h.zone and c.zone and h.zone != c.zone and not _collection_flow(ctx, h, c):
                yield _hv(
                    pid,
                    h,
                    f"forwards to {c.name} but no flow carries {h.zone} -> {c.zone} "
                    "syslog in the flow matrix",
                )
            else:
                ctx.saw(f"{h.name} -> {c.name} ({t})")


def _collection_flow(ctx: Context, h: HostConfig, c: HostConfig) -> bool:
    return any(
        f.source == Zone(h.zone)
        and f.destination == Zone(c.zone)
        and any(p.port in COLLECTION_PORTS for p in f.ports)
        for f in ctx.estate.flows
    )


# ---------------------------------------------------------------- offsite-lag-monitored


def check_lag_monitoring(hosts: list[HostConfig], ctx: Context) -> Iterator[Violation]:
    """Every database host is scraped and every monitoring host alerts at the DR tier's
    offsite RPO: a lag the link cannot carry is seen before a region is lost."""
    from govcloud import datatier

    pid = "offsite-lag-monitored"
    yield from _no_hosts(pid, hosts)
    members = [h for h in hosts if h.has_role("patroni")]
    if not members:
        return
    tier = ctx.estate.tier(datatier.hotline(ctx.estate).dr_tier)
    for h in members:
        d = role_data(pid, h, "pg_exporter", "runs no roles/pg_exporter: its replication "
                      "lag is not published")
        if isinstance(d, Violation):
            yield d
        elif not d.postgres_exporter:
            yield _hv(pid, h, "roles/pg_exporter postgres_exporter is switched off")
        else:
            ctx.saw(f"{h.name}: lag published")
    monitors = [h for h in hosts if h.has_role("monitoring")]
    if not monitors:
        yield Violation(pid, "hosts", "no host runs roles/monitoring: the off-site "
                        "replication lag is watched by nobody")
    want = {h.address: h.name for h in members}
    for m in monitors:
        d = role_data(pid, m, "monitoring", "has no roles/monitoring data")
        if isinstance(d, Violation):
            yield d
            continue
        if not d.alerts:
            yield _hv(pid, m, "roles/monitoring alerts are switched off")
        if d.offsite_rpo_seconds != tier.offsite_rpo_seconds:
            yield _hv(pid, m, f"alerts at {d.offsite_rpo_seconds} s of off-site lag; tier "
                      f"{tier.name} offsite_rpo_seconds is {tier.offsite_rpo_seconds}")
        missing = sorted(n for a, n in want.items()
                         if a not in {t.address for t in d.targets})
        if missing:
            yield _hv(pid, m, f"does not scrape {', '.join(missing)}")
        else:
            ctx.saw(f"{m.name}: scrapes {len(want)} database hosts, alerts above "
                    f"{d.offsite_rpo_seconds} s")


POLICIES = [
    Policy(
        id="audit-retention",
        title="Audit records are kept at least 180 days",
        clauses=(C.CENTRAL_MGMT_D, C.COMPUTE_AUDIT_C),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Incidents are found late. The law (网络安全法 第二十一条) and 等保 ask that audit "
            "records survive at least six months; the collector's retention is what decides it."
        ),
        on_estate=check_retention_estate,
        on_hosts=check_retention_hosts,
    ),
    Policy(
        id="admin-two-factor",
        title="Administrators authenticate with two factors, one cryptographic, at the bastion",
        clauses=(C.COMPUTE_AUTH_D, C.CLOUD_AUTH, C.CRYPTO_DEVICE),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "A stolen key or password alone must not open an administrative session. Each "
            "operator needs two different authentication techniques, one a cryptographic key "
            "(ssh-key + TOTP at the bastion), and the bastion must actually demand both."
        ),
        on_estate=check_operator_factors,
        on_hosts=check_bastion_hosts,
    ),
    Policy(
        id="log-forwarding",
        title="Every host forwards its logs to its site's log-audit collector",
        clauses=(C.CENTRAL_MGMT_D, C.COMPUTE_AUDIT_A),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Records left on the host that produced them can be wiped by whoever compromised "
            "it. Every host ships them to the central collector of its site, over a flow the "
            "matrix allows."
        ),
        on_hosts=check_forwarding,
    ),
    Policy(
        id="offsite-lag-monitored",
        title="Off-site replication lag is monitored and alerted at the tier's RPO",
        clauses=(C.CENTRAL_MGMT_C,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "At a month-end peak the inter-region link can fall behind; a region loss at "
            "that moment loses more than the tier allows. Every database host publishes its "
            "replication lag and every monitoring host alerts above offsite_rpo_seconds, so "
            "it is seen before a disaster, not measured after one."
        ),
        on_hosts=check_lag_monitoring,
    ),
]
