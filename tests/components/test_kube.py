"""KubeObject registers exactly what the pulumi-kubernetes typed class registers.

For every kind the components use, one object is registered through the typed class
(snake_case arguments, as a user of pulumi-kubernetes writes them) and one through
:class:`components.kube.KubeObject` (the camelCase manifest), each under a recording
mock monitor; the ``RegisterResourceRequest``s must be equal field by field, except
the source position / stack trace (where in *this* file the call was made).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import mocks

from components import kube
from govcloud.plan import run_program

META = {"name": "x", "namespace": "ns", "labels": {"govcloud.io/zone": "extranet"}}
POD_SPEC_SNAKE = {"containers": [{"name": "c", "image": "i", "security_context": {
    "run_as_non_root": True}}], "automount_service_account_token": False}
POD_SPEC_CAMEL = {"containers": [{"name": "c", "image": "i", "securityContext": {
    "runAsNonRoot": True}}], "automountServiceAccountToken": False}
SELECTOR = {"match_labels": {"app": "a"}}
SECRET = "<secret>"

# kind -> (typed constructor, KubeObject body); the body is the camelCase of the args
CASES: dict[str, tuple[Callable[..., Any], dict[str, Any], dict[str, Any]]] = {
    "Namespace": (k8s.core.v1.Namespace, {"metadata": META}, {"metadata": META}),
    "ResourceQuota": (k8s.core.v1.ResourceQuota,
                      {"metadata": META, "spec": {"hard": {"requests.cpu": "1"}}},
                      {"metadata": META, "spec": {"hard": {"requests.cpu": "1"}}}),
    "LimitRange": (k8s.core.v1.LimitRange,
                   {"metadata": META, "spec": {"limits": [{"type": "Container",
                                                           "default_request": {"cpu": "1"}}]}},
                   {"metadata": META, "spec": {"limits": [{"type": "Container",
                                                           "defaultRequest": {"cpu": "1"}}]}}),
    "Service": (k8s.core.v1.Service,
                {"metadata": META, "spec": {"cluster_ip": "None", "ports": [
                    {"port": 1, "target_port": "s"}]}},
                {"metadata": META, "spec": {"clusterIP": "None", "ports": [
                    {"port": 1, "targetPort": "s"}]}}),
    "PersistentVolumeClaim": (k8s.core.v1.PersistentVolumeClaim,
                              {"metadata": META, "spec": {"access_modes": ["ReadWriteOnce"]}},
                              {"metadata": META, "spec": {"accessModes": ["ReadWriteOnce"]}}),
    # the secret Output itself is made inside the program (an Output belongs to the
    # event loop of the run that created it)
    "Secret": (k8s.core.v1.Secret,
               {"metadata": META, "type": "Opaque", "string_data": {"k": SECRET}},
               {"metadata": META, "type": "Opaque", "stringData": {"k": SECRET}}),
    "Role": (k8s.rbac.v1.Role,
             {"metadata": META, "rules": [{"api_groups": [""], "resources": ["pods"],
                                           "verbs": ["get"]}]},
             {"metadata": META, "rules": [{"apiGroups": [""], "resources": ["pods"],
                                           "verbs": ["get"]}]}),
    "RoleBinding": (k8s.rbac.v1.RoleBinding,
                    {"metadata": META,
                     "role_ref": {"api_group": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "r"},
                     "subjects": [{"api_group": "rbac.authorization.k8s.io",
                                   "kind": "Group", "name": "g"}]},
                    {"metadata": META,
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                 "name": "r"},
                     "subjects": [{"apiGroup": "rbac.authorization.k8s.io",
                                   "kind": "Group", "name": "g"}]}),
    "NetworkPolicy": (k8s.networking.v1.NetworkPolicy,
                      {"metadata": META, "spec": {"pod_selector": {},
                                                  "policy_types": ["Ingress"]}},
                      {"metadata": META, "spec": {"podSelector": {},
                                                  "policyTypes": ["Ingress"]}}),
    "Deployment": (k8s.apps.v1.Deployment,
                   {"metadata": META, "spec": {"selector": SELECTOR, "template": {
                       "spec": POD_SPEC_SNAKE}}},
                   {"metadata": META, "spec": {"selector": {"matchLabels": {"app": "a"}},
                                               "template": {"spec": POD_SPEC_CAMEL}}}),
    "StatefulSet": (k8s.apps.v1.StatefulSet,
                    {"metadata": META, "spec": {"service_name": "s", "selector": SELECTOR,
                                                "template": {"spec": POD_SPEC_SNAKE}}},
                    {"metadata": META, "spec": {"serviceName": "s",
                                                "selector": {"matchLabels": {"app": "a"}},
                                                "template": {"spec": POD_SPEC_CAMEL}}}),
    "CronJob": (k8s.batch.v1.CronJob,
                {"metadata": META, "spec": {"schedule": "0 1 * * *", "time_zone": "UTC",
                                            "job_template": {"spec": {"template": {
                                                "spec": POD_SPEC_SNAKE}}}}},
                {"metadata": META, "spec": {"schedule": "0 1 * * *", "timeZone": "UTC",
                                            "jobTemplate": {"spec": {"template": {
                                                "spec": POD_SPEC_CAMEL}}}}}),
    "PodDisruptionBudget": (k8s.policy.v1.PodDisruptionBudget,
                            {"metadata": META, "spec": {"max_unavailable": 1,
                                                        "selector": SELECTOR}},
                            {"metadata": META, "spec": {"maxUnavailable": 1, "selector": {
                                "matchLabels": {"app": "a"}}}}),
    "ValidatingAdmissionPolicy": (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
        {"metadata": {"name": "p"}, "spec": {
            "failure_policy": "Fail",
            "match_constraints": {"resource_rules": [{
                "api_groups": [""], "api_versions": ["v1"], "operations": ["CREATE"],
                "resources": ["pods"]}]},
            "validations": [{"expression": "true", "message": "m"}]}},
        {"metadata": {"name": "p"}, "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                "resources": ["pods"]}]},
            "validations": [{"expression": "true", "message": "m"}]}}),
    "ValidatingAdmissionPolicyBinding": (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding,
        {"metadata": {"name": "b"}, "spec": {"policy_name": "p",
                                             "validation_actions": ["Deny"]}},
        {"metadata": {"name": "b"}, "spec": {"policyName": "p",
                                             "validationActions": ["Deny"]}}),
}


def _requests(
    monkeypatch: pytest.MonkeyPatch, program: Callable[[pulumi.ResourceOptions], None]
) -> dict[str, Any]:
    """Run ``program`` under the plan's mock runtime; the requests the monitor received."""
    seen: dict[str, Any] = {}

    class Recording(mocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            seen[request.name] = request
            return super().RegisterResource(request)

    monkeypatch.setattr(mocks, "MockMonitor", Recording)

    def run() -> None:
        provider = k8s.Provider("p", context="c")
        parent = pulumi.ComponentResource("test:x:Parent", "parent")
        program_opts = pulumi.ResourceOptions(provider=provider, parent=parent)
        program(program_opts)

    run_program("kube-test", run, {"govcloud:site": "x"}, [])
    return seen


def _comparable(request: Any) -> Any:
    request = type(request).FromString(request.SerializeToString())
    request.ClearField("sourcePosition")
    request.ClearField("stackTrace")
    return request


def test_every_kind_the_components_use_is_covered() -> None:
    assert sorted(CASES) == sorted(k.kind for k in kube.KINDS)


@pytest.mark.parametrize("kind", kube.KINDS, ids=lambda k: k.kind)
def test_kube_object_registers_what_the_typed_class_registers(
    monkeypatch: pytest.MonkeyPatch, kind: kube.Kind
) -> None:
    typed, args, body = CASES[kind.kind]

    def secret(value: Any) -> Any:
        if value == SECRET:
            return pulumi.Output.secret("v")
        if isinstance(value, dict):
            return {k: secret(v) for k, v in value.items()}
        return value

    def program(opts: pulumi.ResourceOptions) -> None:
        typed("typed", opts=opts, **secret(args))
        kube.KubeObject(kind, "light", secret(body), opts)

    seen = _requests(monkeypatch, program)
    typed_req, light_req = _comparable(seen["typed"]), _comparable(seen["light"])
    assert typed_req.type == kind.token
    light_req.name = typed_req.name = ""
    assert light_req == typed_req
    # the comparison is not vacuous: the properties and options really were sent
    assert typed_req.object["kind"] == kind.kind
    assert "metadata" in typed_req.object
    assert typed_req.version
    assert len(typed_req.aliases) + len(typed_req.aliasURNs) == len(kind.aliases)
    assert list(typed_req.additionalSecretOutputs) == list(kind.secret_fields)
