"""The policy list, in the order the README and the report present them."""

from __future__ import annotations

from policies import baseline, governance, guardrails, hosts, network, workloads
from policies.core import Policy

POLICIES: list[Policy] = [
    *network.POLICIES,
    *workloads.POLICIES,
    *guardrails.POLICIES,
    *governance.POLICIES,
    *hosts.POLICIES,
    *baseline.POLICIES,
]

_BY_ID = {p.id: p for p in POLICIES}
assert len(_BY_ID) == len(POLICIES), "policy ids must be unique"


def policy(policy_id: str) -> Policy:
    """Look a policy up by id (KeyError names the id)."""
    return _BY_ID[policy_id]
