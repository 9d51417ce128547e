"""The estate model: the one source of truth every layer reads.

Import from here (``from govcloud.model import load_estate, Zone``); the submodules
are an implementation detail. This package imports nothing from the layers above it.
"""

from govcloud.model.enums import (
    AdminRole,
    ApplianceKind,
    ComponentKind,
    Direction,
    DrTier,
    External,
    FlowMode,
    HaMode,
    LifecycleState,
    MlpsLevel,
    PlacementRole,
    Protocol,
    Region,
    SiteName,
    SiteRole,
    Zone,
)
from govcloud.model.loader import DEFAULT_ESTATE, default_root, load_estate
from govcloud.model.problems import EstateError, Problem
from govcloud.model.schema import (
    RESOURCE_KEYS,
    Appliance,
    Component,
    Department,
    Estate,
    Flow,
    Link,
    Operator,
    Resources,
    Site,
    System,
    TierDef,
    ZoneDef,
)

__all__ = [
    "DEFAULT_ESTATE",
    "RESOURCE_KEYS",
    "AdminRole",
    "Appliance",
    "ApplianceKind",
    "Component",
    "ComponentKind",
    "Department",
    "Direction",
    "DrTier",
    "Estate",
    "EstateError",
    "External",
    "Flow",
    "FlowMode",
    "HaMode",
    "LifecycleState",
    "Link",
    "MlpsLevel",
    "Operator",
    "PlacementRole",
    "Problem",
    "Protocol",
    "Region",
    "Resources",
    "Site",
    "SiteName",
    "SiteRole",
    "System",
    "TierDef",
    "Zone",
    "ZoneDef",
    "default_root",
    "load_estate",
]
