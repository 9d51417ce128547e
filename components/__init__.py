"""Pulumi ComponentResources of the govcloud site stacks, one module per concept.

- :class:`DepartmentTenant` (``tenant.py``) — a department's namespaces on a site.
- :class:`ZoneSegmentation` (``segmentation.py``) — the flow matrix as NetworkPolicies.
- :class:`SystemPlacement` (``placement.py``) — a system's workloads per its DR tier.

Components read the estate model and :mod:`govcloud.tenancy`; they never import
``roles/`` or the CLI.
"""

from components.common import KUBERNETES_VERSION, Label, namespace_name
from components.placement import SystemPlacement, SystemPlacementArgs
from components.segmentation import ZoneSegmentation, ZoneSegmentationArgs
from components.tenant import DepartmentTenant, DepartmentTenantArgs, TenantZone

__all__ = [
    "KUBERNETES_VERSION",
    "DepartmentTenant",
    "DepartmentTenantArgs",
    "Label",
    "SystemPlacement",
    "SystemPlacementArgs",
    "TenantZone",
    "ZoneSegmentation",
    "ZoneSegmentationArgs",
    "namespace_name",
]
