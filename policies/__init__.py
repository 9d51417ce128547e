"""Policy-as-code for the security reviewer: 等保2.0 level 3 (GB/T 22239-2019) and 密评
(GB/T 39786-2021) controls, one policy per control.

Each policy (``policies.core.Policy``) names the clause it implements, its enforcement
and rationale, and check functions over plain data. Two adapters run the same checks:
``policies.crossguard`` (a Pulumi CrossGuard policy pack: ``pulumi preview --policy-pack
policies``) and ``policies.offline`` (over the offline plan of every stack, the estate
model and the host configuration the roles would deploy). Importing this package has no
side effects; the pack is only served from ``policies/__main__.py``.
"""

from __future__ import annotations

from policies.core import Clause, Enforcement, Policy, Resource, Violation
from policies.registry import POLICIES, policy

__all__ = ["POLICIES", "Clause", "Enforcement", "Policy", "Resource", "Violation", "policy"]
