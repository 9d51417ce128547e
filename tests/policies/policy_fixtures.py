"""Plain-data fixtures in the shape the offline plan and CrossGuard hand the policies.

Resources are ``kubernetes:<group>/<version>:<Kind>`` with camelCase props and the
``govcloud.io/*`` labels; estates are the sample with one thing changed; hosts are
HostConfigs holding role data objects with the roles' field names.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from govcloud.model import Estate
from policies.core import Context, HostConfig, Resource, Violation, run_stack
from policies.registry import policy

STACK = "region-a-dc1"
PREFIX = f"urn:pulumi:{STACK}::govcloud::"


def _urn(t: str, name: str) -> str:
    return f"{PREFIX}{t}::{name}"


def namespace(name: str, dept: str | None, zone: str | None) -> Resource:
    labels = {}
    if dept:
        labels["govcloud.io/department"] = dept
    if zone:
        labels["govcloud.io/zone"] = zone
    t = "kubernetes:core/v1:Namespace"
    return Resource(t, name, {"metadata": {"name": name, "labels": labels}}, _urn(t, name), STACK)


def netpol(ns: str, name: str, spec: dict[str, Any]) -> Resource:
    t = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    props = {"metadata": {"name": name, "namespace": ns}, "spec": spec}
    return Resource(t, f"{ns}-{name}", props, _urn(t, f"{ns}-{name}"), STACK)


def deny_all(ns: str) -> Resource:
    return netpol(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow(
    ns: str,
    name: str,
    direction: str,
    peers: list[dict[str, Any]] | None,
    ports: list[tuple[str, int]] | None = None,
) -> Resource:
    rule: dict[str, Any] = {}
    if peers is not None:
        rule["from" if direction == "ingress" else "to"] = peers
    if ports:
        rule["ports"] = [{"protocol": p.upper(), "port": n} for p, n in ports]
    kind = "Ingress" if direction == "ingress" else "Egress"
    return netpol(ns, name, {"podSelector": {}, "policyTypes": [kind], direction: [rule]})


def ns_peer(**labels: str) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchLabels": {f"govcloud.io/{k}": v for k, v in labels.items()}}
    }


def deployment(
    ns: str,
    name: str,
    *,
    dept: str = "health",
    system: str = "ehr",
    tier: str = "dual-active",
    placement: str = "active",
    level: str = "3",
    pod: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
    kind: str = "Deployment",
) -> Resource:
    labels = {
        "govcloud.io/department": dept,
        "govcloud.io/system": system,
        "govcloud.io/component": name,
        "govcloud.io/dr-tier": tier,
        "govcloud.io/placement": placement,
        "govcloud.io/mlps-level": level,
    }
    c = {
        "name": name,
        "image": "registry.govcloud.internal/health/ehr:1.0",
        "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
        **(container or {}),
    }
    spec = {"containers": [c], **(pod or {})}
    t = f"kubernetes:apps/v1:{kind}"
    props = {
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": labels}, "spec": spec}},
    }
    return Resource(t, f"{ns}-{name}", props, _urn(t, f"{ns}-{name}"), STACK)


def with_(estate: Estate, **update: Any) -> Estate:
    """The estate with some fields replaced (look-up caches dropped so they rebuild)."""
    new = estate.model_copy(update=update)
    for cached in ("site_by_name", "zone_by_name", "tier_by_name"):
        new.__dict__.pop(cached, None)
    return new


def role_data(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def host(
    name: str,
    group: str,
    roles: dict[str, Any],
    zone: str = "extranet",
    site: str = STACK,
    address: str = "",
) -> HostConfig:
    return HostConfig(name, site, group, roles, address or f"10.0.0.{len(name)}", zone)


def run(
    policy_id: str,
    estate: Estate,
    resources: list[Resource] | None = None,
    hosts: list[HostConfig] | None = None,
    stack: str = STACK,
) -> list[Violation]:
    """Every check of the policy over the given inputs (what either adapter would do)."""
    p = policy(policy_id)
    ctx = Context(estate, stack=stack)
    found: list[Violation] = []
    if resources is not None:
        found += run_stack(p, resources, ctx)
    if p.on_estate is not None:
        found += list(p.on_estate(ctx))
    if p.on_hosts is not None and hosts is not None:
        found += list(p.on_hosts(hosts, ctx))
    return found


def pdb(ns: str, name: str, selector: dict[str, str], **spec: Any) -> Resource:
    t = "kubernetes:policy/v1:PodDisruptionBudget"
    props = {"metadata": {"name": name, "namespace": ns},
             "spec": {"selector": {"matchLabels": selector}, **spec}}
    return Resource(t, f"{ns}-{name}", props, _urn(t, f"{ns}-{name}"), STACK)


def guardrails(registry: str, actions: tuple[str, ...] = ("Deny",)) -> list[Resource]:
    """The stacks' admission policies and bindings (from components/admission.py)."""
    from components.admission import binding_spec, guardrail_specs

    group = "kubernetes:admissionregistration.k8s.io/v1"
    out = []
    for name, spec in guardrail_specs(registry).items():
        t = f"{group}:ValidatingAdmissionPolicy"
        out.append(Resource(t, name, {"metadata": {"name": name}, "spec": spec},
                            _urn(t, name), STACK))
        t = f"{group}:ValidatingAdmissionPolicyBinding"
        bspec = {**binding_spec(name), "validationActions": list(actions)}
        out.append(Resource(t, f"{name}-binding", {"metadata": {"name": name}, "spec": bspec},
                            _urn(t, f"{name}-binding"), STACK))
    return out
