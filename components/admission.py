"""AdmissionGuardrails: what the API server itself refuses in tenant namespaces.

The plan's policies check what *this repository* renders; a department administrator
can still ``kubectl apply`` anything its Role allows. These guardrails put the same
rules into every site's API server as Kubernetes-native ``ValidatingAdmissionPolicy``
objects (CEL, evaluated in the API server: no webhook server to run, patch or keep
available) with a binding in ``Deny`` mode scoped to the tenant namespaces:

- ``govcloud-images``: every container image comes from the cloud registry
  (``estate/cloud.yaml``) and is pinned by digest (``repo@sha256:<64 hex>``);
- ``govcloud-workload-limits-probes``: every container sets CPU and memory limits, and
  every long-running one (restart policy ``Always``) has liveness and readiness probes;
- ``govcloud-service-exposure``: a Service of type NodePort or LoadBalancer only in an
  internet-zone namespace (every other zone is reached through its gateways).

The registry and the zone names are read from the model; the expressions are plain
data so ``policies/cel.py`` evaluates the very same objects offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.common import MANAGED_BY
from components.kube import (
    VALIDATING_ADMISSION_POLICY,
    VALIDATING_ADMISSION_POLICY_BINDING,
    KubeObject,
)
from govcloud.model import Label, Zone

_WRITE = ["CREATE", "UPDATE"]
WORKLOAD_RULES = [
    {"apiGroups": [""], "apiVersions": ["v1"], "operations": _WRITE,
     "resources": ["pods"]},
    {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": _WRITE,
     "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"]},
    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": _WRITE,
     "resources": ["jobs", "cronjobs"]},
]
SERVICE_RULES = [
    {"apiGroups": [""], "apiVersions": ["v1"], "operations": _WRITE,
     "resources": ["services"]},
]
# The pod spec wherever the kind keeps it, and every container that runs an image.
POD_SPEC_VARIABLES = [
    {"name": "podSpec",
     "expression": "object.kind == 'Pod' ? object.spec : "
                   "(object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec "
                   ": object.spec.template.spec)"},
    {"name": "containers",
     "expression": "variables.podSpec.containers + "
                   "(has(variables.podSpec.initContainers) ? "
                   "variables.podSpec.initContainers : [])"},
]
DIGEST_PATTERN = "^[^@]+@sha256:[0-9a-f]{64}$"


@dataclass(frozen=True)
class AdmissionGuardrailsArgs:
    registry: str  # estate.cloud.registry


def guardrail_specs(registry: str) -> dict[str, dict[str, Any]]:
    """Each guardrail's ``ValidatingAdmissionPolicy`` spec, by policy name."""
    prefix = f"{registry}/"
    zone = Label.ZONE.value
    return {
        "govcloud-images": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": WORKLOAD_RULES},
            "variables": POD_SPEC_VARIABLES,
            "validations": [
                {
                    "expression": f"variables.containers.all(c, c.image.startsWith('{prefix}'))",
                    "messageExpression": (
                        "'image ' + variables.containers.filter(c, !c.image.startsWith("
                        f"'{prefix}'))[0].image + ' is not from the cloud registry "
                        f"{registry}'"
                    ),
                    "message": f"images must come from the cloud registry {registry}",
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        f"variables.containers.all(c, c.image.matches('{DIGEST_PATTERN}'))"
                    ),
                    "messageExpression": (
                        "'image ' + variables.containers.filter(c, !c.image.matches("
                        f"'{DIGEST_PATTERN}'))[0].image + ' is not pinned by digest: "
                        "reference it as <repository>@sha256:<digest>'"
                    ),
                    "message": "images must be pinned by digest (<repository>@sha256:<digest>)",
                    "reason": "Forbidden",
                },
            ],
        },
        "govcloud-workload-limits-probes": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": WORKLOAD_RULES},
            "variables": POD_SPEC_VARIABLES,
            "validations": [
                {
                    "expression": (
                        "variables.containers.all(c, has(c.resources) && "
                        "has(c.resources.limits) && 'cpu' in c.resources.limits && "
                        "'memory' in c.resources.limits)"
                    ),
                    "message": "every container must set CPU and memory limits",
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "(has(variables.podSpec.restartPolicy) && "
                        "variables.podSpec.restartPolicy != 'Always') || "
                        "variables.podSpec.containers.all(c, has(c.livenessProbe) && "
                        "has(c.readinessProbe))"
                    ),
                    "message": (
                        "every long-running container needs a liveness and a readiness "
                        "probe (a hung process is otherwise never restarted)"
                    ),
                    "reason": "Forbidden",
                },
            ],
        },
        "govcloud-service-exposure": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": SERVICE_RULES},
            "validations": [{
                "expression": (
                    "!has(object.spec.type) || "
                    "!(object.spec.type in ['NodePort', 'LoadBalancer']) || "
                    f"(has(namespaceObject.metadata.labels) && '{zone}' in "
                    f"namespaceObject.metadata.labels && namespaceObject.metadata.labels"
                    f"['{zone}'] == '{Zone.INTERNET}')"
                ),
                "message": (
                    f"a Service of type NodePort or LoadBalancer is allowed only in the "
                    f"{Zone.INTERNET} zone; other zones are reached through their gateways"
                ),
                "reason": "Forbidden",
            }],
        },
    }


def binding_spec(policy: str) -> dict[str, Any]:
    """Deny in every tenant namespace (the platform's own namespaces are not bound)."""
    return {
        "policyName": policy,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": {"matchExpressions": [
            {"key": Label.DEPARTMENT.value, "operator": "Exists"},
        ]}},
    }


class AdmissionGuardrails(pulumi.ComponentResource):
    """The site cluster's validating admission policies and their Deny bindings."""

    def __init__(
        self, name: str, args: AdmissionGuardrailsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("govcloud:security:AdmissionGuardrails", name, None, opts)
        labels = {Label.MANAGED_BY: MANAGED_BY}
        policies: list[str] = []
        for policy, spec in guardrail_specs(args.registry).items():
            vap = KubeObject(VALIDATING_ADMISSION_POLICY, policy, {
                "metadata": {"name": policy, "labels": labels},
                "spec": spec,
            }, pulumi.ResourceOptions(parent=self))
            KubeObject(VALIDATING_ADMISSION_POLICY_BINDING, f"{policy}-binding", {
                "metadata": {"name": policy, "labels": labels},
                "spec": binding_spec(policy),
            }, pulumi.ResourceOptions(parent=self, depends_on=[vap]))
            policies.append(policy)
        self.policies = policies
        self.register_outputs({"policies": policies})
