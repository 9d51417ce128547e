"""The CrossGuard adapter: the same policies as Pulumi ``ResourceValidationPolicy`` /
``StackValidationPolicy`` objects.

:func:`build_policies` only constructs policy objects (no engine, no gRPC server), so it
is importable and testable without the Pulumi CLI; ``policies/__main__.py`` hands the
list to ``PolicyPack``, which starts serving the engine at once. The estate, waivers and
host configuration are loaded lazily on the first validation (``$GOVCLOUD_ESTATE`` or
the repo's ``estate/``), never at import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Policy as PulumiPolicy

from govcloud.model import Estate, load_estate
from policies.core import (
    Context,
    Enforcement,
    HostConfig,
    Policy,
    Resource,
    Violation,
    run_stack,
    stack_of_urn,
)
from policies.registry import POLICIES
from policies.waivers import Waiver, apply_waivers, expired_waivers, load_waivers

PACK_NAME = "govcloud-mlps3"

LEVEL = {
    Enforcement.MANDATORY: EnforcementLevel.MANDATORY,
    Enforcement.ADVISORY: EnforcementLevel.ADVISORY,
}


@dataclass
class Inputs:
    """What the validators consult besides the resources, loaded once on first use."""

    estate_loader: Callable[[], Estate] = load_estate
    today: Callable[[], dt.date] = dt.date.today
    _estate: Estate | None = None
    _waivers: list[Waiver] | None = None
    _hosts: list[HostConfig] | None = field(default=None)
    _hosts_loaded: bool = False

    @property
    def estate(self) -> Estate:
        if self._estate is None:
            self._estate = self.estate_loader()
        return self._estate

    @property
    def waivers(self) -> list[Waiver]:
        if self._waivers is None:
            self._waivers = load_waivers(self.estate.root, [p.id for p in POLICIES])
        return self._waivers

    @property
    def hosts(self) -> list[HostConfig] | None:
        if not self._hosts_loaded:
            from policies.offline import host_inputs

            self._hosts, _ = host_inputs(self.estate)
            self._hosts_loaded = True
        return self._hosts


def _resource(r: Any, stack: str) -> Resource:
    return Resource(
        type=r.resource_type, name=r.name, props=dict(r.props or {}), urn=r.urn, stack=stack
    )


def _report(p: Policy, found: list[Violation], inputs: Inputs, report: ReportViolation) -> None:
    today = inputs.today()
    failing, _waived = apply_waivers(p.id, found, inputs.waivers, today)
    for v in [*failing, *expired_waivers(p.id, inputs.waivers, today)]:
        report(v.message, v.urn)


def _framework(p: Policy) -> PolicyComplianceFramework:
    first = p.clauses[0]
    return PolicyComplianceFramework(
        name=str(first.standard),
        version="level 3",
        reference=", ".join(c.ref for c in p.clauses),
        specification=first.text,
    )


def _description(p: Policy) -> str:
    refs = "; ".join(c.ref for c in p.clauses)
    return f"{p.title}. Implements {refs}. {p.rationale}"


def resource_validator(
    p: Policy, inputs: Inputs
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    assert p.on_resource is not None
    check = p.on_resource

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        stack = stack_of_urn(args.urn)
        ctx = Context(inputs.estate, stack=stack, today=inputs.today())
        _report(p, list(check(_resource(args, stack), ctx)), inputs, report)

    return validate


def stack_validator(
    p: Policy, inputs: Inputs
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        stack = next((stack_of_urn(r.urn) for r in args.resources if r.urn), "")
        resources = [_resource(r, stack) for r in args.resources]
        ctx = Context(inputs.estate, stack=stack or None, today=inputs.today())
        found = run_stack(p, resources, ctx)
        if p.on_estate is not None:
            found += list(p.on_estate(ctx))
        if p.on_hosts is not None:
            from policies.offline import site_hosts

            hosts = inputs.hosts
            if hosts is None:
                found.append(Violation(p.id, "hosts", "no host configuration could be derived"))
            else:
                found += list(p.on_hosts(site_hosts(hosts, stack), ctx))
        _report(p, found, inputs, report)

    return validate


def build_policies(inputs: Inputs | None = None) -> list[PulumiPolicy]:
    """One CrossGuard policy per control: resource-only checks become
    ResourceValidationPolicy, anything needing the whole stack, the estate or the hosts
    a StackValidationPolicy."""
    inputs = inputs or Inputs()
    out: list[PulumiPolicy] = []
    for p in POLICIES:
        common: dict[str, Any] = {
            "name": p.id,
            "description": _description(p),
            "enforcement_level": LEVEL[p.enforcement],
            "display_name": p.title,
            "framework": _framework(p),
            "tags": sorted({str(c.standard) for c in p.clauses}),
        }
        only_resource = p.on_resource is not None and not (p.on_stack or p.on_estate or p.on_hosts)
        if only_resource:
            out.append(ResourceValidationPolicy(validate=resource_validator(p, inputs), **common))
        else:
            out.append(StackValidationPolicy(validate=stack_validator(p, inputs), **common))
    return out


def pack_kwargs(inputs: Inputs | None = None) -> dict[str, Any]:
    """Everything ``PolicyPack(**pack_kwargs())`` needs; constructing it starts the server."""
    return {
        "name": PACK_NAME,
        "policies": build_policies(inputs),
        "enforcement_level": EnforcementLevel.ADVISORY,
        "description": "govcloud: 等保2.0 level 3 (GB/T 22239-2019) and 密评 (GB/T 39786-2021) "
        "controls over the estate's stacks",
    }
