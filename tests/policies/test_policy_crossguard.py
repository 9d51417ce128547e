"""The CrossGuard pack: built without an engine, and its validators run the same checks."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

from policy_fixtures import deployment, namespace
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from govcloud.model import Estate
from policies.crossguard import PACK_NAME, Inputs, build_policies, pack_kwargs
from policies.registry import POLICIES


def _inputs(estate: Estate, today: dt.date = dt.date(2026, 11, 21)) -> Inputs:
    return Inputs(estate_loader=lambda: estate, today=lambda: today)


def test_pack_is_built_without_serving(estate: Estate) -> None:
    kw = pack_kwargs(_inputs(estate))
    assert kw["name"] == PACK_NAME
    pols = kw["policies"]
    assert [p.name for p in pols] == [p.id for p in POLICIES]
    by_name = {p.name: p for p in pols}
    assert isinstance(by_name["no-privileged-workloads"], ResourceValidationPolicy)
    assert isinstance(by_name["tenant-default-deny"], StackValidationPolicy)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pols)
    assert "8.2.2.1 b)" in by_name["no-cross-department"].description
    # importing the entry point must not start the gRPC server
    main = importlib.import_module("policies.__main__")
    assert callable(main.main)


def _rargs(r) -> ResourceValidationArgs:
    return ResourceValidationArgs(r.type, r.props, r.urn, r.name, None, None)


def test_resource_validator_reports_with_urn(estate: Estate) -> None:
    pol = {p.name: p for p in build_policies(_inputs(estate))}["no-privileged-workloads"]
    bad = deployment("health-extranet", "api", pod={"hostPID": True})
    got: list[tuple[str, str | None]] = []
    pol.validate(_rargs(bad), lambda msg, urn=None: got.append((msg, urn)))
    assert got and "hostPID: true" in got[0][0]
    assert got[0][1] == bad.urn
    got.clear()
    pol.validate(_rargs(deployment("health-extranet", "api")), lambda m, u=None: got.append(m))
    assert got == []


def test_stack_validator_takes_stack_from_urn_and_applies_waivers(estate: Estate) -> None:
    pols = {p.name: p for p in build_policies(_inputs(estate))}
    ns = namespace("health-extranet", "health", "extranet")
    res = [SimpleNamespace(resource_type=ns.type, props=ns.props, urn=ns.urn, name=ns.name)]
    got: list[str] = []
    pols["tenant-default-deny"].validate(StackValidationArgs(res), lambda m, u=None: got.append(m))
    assert any("region-a-dc1/Namespace/health-extranet" in m for m in got)
    # crypto-sm fails in the sample but every finding is waived until 2027
    got.clear()
    pols["crypto-sm"].validate(StackValidationArgs(res), lambda m, u=None: got.append(m))
    assert got == []
    late = {p.name: p for p in build_policies(_inputs(estate, dt.date(2028, 1, 1)))}
    late["crypto-sm"].validate(StackValidationArgs(res), lambda m, u=None: got.append(m))
    assert any("expired on" in m for m in got)


def test_admission_guardrails_run_on_the_engines_proxied_props(estate: Estate) -> None:
    """CrossGuard hands props as read-only proxies; the offline CEL evaluator needs JSON."""
    from policy_fixtures import guardrails
    from pulumi_policy.proxy import unknown_checking_proxy

    pol = {p.name: p for p in build_policies(_inputs(estate))}["admission-guardrails"]
    registry = estate.cloud.registry
    pinned = {"image": f"{registry}/health/ehr/api@sha256:{'e' * 64}"}
    probes = {"livenessProbe": {"tcpSocket": {"port": 8080}},
              "readinessProbe": {"tcpSocket": {"port": 8080}}}

    def validate(*resources) -> list[str]:
        res = [SimpleNamespace(resource_type=r.type, props=unknown_checking_proxy(dict(r.props)),
                               urn=r.urn, name=r.name) for r in resources]
        got: list[str] = []
        pol.validate(StackValidationArgs(res), lambda m, u=None: got.append(m))
        return got

    ns = namespace("health-extranet", "health", "extranet")
    good = deployment("health-extranet", "api", container={**pinned, **probes})
    assert validate(ns, *guardrails(registry), good) == []
    bad = deployment("health-extranet", "api", container=pinned)
    assert any("would refuse it: every long-running container needs a liveness" in m
               for m in validate(ns, *guardrails(registry), bad))
