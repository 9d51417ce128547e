"""ZoneSegmentation: the flow matrix as NetworkPolicies — and nothing more."""

from __future__ import annotations

import copy

import pytest
from netpol import cross_department, internet_to_extranet, namespaces

from components.segmentation import ZoneSegmentationArgs, compile_flows
from govcloud.model import Estate, FlowMode, SiteName, Zone
from govcloud.model.schema import Flow

STACKS = [str(s) for s in SiteName]


@pytest.mark.parametrize("stack", STACKS)
def test_every_tenant_namespace_is_fenced(stack_plans: dict, stack: str) -> None:
    """Each tenant namespace: a quota, a limit range, and default deny both ways."""
    manifests = stack_plans[stack].manifests
    tenant_ns = namespaces(manifests)
    assert len(tenant_ns) >= 20
    for ns in tenant_ns:
        kinds = {(m["kind"], m["metadata"]["name"]): m for m in manifests
                 if m["metadata"].get("namespace") == ns}
        assert ("ResourceQuota", "department-quota") in kinds, ns
        assert ("LimitRange", "department-limits") in kinds, ns
        deny = kinds[("NetworkPolicy", "default-deny")]["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, ns


@pytest.mark.parametrize("stack", STACKS)
def test_internet_pods_never_reach_extranet_pods(
    stack_plans: dict, estate: Estate, stack: str
) -> None:
    assert internet_to_extranet(stack_plans[stack].manifests, estate) == []


@pytest.mark.parametrize("stack", STACKS)
def test_no_cross_department_allow(stack_plans: dict, estate: Estate, stack: str) -> None:
    assert cross_department(stack_plans[stack].manifests, estate) == []


def test_same_department_flows_become_pod_to_pod_allows(stack_plans: dict) -> None:
    """dedicated -> extranet (same department): health has no dedicated zone, hrss does."""
    manifests = stack_plans["region-a-dc1"].manifests
    by_name = {(m["metadata"].get("namespace"), m["metadata"]["name"]): m
               for m in manifests if m["kind"] == "NetworkPolicy"}
    ingress = by_name[("hrss-extranet", "flow-dedicated-to-extranet-from-dedicated")]["spec"]
    assert ingress["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {
            "govcloud.io/department": "hrss", "govcloud.io/zone": "dedicated"}}}],
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 8080}],
    }]
    assert ("hrss-dedicated", "flow-dedicated-to-extranet-to-extranet") in by_name
    assert ("health-extranet", "flow-dedicated-to-extranet-from-dedicated") not in by_name


def test_ferry_flows_compile_to_nothing(estate: Estate) -> None:
    """The gatekeeper ferry is off-cluster: no policy mentions the ferry flows."""
    ferries = {f.id for f in estate.flows if f.mode == FlowMode.FERRY}
    assert ferries == {"internet-to-extranet-ferry", "extranet-to-internet-ferry"}
    args = _args(estate)
    assert {r.flow for r in compile_flows(args)} & ferries == set()


def _args(estate: Estate, flows: list[Flow] | None = None) -> ZoneSegmentationArgs:
    namespaces_ = {(d.name, z): f"{d.name}-{z}" for d, s in estate.systems() for z in s.zones}
    return ZoneSegmentationArgs(
        site=SiteName.DC1,
        flows=list(estate.flows) if flows is None else flows,
        namespaces=namespaces_,
        cidrs={z.name: dict(z.cidrs) for z in estate.zones},
    )


def test_the_checks_can_fail(estate: Estate, stack_plans: dict) -> None:
    """If the matrix had an interactive internet -> extranet flow, both checks would see it."""
    ferry = next(f for f in estate.flows if f.id == "internet-to-extranet-ferry")
    bad_flow = ferry.model_copy(update={"mode": FlowMode.INTERACTIVE, "same_department": False})
    rules = [r for r in compile_flows(_args(estate, [bad_flow]))]
    assert rules, "an interactive internet->extranet flow must compile to allows"

    manifests = copy.deepcopy(stack_plans["region-a-dc1"].manifests)
    extranet = estate.zone(Zone.EXTRANET).cidrs[SiteName.DC1]
    manifests.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "leak", "namespace": "health-internet"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                 "egress": [{"to": [{"ipBlock": {"cidr": extranet}}]}]},
    })
    manifests.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "neighbour", "namespace": "health-extranet"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"govcloud.io/department": "taxation",
                                                   "govcloud.io/zone": "extranet"}}}]}]},
    })
    assert internet_to_extranet(manifests, estate) == [
        "health-internet/leak: internet pods may open connections to extranet"
    ]
    assert cross_department(manifests, estate) == [
        "health-extranet/neighbour allows department taxation"
    ]
