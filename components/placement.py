"""SystemPlacement: one system's workloads on one site, as its DR tier places them.

The tier's placement (``estate.tier(system.dr_tier).placement``) decides the role of
the site; :func:`govcloud.tenancy.placed_components` decides the sizes:

- ``active``  — every component as declared (dual-active: DC1 and DC2; otherwise DC1);
- ``standby`` — the same workloads scaled by the tier's ``standby_scale`` (dual-active
  in region B; warm-standby in DC2 and region B), labelled ``placement=standby`` so the
  DR runbooks can find and scale them up;
- ``backup``  — no pods: a PersistentVolumeClaim per stateful component holding the
  backup repository copy (backup-only systems in region B).

A tier with a ``backup_schedule`` also gets a backup CronJob per stateful component on
its first active site (DC1), sized by the tier's ``backup_job``; the repository cipher
key comes from the stack's secret config.

Every pod runs with requests = limits (Guaranteed QoS, so the quota — equal to the
footprint — is exact), non-root, no privilege escalation, all capabilities dropped,
seccomp RuntimeDefault and a read-only root filesystem: Pod Security ``restricted``.
Deployments roll with ``maxSurge: 0`` because the quota leaves no room for surge pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.common import (
    Label,
    bytes_quantity,
    container_security_context,
    cpu_quantity,
    namespace_name,
    pod_security_context,
    tenant_labels,
)
from components.kube import (
    CRON_JOB,
    DEPLOYMENT,
    PERSISTENT_VOLUME_CLAIM,
    SECRET,
    SERVICE,
    STATEFUL_SET,
    KubeObject,
)
from govcloud.model import ComponentKind, Department, SiteName, System, TierDef
from govcloud.tenancy import BackupJob, PlacedComponent, PodSize

# Backup tool images, pulled from the cloud's registry (stand-ins named in DESIGN.md).
BACKUP_IMAGES = {ComponentKind.DATABASE: "platform/pgbackrest:2.54"}
GENERIC_BACKUP_IMAGE = "platform/restic:0.17"
BACKUP_SECRET_KEY = "repo1-cipher-pass"
TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class SystemPlacementArgs:
    department: Department
    system: System
    site: SiteName
    tier: TierDef
    registry: str
    components: list[PlacedComponent]
    backups: list[BackupJob] = field(default_factory=list)
    # pgBackRest repository cipher key (a Pulumi secret from the stack config)
    backup_key: pulumi.Input[str] | None = None


def _resources(pod: PodSize) -> dict[str, dict[str, str]]:
    size = {"cpu": cpu_quantity(pod.cpu), "memory": bytes_quantity(pod.memory)}
    return {"requests": size, "limits": dict(size)}


class SystemPlacement(pulumi.ComponentResource):
    """A system's workloads, services, backup copies and backup jobs on one site."""

    def __init__(
        self, name: str, args: SystemPlacementArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("govcloud:dr:SystemPlacement", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        workloads: list[str] = []
        for pc in args.components:
            if pc.replicas > 0:
                workloads.append(self._workload(pc))
            elif pc.pod.storage > 0:
                self._backup_copy(pc)
        secrets: dict[str, KubeObject] = {}
        for job in args.backups:
            ns = namespace_name(args.department.name, job.component.zone)
            if ns not in secrets:
                secrets[ns] = self._backup_secret(ns, job)
            self._backup_job(job, secrets[ns])
        self.workloads = workloads
        self.register_outputs({"workloads": workloads})

    # ------------------------------------------------------------------ labels

    def _labels(self, zone: Any, component: str, placement: str) -> dict[str, str]:
        a = self._args
        return {
            **tenant_labels(a.department.name, zone, a.site),
            Label.SYSTEM: a.system.name,
            Label.COMPONENT: component,
            Label.DR_TIER: str(a.system.dr_tier),
            Label.PLACEMENT: placement,
            Label.MLPS_LEVEL: str(a.system.mlps_level),
        }

    def _image(self, component: str) -> str:
        a = self._args
        return f"{a.registry}/{a.department.name}/{a.system.name}/{component}:stable"

    # ------------------------------------------------------------------ workloads

    def _workload(self, pc: PlacedComponent) -> str:
        a, c = self._args, pc.component
        ns = namespace_name(a.department.name, c.zone)
        name = f"{a.system.name}-{c.name}"
        labels = self._labels(c.zone, c.name, str(pc.role))
        selector = {Label.SYSTEM: a.system.name, Label.COMPONENT: c.name}
        meta = {"name": name, "namespace": ns, "labels": labels}

        KubeObject(SERVICE, f"{ns}-{name}", {
            "metadata": meta,
            "spec": {
                "selector": selector,
                "ports": [{"name": "service", "port": c.port, "targetPort": "service",
                           "protocol": "TCP"}],
                # a StatefulSet's pods need stable DNS names: headless
                **({"clusterIP": "None"} if c.stateful else {}),
            },
        }, self._child)
        container = {
            "name": c.name,
            "image": self._image(c.name),
            "ports": [{"name": "service", "containerPort": c.port, "protocol": "TCP"}],
            "env": [
                {"name": "GOVCLOUD_SITE", "value": str(a.site)},
                {"name": "GOVCLOUD_PLACEMENT", "value": str(pc.role)},
            ],
            "resources": _resources(pc.pod),
            "securityContext": container_security_context(),
            "readinessProbe": {"tcpSocket": {"port": "service"}, "periodSeconds": 10},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        template = {
            "metadata": {"labels": labels},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
                "topologySpreadConstraints": [{
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector},
                }],
            },
        }
        if c.stateful:
            spec: dict[str, Any] = {
                "replicas": pc.replicas,
                "serviceName": name,
                "selector": {"matchLabels": selector},
                "template": template,
            }
            if pc.pod.storage > 0:
                container["volumeMounts"].append({"name": "data", "mountPath": "/data"})
                spec["volumeClaimTemplates"] = [{
                    "metadata": {"name": "data", "labels": labels},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": bytes_quantity(pc.pod.storage)}},
                    },
                }]
            KubeObject(STATEFUL_SET, f"{ns}-{name}", {"metadata": meta, "spec": spec},
                       self._child)
        else:
            KubeObject(DEPLOYMENT, f"{ns}-{name}", {
                "metadata": meta,
                "spec": {
                    "replicas": pc.replicas,
                    "selector": {"matchLabels": selector},
                    "strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                    "template": template,
                },
            }, self._child)
        return f"{ns}/{name}"

    def _backup_copy(self, pc: PlacedComponent) -> None:
        a, c = self._args, pc.component
        ns = namespace_name(a.department.name, c.zone)
        name = f"{a.system.name}-{c.name}-backup"
        KubeObject(PERSISTENT_VOLUME_CLAIM, f"{ns}-{name}", {
            "metadata": {"name": name, "namespace": ns,
                         "labels": self._labels(c.zone, c.name, str(pc.role))},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": bytes_quantity(pc.pod.storage)}},
            },
        }, self._child)

    # ------------------------------------------------------------------ backups

    def _backup_secret(self, ns: str, job: BackupJob) -> KubeObject:
        a = self._args
        name = f"{a.system.name}-backup-repository"
        return KubeObject(SECRET, f"{ns}-{name}", {
            "metadata": {"name": name, "namespace": ns,
                         "labels": self._labels(job.component.zone, "backup", "backup")},
            "type": "Opaque",
            "stringData": {BACKUP_SECRET_KEY: a.backup_key or ""},
        }, self._child)

    def _backup_job(self, job: BackupJob, secret: KubeObject) -> None:
        a, c = self._args, job.component
        ns = namespace_name(a.department.name, c.zone)
        name = f"{a.system.name}-{c.name}-backup"
        labels = self._labels(c.zone, c.name, "backup")
        stanza = f"{a.department.name}-{a.system.name}-{c.name}"
        secret_name = f"{a.system.name}-backup-repository"
        image = BACKUP_IMAGES.get(c.kind, GENERIC_BACKUP_IMAGE)
        args = (
            [f"--stanza={stanza}", f"--pg1-host={a.system.name}-{c.name}", "--type=incr",
             "backup"]
            if c.kind == ComponentKind.DATABASE
            else ["backup", "--tag", stanza, "/data"]
        )
        KubeObject(CRON_JOB, f"{ns}-{name}", {
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "schedule": job.schedule,
                "timeZone": TIME_ZONE,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": 2,
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "restartPolicy": "Never",
                                "automountServiceAccountToken": False,
                                "securityContext": pod_security_context(),
                                "containers": [{
                                    "name": "backup",
                                    "image": f"{a.registry}/{image}",
                                    "args": args,
                                    "env": [{
                                        "name": "PGBACKREST_REPO1_CIPHER_PASS",
                                        "valueFrom": {"secretKeyRef": {
                                            "name": secret_name,
                                            "key": BACKUP_SECRET_KEY,
                                        }},
                                    }],
                                    "resources": _resources(job.pod),
                                    "securityContext": container_security_context(),
                                }],
                            },
                        },
                    },
                },
            },
        }, pulumi.ResourceOptions(parent=self, depends_on=[secret]))
