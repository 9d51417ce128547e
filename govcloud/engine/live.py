"""What a site's API server holds, compared with what the offline plan rendered.

"Equal" means: every field the plan sets is on the live object with the same value
(quantities compared by value: the API server writes `0.5` back as `500m`), and the
fields the plan does not set are the server's own (defaults, status, managedFields).
Secrets are compared by their keys: the offline plan cannot decrypt the stack's secret
values, the engine can.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from govcloud.engine.cluster import kube_json

# kubectl resource names of the kinds the stacks make, namespaced
KINDS = {
    "Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps",
    "CronJob": "cronjobs.batch", "Secret": "secrets", "Service": "services",
    "NetworkPolicy": "networkpolicies.networking.k8s.io", "LimitRange": "limitranges",
    "ResourceQuota": "resourcequotas", "Role": "roles.rbac.authorization.k8s.io",
    "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "PodDisruptionBudget": "poddisruptionbudgets.policy",
}
# cluster-scoped kinds the stacks make (the admission guardrails); live objects of these
# kinds count when they carry the stacks' managed-by label
CLUSTER_KINDS = {
    "ValidatingAdmissionPolicy": "validatingadmissionpolicies.admissionregistration.k8s.io",
    "ValidatingAdmissionPolicyBinding":
        "validatingadmissionpolicybindings.admissionregistration.k8s.io",
}
MANAGED_BY = ("app.kubernetes.io/managed-by", "govcloud")
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3,
           "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity's value, or None when `value` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str) or not (m := _QUANTITY.match(value)):
        return None
    try:
        return Decimal(m.group(1)) * Decimal(_SUFFIX.get(m.group(2) or "", 1))
    except InvalidOperation:
        return None


def differences(want: Any, have: Any, path: str = "") -> list[str]:
    """Where `have` does not carry `want` (fields only `have` sets are the server's)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [f"{path or '.'}: want an object, have {have!r}"]
        out = []
        for key, value in want.items():
            if key not in have:
                out.append(f"{path}.{key}: missing")
            else:
                out += differences(value, have[key], f"{path}.{key}")
        return out
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return [f"{path}: want {len(want)} item(s), have {have!r}"[:300]]
        return [d for i, (w, h) in enumerate(zip(want, have, strict=True))
                for d in differences(w, h, f"{path}[{i}]")]
    if want == have:
        return []
    qw, qh = quantity(want), quantity(have)
    if qw is not None and qw == qh:
        return []
    return [f"{path}: want {want!r}, have {have!r}"]


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def live_objects(context: str, manifests: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """The live objects of the plan's kinds in the plan's namespaces (+ those namespaces).

    Claims a StatefulSet makes for its pods are the controller's, not the stack's, and
    are left out.
    """
    namespaces = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    kinds = sorted({m["kind"] for m in manifests} - {"Namespace"} - set(CLUSTER_KINDS))
    cluster_kinds = sorted({m["kind"] for m in manifests} & set(CLUSTER_KINDS))
    out: dict[tuple, dict[str, Any]] = {}
    for ns in kube_json(context, "get", "namespaces")["items"]:
        if ns["metadata"]["name"] in namespaces:
            ns["kind"] = "Namespace"
            out[_key(ns)] = ns
    if kinds:
        items = kube_json(context, "get", ",".join(KINDS[k] for k in kinds), "-A")["items"]
        for obj in items:
            if obj["metadata"].get("namespace") not in namespaces:
                continue
            owners = obj["metadata"].get("labels", {})
            if obj["kind"] == "PersistentVolumeClaim" and _made_by_statefulset(obj, owners):
                continue
            out[_key(obj)] = obj
    if cluster_kinds:
        key, value = MANAGED_BY
        items = kube_json(context, "get", ",".join(CLUSTER_KINDS[k] for k in cluster_kinds),
                          "-l", f"{key}={value}")["items"]
        for obj in items:
            out[_key(obj)] = obj
    return out


def _made_by_statefulset(pvc: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(re.match(r".+-\d+$", pvc["metadata"]["name"])) and \
        "apps.kubernetes.io/pod-index" not in labels and pvc["metadata"]["name"].startswith(
            "data-")


def compare(context: str, manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by (kind, namespace) on both sides and the per-object differences."""
    planned = {_key(m): m for m in manifests}
    live = live_objects(context, manifests)

    def count(objs: dict) -> Counter:
        return Counter((k, ns) for k, ns, _ in objs)

    diffs: dict[str, list[str]] = {}
    for key, want in planned.items():
        have = live.get(key)
        if have is None:
            continue
        if want["kind"] == "Secret":
            wk = set((want.get("stringData") or {}) | (want.get("data") or {}))
            hk = set(have.get("data") or {})
            found = [] if wk == hk else [f".data keys: want {sorted(wk)}, have {sorted(hk)}"]
            found += differences({k: v for k, v in want.items()
                                  if k not in ("stringData", "data")}, have)
        else:
            found = differences(want, have)
        if found:
            diffs["/".join(key)] = found
    return {
        "planned": count(planned), "live": count(live),
        "missing": sorted("/".join(k) for k in planned.keys() - live.keys()),
        "extra": sorted("/".join(k) for k in live.keys() - planned.keys()),
        "differences": diffs,
    }
