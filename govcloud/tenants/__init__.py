"""Department (tenant) onboarding: admission, lifecycle, utilisation and metering.

A department's file under ``estate/departments/`` is both its definition and its
request; this package judges such files against the capacity ledger of each site and
the DR headroom of the failure scenarios (:mod:`.admission`), tracks each system's
lifecycle (:mod:`.lifecycle`), and reads usage exports to flag idle systems and meter
cost (:mod:`.usage`, :mod:`.metering`, :mod:`.report`). It reads the model only.
"""

from govcloud.tenants.admission import Admission, Decision, admit, admit_estate, admit_files
from govcloud.tenants.ledger import Ledger, Scenario, scenarios
from govcloud.tenants.lifecycle import LifecycleStatus, lifecycle_status
from govcloud.tenants.policy import PriceCatalogue, TenancyPolicy, load_policy, load_prices
from govcloud.tenants.requests import Request, load_requests

__all__ = [
    "Admission",
    "Decision",
    "Ledger",
    "LifecycleStatus",
    "PriceCatalogue",
    "Request",
    "Scenario",
    "TenancyPolicy",
    "admit",
    "admit_estate",
    "admit_files",
    "lifecycle_status",
    "load_policy",
    "load_prices",
    "load_requests",
    "scenarios",
]
