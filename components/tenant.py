"""DepartmentTenant: a department's namespaces on one site, fenced and sized from the model.

Per zone the department uses on the site: a Namespace enforcing Pod Security
``restricted``, a ResourceQuota equal to the department's footprint there (see
:func:`govcloud.tenancy.tenant_quotas`), a LimitRange derived from the pods actually
placed, department-admin and auditor Roles bound to the department's directory groups
(三权分立: auditors read, they never change), and a default-deny NetworkPolicy for
ingress and egress plus the one exception every pod needs: cluster DNS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pulumi

from components.common import (
    Label,
    bytes_quantity,
    cpu_quantity,
    namespace_name,
    pod_security_labels,
    tenant_labels,
)
from components.kube import (
    LIMIT_RANGE,
    NAMESPACE,
    NETWORK_POLICY,
    RESOURCE_QUOTA,
    ROLE,
    ROLE_BINDING,
    KubeObject,
)
from govcloud.model import Department, MlpsLevel, Resources, SiteName, Zone
from govcloud.tenancy import BackupJob, PlacedComponent, PodSize

# What a department administrator may change in its own namespaces. Quotas, limit
# ranges, network policies, RBAC and the disruption budgets are the platform's:
# read-only for the tenant (a deleted budget would let a drain take every replica).
_WORKLOAD_RESOURCES = [
    ("", ["pods", "services", "endpoints", "configmaps", "secrets", "persistentvolumeclaims",
          "serviceaccounts"]),
    ("apps", ["deployments", "statefulsets", "replicasets", "deployments/scale",
              "statefulsets/scale"]),
    ("batch", ["jobs", "cronjobs"]),
    ("autoscaling", ["horizontalpodautoscalers"]),
]
_PLATFORM_RESOURCES = [
    ("", ["resourcequotas", "limitranges", "events", "pods/log"]),
    ("networking.k8s.io", ["networkpolicies"]),
    ("rbac.authorization.k8s.io", ["roles", "rolebindings"]),
    ("policy", ["poddisruptionbudgets"]),
]
_READ = ["get", "list", "watch"]
_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]


def _rules(groups: list[tuple[str, list[str]]], verbs: list[str]) -> list[dict[str, Any]]:
    return [{"apiGroups": [g], "resources": r, "verbs": verbs} for g, r in groups]


def _without_secrets(groups: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    return [(g, [r for r in rs if r != "secrets"]) for g, rs in groups]


ADMIN_RULES = _rules(_WORKLOAD_RESOURCES, _WRITE) + _rules(_PLATFORM_RESOURCES, _READ)
# Auditors see everything in the namespace except secret values.
AUDITOR_RULES = _rules(_without_secrets(_WORKLOAD_RESOURCES) + _PLATFORM_RESOURCES, _READ)


@dataclass(frozen=True)
class TenantZone:
    """One namespace of the tenant: its quota and what will run or be stored in it."""

    quota: Resources
    components: list[PlacedComponent] = field(default_factory=list)
    backups: list[BackupJob] = field(default_factory=list)

    @property
    def mlps_level(self) -> MlpsLevel:
        """The highest MLPS level of what runs or is stored here (namespace label)."""
        levels = [c.mlps_level for c in self.components] + [b.mlps_level for b in self.backups]
        return max(levels, key=lambda m: m.number, default=MlpsLevel.L1)

    def pod_sizes(self) -> list[PodSize]:
        pods = [c.pod for c in self.components if c.replicas > 0]
        return pods + [b.pod for b in self.backups]

    def volume_sizes(self) -> list[Decimal]:
        return [c.pod.storage for c in self.components if c.pod.storage > 0]


@dataclass(frozen=True)
class DepartmentTenantArgs:
    department: Department
    site: SiteName
    zones: dict[Zone, TenantZone]


class DepartmentTenant(pulumi.ComponentResource):
    """A department (委办局) on one site: its namespaces, quotas, RBAC and default deny."""

    namespaces: dict[Zone, str]

    def __init__(
        self, name: str, args: DepartmentTenantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("govcloud:tenancy:DepartmentTenant", name, None, opts)
        self.namespaces = {}
        child = pulumi.ResourceOptions(parent=self)
        for zone in sorted(args.zones, key=list(Zone).index):
            self.namespaces[zone] = self._namespace(args, zone, args.zones[zone], child)
        self.register_outputs(
            {"namespaces": {str(z): n for z, n in self.namespaces.items()}}
        )

    def _namespace(
        self, args: DepartmentTenantArgs, zone: Zone, tz: TenantZone, child: pulumi.ResourceOptions
    ) -> str:
        dept = args.department
        ns = namespace_name(dept.name, zone)
        labels = tenant_labels(dept.name, zone, args.site)

        def meta(name: str) -> dict[str, Any]:
            return {"name": name, "namespace": ns, "labels": labels}

        namespace = KubeObject(NAMESPACE, ns, {
            "metadata": {
                "name": ns,
                "labels": {
                    **labels,
                    Label.MLPS_LEVEL: str(tz.mlps_level),
                    **pod_security_labels(),
                },
                "annotations": {"govcloud.io/title": dept.title},
            },
        }, child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        q = tz.quota
        hard = {
            "requests.cpu": cpu_quantity(q.vcpu, ceil=True),
            "limits.cpu": cpu_quantity(q.vcpu, ceil=True),
            "requests.memory": bytes_quantity(q.memory, ceil=True),
            "limits.memory": bytes_quantity(q.memory, ceil=True),
            "requests.storage": bytes_quantity(q.storage, ceil=True),
        }
        KubeObject(RESOURCE_QUOTA, f"{ns}-quota",
                   {"metadata": meta("department-quota"), "spec": {"hard": hard}}, in_ns)

        limits: list[dict[str, Any]] = []
        pods = tz.pod_sizes()
        if pods:
            # Every pod the model places fits under max; a container created by hand
            # without resources gets the smallest placed size, never an unbounded one.
            largest = {"cpu": cpu_quantity(max(p.cpu for p in pods)),
                       "memory": bytes_quantity(max(p.memory for p in pods))}
            smallest = {"cpu": cpu_quantity(min(p.cpu for p in pods)),
                        "memory": bytes_quantity(min(p.memory for p in pods))}
            limits.append(
                {"type": "Container", "max": largest, "default": smallest,
                 "defaultRequest": smallest}
            )
        volumes = tz.volume_sizes()
        if volumes or not pods:
            # A namespace that only stores (a backup copy) still gets a limit range: the
            # largest claim it may make is the largest copy placed there.
            biggest = max(volumes, default=q.storage)
            limits.append(
                {"type": "PersistentVolumeClaim", "max": {"storage": bytes_quantity(biggest)}}
            )
        KubeObject(LIMIT_RANGE, f"{ns}-limits",
                   {"metadata": meta("department-limits"), "spec": {"limits": limits}}, in_ns)

        for role, rules, group in (
            ("department-admin", ADMIN_RULES, dept.groups.admins),
            ("department-auditor", AUDITOR_RULES, dept.groups.auditors),
        ):
            KubeObject(ROLE, f"{ns}-{role}", {"metadata": meta(role), "rules": rules}, in_ns)
            KubeObject(ROLE_BINDING, f"{ns}-{role}-binding", {
                "metadata": meta(role),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                              "name": group}],
            }, in_ns)

        KubeObject(NETWORK_POLICY, f"{ns}-default-deny", {
            "metadata": meta("default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }, in_ns)
        # Name resolution of Services is the one flow every pod needs and that is not
        # between zones: cluster DNS in kube-system.
        KubeObject(NETWORK_POLICY, f"{ns}-allow-cluster-dns", {
            "metadata": meta("allow-cluster-dns"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{
                    "to": [{
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        },
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }],
            },
        }, in_ns)
        return ns
