"""ZoneSegmentation: the flow matrix, compiled into NetworkPolicies for one site.

Every tenant namespace starts at default deny (see :mod:`components.tenant`); the
policies here are the only allows, one per flow and namespace, generated from
``estate.flows``:

- zone -> zone, ``same_department: true``, interactive: pod-to-pod between the
  department's own namespaces only (namespaceSelector on department AND zone). A flow
  from a zone to itself (replication) also reaches the same zone's subnets on the other
  sites, where the department's replicas and the backup repository live.
- zone -> zone, ``same_department: false`` (shared services: audit collection, DNS,
  time, bastion operations): to / from the other zone's subnet on this site, never to
  another department's pods. A flow whose chain starts at the bastion gets no egress
  from the source zone's pods: the bastion host opens it, not a workload.
- external -> zone (public internet, e-government WAN, department VPN): from the
  destination zone's own subnet, where the last appliance of the chain (load balancer,
  IPS, VPN gateway) hands the traffic in.
- ``mode: ferry`` (the gatekeeper between internet and extranet zones): nothing. A ferry
  copies files across an air gap off-cluster; no pod-to-pod path may exist.
- zone -> external flows and ICMP ports are not expressible here and are left to the
  perimeter firewall (none exist in the sample matrix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi

from components.common import Label, tenant_labels
from components.kube import NETWORK_POLICY, KubeObject
from govcloud.model import ApplianceKind, Direction, Flow, FlowMode, Protocol, SiteName, Zone
from govcloud.model.schema import Port


@dataclass(frozen=True)
class ZoneSegmentationArgs:
    site: SiteName
    flows: list[Flow]
    # (department, zone) -> namespace, for every tenant namespace on the site
    namespaces: dict[tuple[str, Zone], str]
    # zone -> {site: CIDR}: every site's subnets (replication crosses sites)
    cidrs: dict[Zone, dict[SiteName, str]]


def _ports(ports: list[Port]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in ports:
        if p.protocol == Protocol.ICMP:
            continue
        entry: dict[str, Any] = {"protocol": str(p.protocol).upper()}
        if p.port is not None:
            entry["port"] = p.port
        out.append(entry)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", text.lower())


@dataclass(frozen=True)
class _Rule:
    """One generated allow: in ``namespace``, ingress or egress to/from ``peers``."""

    namespace: str
    department: str
    zone: Zone
    name: str
    direction: str  # "Ingress" | "Egress"
    peers: list[dict[str, Any]]
    ports: list[dict[str, Any]]
    flow: str


def compile_flows(args: ZoneSegmentationArgs) -> list[_Rule]:
    """The allow rules the flow matrix implies on ``args.site`` (pure; no Pulumi)."""
    by_zone: dict[Zone, list[tuple[str, str]]] = {}
    for (dept, zone), ns in sorted(args.namespaces.items()):
        by_zone.setdefault(zone, []).append((dept, ns))
    rules: list[_Rule] = []

    def subnet(zone: Zone, sites: list[SiteName]) -> list[dict[str, Any]]:
        return [{"ipBlock": {"cidr": args.cidrs[zone][s]}} for s in sites]

    def tenant_peer(dept: str, zone: Zone) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {Label.DEPARTMENT: dept,
                                                      Label.ZONE: str(zone)}}}

    others = [s for s in SiteName if s != args.site]
    for flow in args.flows:
        ports = _ports(flow.ports)
        if not ports or flow.mode == FlowMode.FERRY:
            continue
        pairs = [(flow.source, flow.destination)]
        if flow.direction == Direction.BIDIRECTIONAL and flow.source != flow.destination:
            pairs.append((flow.destination, flow.source))
        for src, dst in pairs:
            if not isinstance(dst, Zone):
                continue  # zone -> external: the perimeter's business
            if not isinstance(src, Zone):
                for dept, ns in by_zone.get(dst, []):
                    rules.append(_Rule(ns, dept, dst, f"flow-{flow.id}", "Ingress",
                                       subnet(dst, [args.site]), ports, flow.id))
                continue
            if flow.same_department:
                for dept, src_ns in by_zone.get(src, []):
                    dst_ns = args.namespaces.get((dept, dst))
                    if dst_ns is None:
                        continue
                    peers_in = [tenant_peer(dept, src)]
                    peers_out = [tenant_peer(dept, dst)]
                    if src == dst:
                        peers_in += subnet(src, others)
                        peers_out += subnet(dst, others)
                    rules.append(_Rule(dst_ns, dept, dst, f"flow-{flow.id}-from-{src}",
                                       "Ingress", peers_in, ports, flow.id))
                    rules.append(_Rule(src_ns, dept, src, f"flow-{flow.id}-to-{dst}",
                                       "Egress", peers_out, ports, flow.id))
            else:
                # A chain that starts at the bastion is opened by the bastion host, never by
                # the source zone's pods: they get no egress for it (policy
                # management-via-bastion), only the destination admits the source subnet.
                via_bastion = bool(flow.chain) and flow.chain[0] == ApplianceKind.BASTION
                for dept, ns in [] if via_bastion else by_zone.get(src, []):
                    rules.append(_Rule(ns, dept, src, f"flow-{flow.id}-to-{dst}", "Egress",
                                       subnet(dst, [args.site]), ports, flow.id))
                for dept, ns in by_zone.get(dst, []):
                    rules.append(_Rule(ns, dept, dst, f"flow-{flow.id}-from-{src}",
                                       "Ingress", subnet(src, [args.site]), ports, flow.id))
    return rules


class ZoneSegmentation(pulumi.ComponentResource):
    """NetworkPolicies for one site, compiled from the flow matrix (see module docs)."""

    def __init__(
        self, name: str, args: ZoneSegmentationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("govcloud:network:ZoneSegmentation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rules = compile_flows(args)
        for r in rules:
            key = "ingress" if r.direction == "Ingress" else "egress"
            peer_key = "from" if key == "ingress" else "to"
            KubeObject(NETWORK_POLICY, f"{r.namespace}-{_slug(r.name)}", {
                "metadata": {
                    "name": _slug(r.name),
                    "namespace": r.namespace,
                    "labels": tenant_labels(r.department, r.zone, args.site),
                    "annotations": {"govcloud.io/flow": r.flow},
                },
                "spec": {
                    "podSelector": {},
                    "policyTypes": [r.direction],
                    key: [{peer_key: r.peers, "ports": r.ports}],
                },
            }, child)
        self.policy_count = len(rules)
        self.register_outputs({"policies": len(rules)})
