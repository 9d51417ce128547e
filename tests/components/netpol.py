"""Reading NetworkPolicies as a reviewer would: which peers does a policy allow?

Helpers for the segmentation tests. A peer is resolved against the tenant namespaces
of the plan (namespaceSelector -> namespaces) and the estate's zone CIDRs (ipBlock ->
zones whose subnets it overlaps), so a test can ask "which zones may talk to which".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from govcloud.model import Estate, Zone

DEPT = "govcloud.io/department"
ZONE = "govcloud.io/zone"


def namespaces(manifests: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """namespace name -> its labels."""
    return {
        m["metadata"]["name"]: m["metadata"].get("labels", {})
        for m in manifests
        if m["kind"] == "Namespace"
    }


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if selector.get("matchExpressions"):
        raise AssertionError("matchExpressions are not used by the components")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def zones_of_block(block: dict[str, Any], estate: Estate) -> set[Zone]:
    """Zones (on any site) whose subnet overlaps an ipBlock."""
    net = ipaddress.ip_network(block["cidr"])
    return {
        z.name
        for z in estate.zones
        for cidr in z.cidrs.values()
        if net.overlaps(ipaddress.ip_network(cidr))
    }


def allows(
    manifests: list[dict[str, Any]], estate: Estate
) -> Iterator[tuple[dict[str, Any], str, str, dict[str, str] | None, set[Zone]]]:
    """Every allow in every policy: (policy, direction, own namespace, peer ns labels, zones).

    For a namespaceSelector peer, yields once per matching namespace (its labels); for
    an ipBlock peer, yields the zones the block overlaps with labels None.
    """
    ns_labels = namespaces(manifests)
    for m in manifests:
        if m["kind"] != "NetworkPolicy":
            continue
        spec = m["spec"]
        own = m["metadata"]["namespace"]
        for direction, key in (("Ingress", "from"), ("Egress", "to")):
            for rule in spec.get(direction.lower(), []) or []:
                peers = rule.get(key)
                if not peers:
                    # an empty from/to means "everyone": report it as every zone
                    yield m, direction, own, None, set(Zone)
                    continue
                for peer in peers:
                    if "ipBlock" in peer:
                        yield m, direction, own, None, zones_of_block(peer["ipBlock"], estate)
                        continue
                    sel = peer.get("namespaceSelector")
                    if sel is None:  # podSelector alone: same namespace
                        yield m, direction, own, ns_labels.get(own, {}), set()
                        continue
                    if (sel.get("matchLabels") or {}).get(
                        "kubernetes.io/metadata.name"
                    ) == "kube-system":
                        continue  # cluster DNS, not a tenant
                    for labels in ns_labels.values():
                        if _selected(sel, labels):
                            yield m, direction, own, labels, set()


def internet_to_extranet(manifests: list[dict[str, Any]], estate: Estate) -> list[str]:
    """Policies that would let internet-zone pods reach extranet-zone pods (must be none)."""
    ns_labels = namespaces(manifests)
    bad = []
    for m, direction, own, peer, zones in allows(manifests, estate):
        own_zone = ns_labels.get(own, {}).get(ZONE)
        peer_zone = peer.get(ZONE) if peer else None
        name = f"{own}/{m['metadata']['name']}"
        if direction == "Egress" and own_zone == Zone.INTERNET and (
            peer_zone == Zone.EXTRANET or Zone.EXTRANET in zones
        ):
            bad.append(f"{name}: internet pods may open connections to extranet")
        if direction == "Ingress" and own_zone == Zone.EXTRANET and (
            peer_zone == Zone.INTERNET or Zone.INTERNET in zones
        ):
            bad.append(f"{name}: extranet pods accept connections from internet")
    return bad


def cross_department(manifests: list[dict[str, Any]], estate: Estate) -> list[str]:
    """Namespace peers of another department, or selectors not pinned to one department."""
    ns_labels = namespaces(manifests)
    bad = []
    for m, _direction, own, peer, _zones in allows(manifests, estate):
        if peer is None:
            continue
        if peer.get(DEPT) != ns_labels.get(own, {}).get(DEPT):
            bad.append(f"{own}/{m['metadata']['name']} allows department {peer.get(DEPT)}")
    for m in manifests:
        if m["kind"] != "NetworkPolicy":
            continue
        for direction in ("ingress", "egress"):
            for rule in m["spec"].get(direction, []) or []:
                for peer in rule.get("from", rule.get("to", [])) or []:
                    labels = (peer.get("namespaceSelector") or {}).get("matchLabels", {})
                    if "namespaceSelector" in peer and "kubernetes.io/metadata.name" not in labels \
                            and DEPT not in labels:
                        bad.append(f"{m['metadata']['namespace']}/{m['metadata']['name']}: "
                                   "namespaceSelector not pinned to a department")
    return bad
