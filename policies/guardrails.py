"""Tenant workload policies: probes, disruption budgets, pinned images, secrets, admission.

What an SRE and an assessor look for in a dual-active cloud's manifests beyond
privilege and quota: a hung process is restarted (liveness), a node drain never takes
every replica (PodDisruptionBudget), what runs is what was reviewed (image from the
cloud registry, pinned by digest), credentials never sit in environment variables,
and the API server itself refuses what these checks would refuse
(``ValidatingAdmissionPolicy``, evaluated offline with :mod:`policies.cel`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from govcloud import tenancy
from govcloud.model import Estate, Zone
from govcloud.model import rules as model_rules
from policies import cel
from policies import clauses as C
from policies.core import Context, Enforcement, Policy, Resource, Violation
from policies.k8s import (
    DEPARTMENT,
    ZONE,
    containers,
    is_kind,
    is_tenant,
    is_workload,
    namespaces,
    pod_labels,
    pod_spec,
    selector_matches,
    site_of_stack,
)

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
# a secret file may be read by its owner and group (the pod's fsGroup), nothing else
SECRET_MODE_ALLOWED = 0o440
SECRET_MODE_DEFAULT = 0o644  # what Kubernetes uses when defaultMode is not set
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}


def _rv(policy: str, r: Resource, msg: str) -> Violation:
    return Violation(policy, r.ref, f"{r.ref}: {msg}", r.urn or None)


def _long_running(r: Resource) -> bool:
    spec = pod_spec(r)
    if r.kind == "Pod":
        return spec.get("restartPolicy", "Always") == "Always"
    return r.kind in LONG_RUNNING


# ---------------------------------------------------------------- workload-probes


def check_probes(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "workload-probes"
    if not is_workload(r) or not is_tenant(r) or not _long_running(r):
        return
    for c in pod_spec(r).get("containers") or []:
        name = c.get("name", "?")
        missing = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
        if missing:
            yield _rv(
                pid, r,
                f"container {name} has no {' and no '.join(missing)}: a hung process is "
                "never restarted, or one that cannot serve still gets traffic",
            )
        else:
            kinds = "/".join(
                p.removesuffix("Probe")
                for p in ("startupProbe", "livenessProbe", "readinessProbe") if c.get(p)
            )
            ctx.saw(f"{r.ref}: {name} {kinds}")


# ---------------------------------------------------------------- workload-disruption-budget


def _scaled(value: Any, replicas: int, *, up: bool) -> int | None:
    """A PDB's int-or-percent as a pod count (percentages round up, as the controller does).

    The engine hands numbers as floats (Pulumi's wire format): ``1.0`` is one pod.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and value == int(value):
        return int(value)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        n = int(value[:-1]) * replicas / 100
        return math.ceil(n) if up else math.floor(n)
    return None


def _allowed_down(pdb: Resource, replicas: int) -> int | None:
    spec = pdb.props.get("spec") or {}
    if "maxUnavailable" in spec:
        return _scaled(spec["maxUnavailable"], replicas, up=True)
    if "minAvailable" in spec:
        kept = _scaled(spec["minAvailable"], replicas, up=True)
        return None if kept is None else replicas - kept
    return None


def check_disruption_budgets(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pid = "workload-disruption-budget"
    site = site_of_stack(ctx.stack) or ctx.stack or "?"
    pdbs = [r for r in resources if is_kind(r, "PodDisruptionBudget")]
    for r in resources:
        if r.kind not in ("Deployment", "StatefulSet") or not is_workload(r) or not is_tenant(r):
            continue
        replicas = int((r.props.get("spec") or {}).get("replicas", 1))
        if replicas < 2:
            ctx.saw(f"single point of failure on {site}: {r.namespace}/{r.k8s_name} "
                    f"({replicas} replica: no budget can keep it up through a drain)")
            continue
        labels = pod_labels(r)
        budgets = [
            p for p in pdbs
            if p.namespace == r.namespace
            and selector_matches((p.props.get("spec") or {}).get("selector"), labels)
        ]
        if not budgets:
            yield _rv(pid, r, f"{replicas} replicas and no PodDisruptionBudget: a node drain "
                              "may evict all of them at once")
            continue
        for p in budgets:
            down = _allowed_down(p, replicas)
            if down is None or down < 1:
                yield _rv(pid, r, f"PodDisruptionBudget {p.k8s_name} allows no eviction: a "
                                  "node drain would hang on it")
            elif down > replicas - 1:
                yield _rv(pid, r, f"PodDisruptionBudget {p.k8s_name} lets {down} of "
                                  f"{replicas} replicas go at once")
            else:
                ctx.saw(f"{r.ref}: {replicas} replicas, at most {down} evicted at a time")


def single_points_of_failure(estate: Estate) -> list[tuple[str, str, str, str, str]]:
    """(site, department, system, component, placement) running one replica, from the model."""
    out = []
    for site in estate.sites:
        plan = tenancy.site_plan(estate, site.name)
        for placed in plan.components.values():
            for pc in placed:
                if pc.replicas == 1:
                    out.append((str(site.name), pc.department, pc.system, pc.component.name,
                                str(pc.role)))
    return sorted(out)


# ---------------------------------------------------------------- images-pinned-by-digest


def check_images(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "images-pinned-by-digest"
    if not is_workload(r) or not is_tenant(r):
        return
    registry = ctx.estate.cloud.registry
    for where, c in containers(r):
        image = str(c.get("image", ""))
        name = f"{where}/{c.get('name', '?')}"
        if not image.startswith(f"{registry}/"):
            yield _rv(pid, r, f"{name} runs {image}, which is not in the cloud registry "
                              f"{registry}")
        elif not DIGEST_REF.match(image):
            yield _rv(pid, r, f"{name} runs {image}, which is not pinned by digest "
                              "(<repository>@sha256:<64 hex>)")
        else:
            ctx.saw(f"{r.ref}: {image.rsplit('/', 1)[-1][:40]}…")


def check_images_estate(ctx: Context) -> Iterator[Violation]:
    for rule in ("image-missing", "image-digest", "image-registry"):
        for p in model_rules.RULES[rule](ctx.estate):
            yield Violation("images-pinned-by-digest", f"estate/{p.file}:{p.field}", str(p))
    for row in image_rows(ctx.estate):
        ctx.saw(f"{row[0]}/{row[1]}/{row[2]}: {row[3]} {row[4]}")


def image_rows(estate: Estate) -> list[tuple[str, str, str, str, str]]:
    """(department, system, component, tag, digest) of every live system, from the model."""
    return [
        (d.name, s.name, c.name, c.image.tag if c.image else "—",
         (c.image.digest or "no digest") if c.image else "no image")
        for d, s in estate.systems() if s.live for c in s.components
    ]


# ---------------------------------------------------------------- secrets-as-files


def check_secrets(r: Resource, ctx: Context) -> Iterator[Violation]:
    pid = "secrets-as-files"
    if not is_workload(r):
        return
    spec = pod_spec(r)
    secret_volumes = {}
    for vol in spec.get("volumes") or []:
        secret = vol.get("secret")
        if secret is None:
            continue
        secret_volumes[vol.get("name")] = secret
        modes = [secret.get("defaultMode", SECRET_MODE_DEFAULT)]
        modes += [i["mode"] for i in secret.get("items") or [] if "mode" in i]
        for mode in modes:
            if int(mode) & ~SECRET_MODE_ALLOWED & 0o7777:
                yield _rv(pid, r, f"secret volume {vol.get('name')} files have mode "
                                  f"{int(mode):04o}; at most {SECRET_MODE_ALLOWED:04o} (owner "
                                  "and group read)")
    for where, c in containers(r):
        name = f"{where}/{c.get('name', '?')}"
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                yield _rv(pid, r, f"{name} reads secret {ref.get('name')}/{ref.get('key')} "
                                  f"into environment variable {env.get('name')}; mount it as "
                                  "a read-only file")
        for src in c.get("envFrom") or []:
            if src.get("secretRef"):
                yield _rv(pid, r, f"{name} loads secret {src['secretRef'].get('name')} into "
                                  "its environment; mount it as a read-only file")
        for m in c.get("volumeMounts") or []:
            if m.get("name") in secret_volumes:
                if not m.get("readOnly"):
                    yield _rv(pid, r, f"{name} mounts secret volume {m['name']} writable")
                else:
                    ctx.saw(f"{r.ref}: {name} reads a secret from {m.get('mountPath')}")


# ---------------------------------------------------------------- admission-guardrails


def _probe_objects(registry: str) -> list[tuple[str, dict[str, Any], str]]:
    """(what, object, zone of its namespace) the guardrails must refuse."""
    pinned = f"{registry}/probe/app@sha256:{'0' * 64}"
    limits = {"limits": {"cpu": "100m", "memory": "64Mi"}}
    probes = {"livenessProbe": {"tcpSocket": {"port": 8080}},
              "readinessProbe": {"tcpSocket": {"port": 8080}}}

    def deployment(container: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "probe"},
                "spec": {"template": {"spec": {"containers": [{"name": "app", **container}]}}}}

    return [
        ("an image from outside the cloud registry",
         deployment({"image": "docker.io/library/nginx@sha256:" + "1" * 64, **limits, **probes}),
         Zone.EXTRANET),
        ("an image by tag, not by digest",
         deployment({"image": f"{registry}/probe/app:latest", **limits, **probes}),
         Zone.EXTRANET),
        ("a container without limits", deployment({"image": pinned, **probes}), Zone.EXTRANET),
        ("a long-running container without probes", deployment({"image": pinned, **limits}),
         Zone.EXTRANET),
        ("a NodePort Service outside the internet zone",
         {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "probe"},
          "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, Zone.EXTRANET),
    ]


def _deny_bound(resources: list[Resource], ns_labels: Mapping[str, str]) -> list[Resource]:
    """The stack's admission policies bound in Deny mode over a namespace with these labels."""
    policies = {r.k8s_name: r for r in resources if is_kind(r, "ValidatingAdmissionPolicy")}
    out = []
    for b in resources:
        if not is_kind(b, "ValidatingAdmissionPolicyBinding"):
            continue
        spec = b.props.get("spec") or {}
        match = (spec.get("matchResources") or {}).get("namespaceSelector")
        if (
            "Deny" in (spec.get("validationActions") or [])
            and spec.get("policyName") in policies
            and selector_matches(match, ns_labels)
        ):
            out.append(policies[spec["policyName"]])
    return out


def check_admission(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pid = "admission-guardrails"
    nss = namespaces(resources)
    tenant_ns = {n: ns for n, ns in nss.items() if ns.labels.get(DEPARTMENT)}
    if not tenant_ns:
        return
    subject = f"{ctx.stack}/admission"
    # 1. what a department admin might apply is refused (probes from the model's registry)
    sample = next(iter(tenant_ns.values()))
    dept = sample.labels[DEPARTMENT]
    for what, obj, zone in _probe_objects(ctx.estate.cloud.registry):
        labels = {DEPARTMENT: dept, ZONE: str(zone)}
        bound = _deny_bound(resources, labels)
        refusals = [m for p in bound for m in cel.denials(p.props.get("spec") or {}, obj,
                                                           {"metadata": {"labels": labels}})]
        if refusals:
            ctx.saw(f"refused: {what} — {refusals[0]}")
        else:
            yield Violation(pid, f"{subject}/{what}",
                            f"stack {ctx.stack}: no admission policy bound in Deny mode to "
                            f"tenant namespaces refuses {what}")
    # 2. ...but everything the plan itself puts in tenant namespaces is admitted
    for r in resources:
        if r.namespace not in tenant_ns or not (is_workload(r) or is_kind(r, "Service")):
            continue
        labels = tenant_ns[r.namespace].labels
        obj = {"apiVersion": r.type.split(":")[1].removeprefix("core/"), "kind": r.kind,
               **r.props}
        for p in _deny_bound(resources, labels):
            for m in cel.denials(p.props.get("spec") or {}, obj, {"metadata": {"labels": labels}}):
                yield _rv(pid, r, f"the stack's own admission policy {p.k8s_name} would refuse "
                                  f"it: {m}")


POLICIES = [
    Policy(
        id="workload-probes",
        title="Every long-running tenant container has liveness and readiness probes",
        clauses=(C.COMPUTE_BACKUP_C,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Hot redundancy is only as good as failure detection: without liveness a hung "
            "process holds its replica forever; without readiness a replica that cannot "
            "serve keeps receiving citizens' requests."
        ),
        on_resource=check_probes,
    ),
    Policy(
        id="workload-disruption-budget",
        title="Every replicated tenant workload has a PodDisruptionBudget; single replicas "
              "are listed as single points of failure",
        clauses=(C.COMPUTE_BACKUP_C,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "A node drain for patching is routine; without a budget it may evict every "
            "replica of a dual-active system in one data centre at once. A component with "
            "one replica on a site cannot be protected by a budget at all: the report says "
            "so instead of implying redundancy."
        ),
        on_stack=check_disruption_budgets,
    ),
    Policy(
        id="images-pinned-by-digest",
        title="Tenant images come from the cloud registry and are pinned by sha256 digest",
        clauses=(C.COMPUTE_MALWARE, C.COMPUTE_TRUSTED, C.CLOUD_IMAGE_B),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "A tag can be moved to other content at any time; only a digest names the image "
            "that was scanned and approved. Images from outside the cloud registry were "
            "never scanned at all."
        ),
        on_resource=check_images,
        on_estate=check_images_estate,
    ),
    Policy(
        id="secrets-as-files",
        title="Secrets reach containers as read-only files (mode <= 0440), never as "
              "environment variables",
        clauses=(C.COMPUTE_CONFIDENTIALITY_B,),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Environment variables leak: into /proc/<pid>/environ, crash dumps, debug "
            "endpoints and child processes. A read-only file with tight mode is read by the "
            "one process that needs it."
        ),
        on_resource=check_secrets,
    ),
    Policy(
        id="admission-guardrails",
        title="Each cluster refuses foreign or unpinned images, missing limits or probes, "
              "and node ports outside the internet zone",
        clauses=(C.COMPUTE_MALWARE, C.CLOUD_IMAGE_B, C.CLOUD_NET_B),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Policies on the plan bind this repository only; a department admin can apply "
            "manifests directly. The API server's own validating admission policies hold "
            "the same line for everyone, and must not refuse the platform's own workloads."
        ),
        on_stack=check_admission,
    ),
]
