"""Vocabulary shared by the components: label keys, names, quantities, pod security.

Label keys are the contract with ``policies/`` and the offline plan: every namespaced
object the components create carries the department/zone/site labels, and every pod
template carries the system/component/placement/DR-tier/MLPS labels too.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from govcloud.model import Label, SiteName, Zone

# Kubernetes minor version the manifests target: Pod Security "enforce-version" and the
# schema the offline plan validates against (kubernetes-validate) are both this one.
KUBERNETES_VERSION = "1.30"


MANAGED_BY = "govcloud"


def namespace_name(department: str, zone: Zone) -> str:
    """One namespace per department and zone: ``<department>-<zone>``."""
    return f"{department}-{zone}"


def tenant_labels(department: str, zone: Zone, site: SiteName) -> dict[str, str]:
    """Labels every object in a department namespace carries."""
    return {
        Label.DEPARTMENT: department,
        Label.ZONE: str(zone),
        Label.SITE: str(site),
        Label.MANAGED_BY: MANAGED_BY,
    }


def cpu_quantity(cores: Decimal, *, ceil: bool = False) -> str:
    """Cores as a Kubernetes quantity: ``4``, ``1500m`` (floored, or ceiled for quotas)."""
    milli = int((cores * 1000).to_integral_value(ROUND_CEILING if ceil else ROUND_FLOOR))
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


_BINARY = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


def bytes_quantity(value: Decimal | int, *, ceil: bool = False) -> str:
    """Bytes as a Kubernetes quantity, in the largest exact binary unit (``64Gi``)."""
    n = Decimal(value)
    n = int(n.to_integral_value(ROUND_CEILING if ceil else ROUND_FLOOR))
    for suffix, size in _BINARY:
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def parse_quantity(text: str) -> Decimal:
    """Inverse of :func:`cpu_quantity` / :func:`bytes_quantity` (for tests and the plan)."""
    for suffix, size in _BINARY:
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * size
    if text.endswith("m"):
        return Decimal(text[:-1]) / 1000
    return Decimal(text)


# Pod Security Standards "restricted": every pod and container the components create
# satisfies it, and every tenant namespace enforces it.
RUN_AS_USER = 10001


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_labels() -> dict[str, str]:
    """Namespace labels that make the API server enforce Pod Security ``restricted``."""
    version = f"v{KUBERNETES_VERSION}"
    out: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        out[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        out[f"pod-security.kubernetes.io/{mode}-version"] = version
    return out
