"""AdmissionGuardrails: the CEL of each policy against compliant and violating objects.

Evaluated offline with ``policies.cel`` (celpy); the engine suite applies the same
objects to a real API server (tests/engine/test_live.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.admission import binding_spec, guardrail_specs
from policies import cel

REGISTRY = "registry.govcloud.example.cn"
SPECS = guardrail_specs(REGISTRY)
PINNED = f"{REGISTRY}/health/ehr/api@sha256:{'0123456789abcdef' * 4}"
GOOD = {
    "name": "api",
    "image": PINNED,
    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    "livenessProbe": {"tcpSocket": {"port": 8080}},
    "readinessProbe": {"tcpSocket": {"port": 8080}},
}
EXTRANET = {"metadata": {"labels": {"govcloud.io/department": "health",
                                    "govcloud.io/zone": "extranet"}}}
INTERNET = {"metadata": {"labels": {"govcloud.io/department": "health",
                                    "govcloud.io/zone": "internet"}}}


def _pod_spec(**container: Any) -> dict[str, Any]:
    return {"containers": [{**GOOD, **container}]}


def _wrap(kind: str, pod_spec: dict[str, Any]) -> dict[str, Any]:
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "spec": pod_spec}
    group = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    template = {"spec": pod_spec}
    if kind == "CronJob":
        return {"apiVersion": group, "kind": kind,
                "spec": {"jobTemplate": {"spec": {"template": template}}}}
    return {"apiVersion": group, "kind": kind, "spec": {"template": template}}


def _refusals(obj: dict[str, Any], ns: dict[str, Any] = EXTRANET) -> list[str]:
    return [m for spec in SPECS.values() for m in cel.denials(spec, obj, ns)]


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet",
                                  "ReplicaSet"])
def test_a_compliant_workload_is_admitted(kind: str) -> None:
    assert _refusals(_wrap(kind, _pod_spec())) == []


@pytest.mark.parametrize("kind", ["Job", "CronJob"])
def test_a_run_to_completion_pod_needs_no_probes(kind: str) -> None:
    spec = _pod_spec()
    for probe in ("livenessProbe", "readinessProbe"):
        del spec["containers"][0][probe]
    spec["restartPolicy"] = "Never"
    assert _refusals(_wrap(kind, spec)) == []


VIOLATIONS = {
    "foreign-image": (
        _pod_spec(image="docker.io/library/nginx@sha256:" + "1" * 64),
        "image docker.io/library/nginx@sha256:" + "1" * 64 + " is not from the cloud "
        f"registry {REGISTRY}",
    ),
    "look-alike-registry": (
        _pod_spec(image=f"{REGISTRY}.evil.example/x@sha256:" + "1" * 64),
        "is not from the cloud registry",
    ),
    "tag-only": (
        _pod_spec(image=f"{REGISTRY}/health/ehr/api:stable"),
        f"image {REGISTRY}/health/ehr/api:stable is not pinned by digest",
    ),
    "short-digest": (
        _pod_spec(image=f"{REGISTRY}/health/ehr/api@sha256:abc"),
        "is not pinned by digest",
    ),
    "init-container-by-tag": (
        {"containers": [GOOD],
         "initContainers": [{**GOOD, "name": "init", "image": f"{REGISTRY}/x/y:1"}]},
        f"image {REGISTRY}/x/y:1 is not pinned by digest",
    ),
    "no-limits": (_pod_spec(resources={}), "every container must set CPU and memory limits"),
    "memory-limit-only": (
        _pod_spec(resources={"limits": {"memory": "1Gi"}}),
        "every container must set CPU and memory limits",
    ),
    "no-liveness": (
        {"containers": [{k: v for k, v in GOOD.items() if k != "livenessProbe"}]},
        "every long-running container needs a liveness and a readiness probe",
    ),
}


# a run-to-completion pod (CronJob) is not asked for probes
KIND_CASES = [(kind, case) for kind in ("Pod", "Deployment", "CronJob") for case in VIOLATIONS
              if not (kind == "CronJob" and case == "no-liveness")]


@pytest.mark.parametrize(("kind", "case"), KIND_CASES)
def test_a_violating_workload_is_refused_with_the_message(kind: str, case: str) -> None:
    pod_spec, message = copy.deepcopy(VIOLATIONS[case])
    if kind == "CronJob":
        pod_spec["restartPolicy"] = "OnFailure"
    refusals = _refusals(_wrap(kind, pod_spec))
    assert any(message in r for r in refusals), refusals


@pytest.mark.parametrize("type_", ["NodePort", "LoadBalancer"])
def test_node_ports_only_in_the_internet_zone(type_: str) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "spec": {"type": type_}}
    assert _refusals(svc, INTERNET) == []
    assert _refusals(svc, EXTRANET) == [
        "a Service of type NodePort or LoadBalancer is allowed only in the internet zone; "
        "other zones are reached through their gateways"
    ]


@pytest.mark.parametrize("spec", [{}, {"type": "ClusterIP"}, {"clusterIP": "None"}])
def test_cluster_internal_services_are_admitted_anywhere(spec: dict[str, Any]) -> None:
    assert _refusals({"apiVersion": "v1", "kind": "Service", "spec": spec}, EXTRANET) == []


def test_bindings_deny_in_tenant_namespaces_only() -> None:
    for name in SPECS:
        b = binding_spec(name)
        assert b["validationActions"] == ["Deny"]
        assert b["matchResources"]["namespaceSelector"]["matchExpressions"] == [
            {"key": "govcloud.io/department", "operator": "Exists"}]
        assert SPECS[name]["failurePolicy"] == "Fail"


def test_every_tenant_object_the_stacks_plan_is_admitted(stack_plans: dict) -> None:
    checked = 0
    for plan in stack_plans.values():
        ns_labels = {m["metadata"]["name"]: m["metadata"].get("labels", {})
                     for m in plan.manifests if m["kind"] == "Namespace"}
        for m in plan.manifests:
            ns = m["metadata"].get("namespace")
            if ns not in ns_labels or m["kind"] not in cel.RESOURCES:
                continue
            assert _refusals(m, {"metadata": {"labels": ns_labels[ns]}}) == [], m["metadata"]
            checked += 1
    assert checked > 500
