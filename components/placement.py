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

What keeps a system up through node drains and bad releases:

- **probes** from ``estate/workloads.yaml`` per component kind, with the department's
  per-component overrides (liveness restarts a hung process, readiness takes it out of
  its Service, startup holds liveness back while a database recovers);
- a **PodDisruptionBudget** (``maxUnavailable: 1``) for every component with two or
  more replicas on the site, so a drain never takes all of them at once; a
  single-replica component gets none (the compliance report lists it as a single
  point of failure);
- **topology spread** over nodes and, where the site declares several, failure
  domains: a dual-active system's replicas *must* land apart (``DoNotSchedule``),
  other tiers' prefer to;
- **images by digest** from the cloud registry (``repo@sha256:...``), the tag kept as
  an annotation for humans: what runs is what was reviewed, not what a tag points at;
- **secrets as files**: the backup repository key is a read-only file (mode 0440)
  the backup tool reads as configuration, never an environment variable.
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
    POD_DISRUPTION_BUDGET,
    SECRET,
    SERVICE,
    STATEFUL_SET,
    KubeObject,
)
from govcloud.model import (
    ComponentKind,
    Department,
    DrTier,
    ProbeType,
    ProbeUse,
    SiteName,
    System,
    TierDef,
)
from govcloud.model.schema import Image, KindProbes, Probe
from govcloud.tenancy import BackupJob, PlacedComponent, PodSize

# Backup tools (platform_images in estate/workloads.yaml): pgBackRest for databases,
# restic for any other stateful component.
BACKUP_TOOL = {ComponentKind.DATABASE: "pgbackrest"}
GENERIC_BACKUP_TOOL = "restic"
# The repository key reaches each tool as a file: pgBackRest reads every *.conf in its
# config include path, restic reads --password-file / RESTIC_PASSWORD_FILE.
PGBACKREST_CONF_KEY = "pgbackrest-repo.conf"
RESTIC_PASSWORD_KEY = "restic-password"
SECRET_MOUNTS = {
    "pgbackrest": ("/etc/pgbackrest/conf.d", PGBACKREST_CONF_KEY),
    "restic": ("/etc/restic", RESTIC_PASSWORD_KEY),
}
# Owner and group read only; the kubelet gives the group to the pod's fsGroup.
SECRET_FILE_MODE = 0o440
# estate/crypto.yaml channel that states the backup repository's cipher
BACKUP_CRYPTO_CHANNEL = "db-backup"
TIME_ZONE = "Asia/Shanghai"
IMAGE_TAG_ANNOTATION = "govcloud.io/image-tag"
HOSTNAME_KEY = "kubernetes.io/hostname"
FAILURE_DOMAIN_KEY = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class SystemPlacementArgs:
    department: Department
    system: System
    site: SiteName
    tier: TierDef
    registry: str
    components: list[PlacedComponent]
    # estate/workloads.yaml: default probes per component kind, platform tool images
    probe_defaults: dict[ComponentKind, KindProbes]
    platform_images: dict[str, Image]
    # rooms / rack rows of the site (Site.capacity.failure_domains)
    failure_domains: int = 1
    backups: list[BackupJob] = field(default_factory=list)
    # backup repository cipher key (a Pulumi secret from the stack config) and cipher
    # (the suite of crypto.yaml's BACKUP_CRYPTO_CHANNEL)
    backup_key: pulumi.Input[str] | None = None
    backup_cipher: str = ""


def probe_manifest(probe: Probe) -> dict[str, Any]:
    """A model probe as the kubelet reads it (camelCase, as the provider sends it)."""
    handler: dict[str, Any]
    if probe.type == ProbeType.HTTP:
        handler = {"httpGet": {"path": probe.path, "port": probe.port,
                               "scheme": probe.scheme.value.upper()}}
    elif probe.type == ProbeType.TCP:
        handler = {"tcpSocket": {"port": probe.port}}
    else:
        handler = {"exec": {"command": list(probe.command or ())}}
    return {
        **handler,
        # the API server leaves a zero delay out of what it stores: so does the manifest,
        # or every re-read would look like drift
        **({"initialDelaySeconds": probe.initial_delay} if probe.initial_delay else {}),
        "periodSeconds": probe.period,
        "timeoutSeconds": probe.timeout,
        "failureThreshold": probe.failure_threshold,
        # readiness may go 1 -> 0 -> 1; liveness and startup need one success
        "successThreshold": 1,
    }


_PROBE_FIELD = {
    ProbeUse.LIVENESS: "livenessProbe",
    ProbeUse.READINESS: "readinessProbe",
    ProbeUse.STARTUP: "startupProbe",
}


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

    def _image(self, component: str, image: Image) -> str:
        a = self._args
        return image.reference(a.registry, f"{a.department.name}/{a.system.name}/{component}")

    def _spread(self, selector: dict[str, str]) -> list[dict[str, Any]]:
        """Replicas apart over nodes, then failure domains; binding for dual-active."""
        a = self._args
        when = ("DoNotSchedule" if a.system.dr_tier == DrTier.DUAL_ACTIVE
                else "ScheduleAnyway")
        keys = [HOSTNAME_KEY] + ([FAILURE_DOMAIN_KEY] if a.failure_domains > 1 else [])
        return [{
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": selector},
        } for key in keys]

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
        assert c.image is not None  # the image-missing rule refuses the estate otherwise
        probes = c.effective_probes(a.probe_defaults[c.kind])
        container = {
            "name": c.name,
            "image": self._image(c.name, c.image),
            "ports": [{"name": "service", "containerPort": c.port, "protocol": "TCP"}],
            "env": [
                {"name": "GOVCLOUD_SITE", "value": str(a.site)},
                {"name": "GOVCLOUD_PLACEMENT", "value": str(pc.role)},
            ],
            "resources": _resources(pc.pod),
            "securityContext": container_security_context(),
            **{_PROBE_FIELD[use]: probe_manifest(p) for use, p in probes.items()},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        template = {
            "metadata": {"labels": labels,
                         "annotations": {IMAGE_TAG_ANNOTATION: c.image.tag}},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": [{"name": "tmp", "emptyDir": {}}],
                "topologySpreadConstraints": self._spread(selector),
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
        if pc.replicas >= 2:
            # a drain (or a voluntary eviction of any kind) takes one replica at a time
            KubeObject(POD_DISRUPTION_BUDGET, f"{ns}-{name}", {
                "metadata": meta,
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
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
            "stringData": {
                PGBACKREST_CONF_KEY: pulumi.Output.concat(
                    f"[global]\nrepo1-cipher-type={a.backup_cipher}\nrepo1-cipher-pass=",
                    a.backup_key or "", "\n"),
                RESTIC_PASSWORD_KEY: a.backup_key or "",
            },
        }, self._child)

    def _backup_job(self, job: BackupJob, secret: KubeObject) -> None:
        a, c = self._args, job.component
        ns = namespace_name(a.department.name, c.zone)
        name = f"{a.system.name}-{c.name}-backup"
        labels = self._labels(c.zone, c.name, "backup")
        stanza = f"{a.department.name}-{a.system.name}-{c.name}"
        secret_name = f"{a.system.name}-backup-repository"
        tool = BACKUP_TOOL.get(c.kind, GENERIC_BACKUP_TOOL)
        mount, key = SECRET_MOUNTS[tool]
        args = (
            [f"--stanza={stanza}", f"--pg1-host={a.system.name}-{c.name}", "--type=incr",
             "backup"]
            if tool == "pgbackrest"
            else ["backup", "--password-file", f"{mount}/{key}", "--tag", stanza, "/data"]
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
                                    "image": a.platform_images[tool].reference(
                                        a.registry, f"platform/{tool}"),
                                    "args": args,
                                    "resources": _resources(job.pod),
                                    "securityContext": container_security_context(),
                                    "volumeMounts": [{"name": "repository-key",
                                                      "mountPath": mount,
                                                      "readOnly": True}],
                                }],
                                "volumes": [{"name": "repository-key", "secret": {
                                    "secretName": secret_name,
                                    "defaultMode": SECRET_FILE_MODE,
                                    "items": [{"key": key, "path": key}],
                                }}],
                            },
                        },
                    },
                },
            },
        }, pulumi.ResourceOptions(parent=self, depends_on=[secret]))
