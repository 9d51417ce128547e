"""Finer cases of policies/guardrails.py: budgets, secret modes, probes, admission."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import STACK, deployment, guardrails, namespace, pdb, run, with_

from govcloud.model import Estate

REGISTRY = "registry.govcloud.example.cn"
PINNED = f"{REGISTRY}/health/ehr/api@sha256:{'cd' * 32}"
EHR_API = {"govcloud.io/system": "ehr", "govcloud.io/component": "api"}
NS = namespace("health-extranet", "health", "extranet")


def _messages(pid: str, estate: Estate, *resources: Any) -> list[str]:
    return [v.message for v in run(pid, estate, [NS, *resources])]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"maxUnavailable": 0}, "allows no eviction: a node drain would hang on it"),
        ({"minAvailable": 2}, "allows no eviction"),
        ({"maxUnavailable": "100%"}, "lets 2 of 2 replicas go at once"),
        ({"minAvailable": "50%"}, None),
        ({"maxUnavailable": 1}, None),
        # the engine's wire format: every number is a float
        ({"maxUnavailable": 1.0}, None),
        ({"maxUnavailable": 0.0}, "allows no eviction"),
    ],
)
def test_a_budget_must_let_one_go_and_keep_the_rest(
    estate: Estate, spec: dict[str, Any], words: str | None
) -> None:
    found = _messages("workload-disruption-budget", estate, deployment("health-extranet", "api"),
                      pdb("health-extranet", "b", EHR_API, **spec))
    assert (any(words in m for m in found) if words else found == []), found


def test_one_replica_is_evidence_of_a_single_point_of_failure(estate: Estate) -> None:
    one = deployment("health-extranet", "api")
    one.props["spec"]["replicas"] = 1
    from policies.core import Context
    from policies.guardrails import check_disruption_budgets

    ctx = Context(estate, stack=STACK)
    assert list(check_disruption_budgets([NS, one], ctx)) == []
    assert ctx.evidence == ["single point of failure on region-a-dc1: health-extranet/api "
                            "(1 replica: no budget can keep it up through a drain)"]


@pytest.mark.parametrize(
    ("volume", "mount", "words"),
    [
        ({"secretName": "k"}, {"readOnly": True}, "files have mode 0644"),
        ({"secretName": "k", "defaultMode": 0o440, "items": [{"key": "a", "path": "a",
                                                              "mode": 0o666}]},
         {"readOnly": True}, "files have mode 0666"),
        ({"secretName": "k", "defaultMode": 0o400}, {}, "mounts secret volume key writable"),
        ({"secretName": "k", "defaultMode": 0o400}, {"readOnly": True}, None),
    ],
)
def test_secret_files_are_read_only_and_private(
    estate: Estate, volume: dict[str, Any], mount: dict[str, Any], words: str | None
) -> None:
    d = deployment("health-extranet", "api",
                   pod={"volumes": [{"name": "key", "secret": volume}]},
                   container={"volumeMounts": [{"name": "key", "mountPath": "/k", **mount}]})
    found = _messages("secrets-as-files", estate, d)
    assert (any(words in m for m in found) if words else found == []), found


def test_env_from_a_whole_secret_is_refused(estate: Estate) -> None:
    d = deployment("health-extranet", "api", container={"envFrom": [{"secretRef": {"name": "db"}}]})
    assert any("loads secret db into its environment" in m
               for m in _messages("secrets-as-files", estate, d))


def test_run_to_completion_pods_need_no_probes(estate: Estate) -> None:
    job = deployment("health-extranet", "api", kind="Job")
    assert _messages("workload-probes", estate, job) == []


def test_an_image_rule_in_the_estate_fails_the_policy(estate: Estate) -> None:
    health = next(d for d in estate.departments if d.name == "health")
    sys0 = health.systems[0]
    comp = sys0.components[0].model_copy(
        update={"image": sys0.components[0].image.model_copy(update={"digest": None})})
    sys_new = sys0.model_copy(update={"components": [comp, *sys0.components[1:]]})
    dept = health.model_copy(update={"systems": [sys_new, *health.systems[1:]]})
    dept._source = health.source
    broken = with_(estate, departments=[dept if d is health else d for d in estate.departments])
    found = [v.message for v in run("images-pinned-by-digest", broken, [])]
    assert any("[image-digest]" in m and "has no digest" in m for m in found), found


def test_guardrails_that_refuse_the_stacks_own_workload_are_reported(estate: Estate) -> None:
    no_probes = deployment("health-extranet", "api", container={"image": PINNED})
    found = _messages("admission-guardrails", estate, *guardrails(REGISTRY), no_probes)
    assert found == [
        f"{STACK}/Deployment/health-extranet/api: the stack's own admission policy "
        "govcloud-workload-limits-probes would refuse it: every long-running container "
        "needs a liveness and a readiness probe (a hung process is otherwise never restarted)"
    ]


def test_guardrails_bound_outside_tenant_namespaces_do_not_count(estate: Estate) -> None:
    rs = guardrails(REGISTRY)
    for r in rs:
        if r.kind == "ValidatingAdmissionPolicyBinding":
            r.props["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "kube-system"}}}
    found = _messages("admission-guardrails", estate, *rs)
    assert len(found) == 5 and all("no admission policy bound in Deny mode" in m for m in found)
