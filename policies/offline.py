"""The offline adapter: every policy over every stack's plan, the estate and the hosts.

It feeds the same check functions CrossGuard runs with the offline plan
(``govcloud.plan.plan_stack``), the estate model and the host configuration the roles
would deploy, applies the waivers, and returns a :class:`Report` — one
:class:`Result` per (policy, target), where a target is a stack, ``estate`` or a host
group. A mandatory policy that could not be evaluated (no plan, no host model) counts
as failing: a control without evidence is not a control.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from govcloud.model import Estate, SiteName
from policies.core import (
    Context,
    Enforcement,
    HostConfig,
    Policy,
    Resource,
    Violation,
    run_stack,
)
from policies.registry import POLICIES
from policies.waivers import Waived, Waiver, apply_waivers, expired_waivers


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WAIVED = "waived"  # violations exist, every one covered by a live waiver
    UNEVALUATED = "unevaluated"  # the input (plan, hosts) could not be produced


@dataclass
class Result:
    policy: Policy
    target: str  # "stack:<name>", "estate", "hosts:<group>", "waivers"
    status: Status
    violations: list[Violation] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def failing(self) -> bool:
        return self.status in (Status.FAIL, Status.UNEVALUATED)


@dataclass
class Report:
    today: dt.date
    stacks: list[str]
    host_groups: list[str]
    results: list[Result]
    waivers: list[Waiver]
    plan_errors: dict[str, str] = field(default_factory=dict)
    hosts_error: str = ""

    def for_policy(self, policy_id: str) -> list[Result]:
        return [r for r in self.results if r.policy.id == policy_id]

    def failures(self, enforcement: Enforcement | None = Enforcement.MANDATORY) -> list[Result]:
        return [
            r
            for r in self.results
            if r.failing and (enforcement is None or r.policy.enforcement == enforcement)
        ]

    def unused_waivers(self) -> list[Waiver]:
        used = {id(w.waiver) for r in self.results for w in r.waived}
        return [w for w in self.waivers if id(w) not in used and not w.expired(self.today)]


def default_stacks(estate: Estate) -> list[str]:
    """One stack per site (stacks/Pulumi.<site>.yaml)."""
    return [str(s.name) for s in estate.sites]


def plan_resources(stack: str, estate_root: str | None) -> list[Resource]:
    """The offline plan of ``stack`` as plain resources (raises if the plan fails)."""
    from govcloud.plan import plan_stack  # heavy: Pulumi mock runtime

    plan = plan_stack(stack, estate_root=estate_root)
    return [
        Resource(type=r.type, name=r.name, props=dict(r.props), urn=r.urn, stack=stack)
        for r in plan.resources
    ]


def load_plans(
    estate: Estate, stacks: list[str] | None = None
) -> tuple[dict[str, list[Resource]], dict[str, str]]:
    """(plans by stack, errors by stack). A missing plan module is an error for every stack."""
    plans: dict[str, list[Resource]] = {}
    errors: dict[str, str] = {}
    for stack in stacks or default_stacks(estate):
        try:
            plans[stack] = plan_resources(stack, estate.root)
        except ImportError as exc:
            errors[stack] = f"the offline plan is not available ({exc})"
        except Exception as exc:  # a failing plan is reported, not a traceback
            errors[stack] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return plans, errors


def _result(
    policy: Policy,
    target: str,
    violations: list[Violation],
    evidence: list[str],
    waivers: list[Waiver],
    today: dt.date,
) -> Result:
    failing, waived = apply_waivers(policy.id, violations, waivers, today)
    status = Status.FAIL if failing else Status.WAIVED if waived else Status.PASS
    return Result(policy, target, status, failing, waived, evidence)


def evaluate(
    estate: Estate,
    plans: Mapping[str, list[Resource]],
    hosts: list[HostConfig] | None,
    waivers: list[Waiver],
    today: dt.date,
    policies: list[Policy] | None = None,
    plan_errors: Mapping[str, str] | None = None,
    hosts_error: str = "",
) -> Report:
    """Run ``policies`` (default: all) over the given inputs; pure, no I/O."""
    plan_errors = dict(plan_errors or {})
    stacks = sorted({*plans, *plan_errors})
    groups = sorted({h.group for h in hosts or []})
    results: list[Result] = []
    for p in policies or POLICIES:
        if p.reads_plan:
            for stack in stacks:
                target = f"stack:{stack}"
                if stack not in plans:
                    results.append(
                        Result(p, target, Status.UNEVALUATED, note=plan_errors.get(stack, ""))
                    )
                    continue
                ctx = Context(estate, stack=stack, today=today)
                found = run_stack(p, plans[stack], ctx)
                results.append(_result(p, target, found, ctx.evidence, waivers, today))
        if p.on_estate is not None:
            ctx = Context(estate, today=today)
            found = list(p.on_estate(ctx))
            results.append(_result(p, "estate", found, ctx.evidence, waivers, today))
        if p.on_hosts is not None:
            results.extend(_host_results(p, estate, hosts, waivers, today, hosts_error))
        if expired := expired_waivers(p.id, waivers, today):
            results.append(Result(p, "waivers", Status.FAIL, expired))
    return Report(today, stacks, groups, results, list(waivers), plan_errors, hosts_error)


def _host_results(
    p: Policy,
    estate: Estate,
    hosts: list[HostConfig] | None,
    waivers: list[Waiver],
    today: dt.date,
    hosts_error: str,
) -> list[Result]:
    assert p.on_hosts is not None
    if hosts is None:
        return [Result(p, "hosts", Status.UNEVALUATED, note=hosts_error or "no host model")]
    ctx = Context(estate, today=today)
    found = list(p.on_hosts(hosts, ctx))
    group_of = {h.name: h.group for h in hosts}
    by_group: dict[str, tuple[list[Violation], list[str]]] = {}
    for v in found:
        g = group_of.get(v.subject.removeprefix("host:"), "all")
        by_group.setdefault(g, ([], []))[0].append(v)
    for line in ctx.evidence:
        g = group_of.get(line.split(":", 1)[0].split(" ", 1)[0], "all")
        by_group.setdefault(g, ([], []))[1].append(line)
    return [
        _result(p, f"hosts:{g}", vs, ev, waivers, today) for g, (vs, ev) in sorted(by_group.items())
    ]


def host_inputs(estate: Estate) -> tuple[list[HostConfig] | None, str]:
    """Host configs derived from the model and roles, or (None, why not)."""
    from policies.hosts import host_configs

    try:
        hosts = host_configs(estate)
    except Exception as exc:  # report, don't crash the report
        return None, f"{type(exc).__name__}: {exc}"
    if hosts is None:
        return None, "no host model (govcloud.lab.topology) in this checkout"
    return hosts, ""


def site_hosts(hosts: list[HostConfig] | None, stack: str) -> list[HostConfig]:
    """The hosts of the site a stack deploys (CrossGuard evaluates hosts per stack)."""
    site = next((s.value for s in SiteName if stack.endswith(s.value)), None)
    return [h for h in hosts or [] if site is None or h.site == site]


def summary(report: Report) -> dict[str, Any]:
    """Counts for the CLI line and the report header."""
    by_status: dict[str, int] = {}
    for r in report.results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    return {
        "policies": len({r.policy.id for r in report.results}),
        "results": len(report.results),
        "by_status": by_status,
        "mandatory_failures": len(report.failures()),
        "advisory_failures": len(report.failures(Enforcement.ADVISORY)),
    }
