"""Segmentation policies: default deny, tenant isolation, the flow matrix, gatekeeper, bastion.

They read the planned Namespaces and NetworkPolicies of one stack and resolve every
allow rule to the zones (and departments) it really admits, then compare with the flow
matrix in ``estate/flows.yaml`` — the one list of allowed flows. The estate-side halves
reuse the model's own validation rules, so a bad matrix is reported with the same
words ``govcloud validate`` uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from govcloud.model import ApplianceKind, Estate, External, Flow, Zone
from govcloud.model import rules as model_rules
from policies import clauses as C
from policies.core import Context, Enforcement, Policy, Resource, Violation
from policies.k8s import (
    Ns,
    Peer,
    classify_peers,
    is_default_deny,
    namespaces,
    network_policies,
    rule_ports,
)

# Appliances that terminate the connection and open a new one: the pod-side port of a
# flow through them is the backend port, not the flow's published port.
PROXYING = {ApplianceKind.LOAD_BALANCER, ApplianceKind.GATEKEEPER, ApplianceKind.BASTION}


def _rules(
    resources: list[Resource], ctx: Context
) -> Iterator[tuple[Resource, Ns, str, int, Mapping[str, Any], list[Peer]]]:
    """Every allow rule of every NetworkPolicy, with its peers resolved."""
    nss = namespaces(resources)
    for np in network_policies(resources):
        own = nss.get(np.namespace) or Ns(np.namespace, {})
        spec = np.props.get("spec") or {}
        for direction in ("ingress", "egress"):
            for i, rule in enumerate(spec.get(direction) or []):
                yield (
                    np,
                    own,
                    direction,
                    i,
                    rule,
                    classify_peers(rule, direction, own, nss, ctx.estate),
                )


def flows_between(estate: Estate, src: Zone | External, dst: Zone | External) -> list[Flow]:
    """Matrix flows that let ``src`` open a connection to ``dst``."""
    return [
        f
        for f in estate.flows
        if (f.source == src and f.destination == dst)
        or (f.direction == "bidirectional" and f.source == dst and f.destination == src)
    ]


def _ends(
    own: Zone, other: Zone | External, direction: str
) -> tuple[Zone | External, Zone | External]:
    return (other, own) if direction == "ingress" else (own, other)


def _v(policy: str, np: Resource, direction: str, i: int, msg: str) -> Violation:
    return Violation(policy, np.ref, f"{np.ref} {direction}[{i}]: {msg}", np.urn or None)


def _problems(policy: str, rule_id: str, estate: Estate) -> Iterator[Violation]:
    for p in model_rules.RULES[rule_id](estate):
        yield Violation(policy, f"estate/{p.file}:{p.field}", str(p))


# ---------------------------------------------------------------- tenant-default-deny


def check_default_deny(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    nss = namespaces(resources)
    deny = {np.namespace: np for np in network_policies(resources) if is_default_deny(np)}
    by_name = {r.k8s_name: r for r in resources if r.kind == "Namespace"}
    for name, ns in sorted(nss.items()):
        if not ns.department:
            continue
        r = by_name[name]
        if name in deny:
            ctx.saw(f"{r.ref}: default-deny {deny[name].k8s_name}")
        else:
            yield Violation(
                "tenant-default-deny",
                r.ref,
                f"{r.ref}: tenant namespace {name} (department {ns.department}) has no "
                "default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress, Egress], "
                "no rules)",
                r.urn or None,
            )


# ---------------------------------------------------------------- no-cross-department


def check_cross_department(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pid = "no-cross-department"
    for np, own, direction, i, _rule, peers in _rules(resources, ctx):
        if not own.department:
            continue
        ctx.saw(f"{np.ref} {direction}[{i}]")
        for peer in peers:
            if peer.any:
                yield _v(pid, np, direction, i, f"admits {peer.text}, i.e. every department")
                continue
            for ns in peer.namespaces:
                if not ns.department or ns.department == own.department:
                    continue
                shared = (
                    own.zone is not None
                    and ns.zone is not None
                    and any(
                        not f.same_department
                        for f in flows_between(ctx.estate, *_ends(own.zone, ns.zone, direction))
                    )
                )
                if not shared:
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text} admits namespace {ns.name} of department "
                        f"{ns.department}; {own.department} may only reach another "
                        "department through a shared-service flow (same_department: false)",
                    )


# ---------------------------------------------------------------- flow-matrix-only


def _ports_ok(rule: Mapping[str, Any], flows: list[Flow]) -> str | None:
    """None if the rule's ports fit the flows; else why not."""
    ports = rule_ports(rule)
    if not ports:
        return "admits every port; name the flow's ports"
    if any(set(f.chain) & PROXYING for f in flows):
        return None  # the appliance re-originates the connection to the backend port
    allowed = {(str(p.protocol), p.port) for f in flows for p in f.ports}
    bad = [f"{proto}/{port}" for proto, port in ports if (proto, port) not in allowed]
    if bad:
        return f"port(s) {', '.join(bad)} are not in flow(s) {', '.join(f.id for f in flows)}"
    return None


def check_flow_matrix(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pid = "flow-matrix-only"
    for np, own, direction, i, rule, peers in _rules(resources, ctx):
        if own.zone is None:
            continue
        ctx.saw(f"{np.ref} {direction}[{i}]")
        for peer in peers:
            if peer.any:
                yield _v(pid, np, direction, i, f"admits {peer.text}; no flow allows every zone")
                continue
            for zone in sorted(peer.zones - {own.zone}):
                src, dst = _ends(own.zone, zone, direction)
                flows = flows_between(ctx.estate, src, dst)
                if not flows:
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text} opens {src} -> {dst}, which the flow matrix does not allow",
                    )
                elif why := _ports_ok(rule, flows):
                    yield _v(pid, np, direction, i, f"{peer.text} ({src} -> {dst}): {why}")
            if peer.external:
                flows = [
                    f
                    for ext in External
                    for f in flows_between(ctx.estate, *_ends(own.zone, ext, direction))
                ]
                if not flows:
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text} reaches outside the cloud; no flow joins {own.zone} "
                        f"and an external network in that direction",
                    )
                elif why := _ports_ok(rule, flows):
                    yield _v(pid, np, direction, i, f"{peer.text}: {why}")


# ---------------------------------------------------------------- gatekeeper-only


def check_gatekeeper_plan(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pair = {Zone.INTERNET, Zone.EXTRANET}
    for np, own, direction, i, _rule, peers in _rules(resources, ctx):
        if own.zone not in pair:
            continue
        other = (pair - {own.zone}).pop()
        ctx.saw(f"{np.ref} {direction}[{i}]")
        for peer in peers:
            if other in peer.zones:
                yield _v(
                    "gatekeeper-only",
                    np,
                    direction,
                    i,
                    f"{peer.text} opens a direct path between the {own.zone} zone and the "
                    f"{other} zone; they meet only through the gatekeeper (网闸), never pod to pod",
                )


def check_gatekeeper_estate(ctx: Context) -> Iterator[Violation]:
    pid = "gatekeeper-only"
    yield from _problems(pid, "flow-gatekeeper", ctx.estate)
    for f in ctx.estate.flows:
        if f.touches(Zone.INTERNET, Zone.EXTRANET):
            ctx.saw(f"flow {f.id}: {f.mode} {f.direction} via {' -> '.join(f.chain)}")
    for site in ctx.estate.sites:
        gk = [
            a
            for a in ctx.estate.appliances_at(site.name, ApplianceKind.GATEKEEPER)
            if any({*e} == {Zone.INTERNET, Zone.EXTRANET} for e in ctx.estate.edges_of(a))
        ]
        if gk:
            ctx.saw(f"{site.name}: gatekeeper {', '.join(a.name for a in gk)}")
        else:
            yield Violation(
                pid,
                f"site:{site.name}",
                f"site {site.name} has no gatekeeper appliance on the internet/extranet edge",
            )


# ---------------------------------------------------------------- management-via-bastion


def check_bastion_plan(resources: list[Resource], ctx: Context) -> Iterator[Violation]:
    pid = "management-via-bastion"
    mgmt = Zone.MANAGEMENT
    bastion_ports = {
        (str(p.protocol), p.port)
        for f in ctx.estate.flows
        if f.destination == mgmt and ApplianceKind.BASTION in f.chain
        for p in f.ports
    }
    for np, own, direction, i, rule, peers in _rules(resources, ctx):
        if own.zone is None:
            continue
        ports = rule_ports(rule)
        collection = bool(ports) and all(
            p in model_rules.COLLECTION_PORTS for _, p in ports if isinstance(p, int)
        )
        for peer in peers:
            if own.zone != mgmt:
                # management pods must not reach other zones directly (only collection)
                pods_in_mgmt = [n for n in peer.namespaces if n.zone == mgmt]
                if pods_in_mgmt and not (collection and own.zone == Zone.SECURITY_MANAGEMENT):
                    ctx.saw(f"{np.ref} {direction}[{i}]")
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text} joins management-zone pods "
                        f"({', '.join(n.name for n in pods_in_mgmt)}) and the {own.zone} zone "
                        "directly; administration goes through the bastion (堡垒机)",
                    )
                continue
            ctx.saw(f"{np.ref} {direction}[{i}]")
            if direction == "ingress":
                others = peer.zones - {mgmt}
                if peer.any or others:
                    what = "every zone" if peer.any else ", ".join(sorted(others))
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text} lets {what} into the management zone; it is reached "
                        "only through the bastion",
                    )
                elif peer.external and not ports:
                    yield _v(pid, np, direction, i, f"{peer.text} admits every port")
                elif peer.external and any(p not in bastion_ports for p in ports):
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text}: only the bastion's ports "
                        f"{sorted(f'{a}/{b}' for a, b in bastion_ports)} may enter management",
                    )
            else:
                others = peer.zones - {mgmt, Zone.SECURITY_MANAGEMENT}
                if peer.any or others:
                    what = "every zone" if peer.any else ", ".join(sorted(others))
                    yield _v(
                        pid,
                        np,
                        direction,
                        i,
                        f"{peer.text}: management-zone pods reach {what} directly; "
                        "operations on other zones are proxied and recorded by the bastion",
                    )


def check_bastion_estate(ctx: Context) -> Iterator[Violation]:
    pid = "management-via-bastion"
    yield from _problems(pid, "flow-management-bastion", ctx.estate)
    for f in ctx.estate.flows:
        if Zone.MANAGEMENT in (f.source, f.destination):
            ctx.saw(f"flow {f.id}: {f.source} -> {f.destination} via {' -> '.join(f.chain)}")
        if (
            f.destination == Zone.MANAGEMENT
            and f.source != Zone.MANAGEMENT
            and ApplianceKind.BASTION not in f.chain
        ):
            yield Violation(
                pid,
                f"flow:{f.id}",
                f"flow {f.id} enters the management zone from {f.source} without the bastion",
            )
    for site in ctx.estate.sites:
        b = [
            a
            for a in ctx.estate.appliances_at(site.name, ApplianceKind.BASTION)
            if any(e[1] == Zone.MANAGEMENT for e in ctx.estate.edges_of(a))
        ]
        if b:
            ctx.saw(f"{site.name}: bastion {', '.join(a.name for a in b)}")
        else:
            yield Violation(
                pid, f"site:{site.name}", f"site {site.name} has no bastion in front of management"
            )


POLICIES = [
    Policy(
        id="tenant-default-deny",
        title="Every tenant namespace denies all traffic by default",
        clauses=(C.BOUNDARY_ACCESS_A, C.CLOUD_NET_B, C.CLOUD_BOUNDARY_A),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Kubernetes admits all pod traffic until a NetworkPolicy selects the pod. A "
            "namespace without a deny-all policy is an open segment: anything not "
            "explicitly allowed must be refused, in both directions."
        ),
        on_stack=check_default_deny,
    ),
    Policy(
        id="no-cross-department",
        title="No allow rule lets one department's pods reach another's",
        clauses=(C.CLOUD_NET_B, C.CLOUD_BOUNDARY_A),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Departments (委办局) are separate cloud customers. Their virtual networks must "
            "be isolated from each other; the only exception is a shared service the flow "
            "matrix marks same_department: false (audit collection, time, DNS)."
        ),
        on_stack=check_cross_department,
    ),
    Policy(
        id="flow-matrix-only",
        title="Only flow-matrix flows cross between zones, on the matrix's ports",
        clauses=(C.BOUNDARY_ACCESS_A, C.BOUNDARY_ACCESS_B, C.CLOUD_BOUNDARY_B),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "The flow matrix (estate/flows.yaml) is the access-control policy between zones. "
            "An allow rule that opens a zone pair or port the matrix does not list is a rule "
            "nobody reviewed; a rule with no peer or no port admits more than any flow needs."
        ),
        on_stack=check_flow_matrix,
    ),
    Policy(
        id="gatekeeper-only",
        title="Internet zone and extranet zone meet only through the gatekeeper (网闸)",
        clauses=(C.NETWORK_ARCH_D, C.BOUNDARY_PROTECTION_A),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "The extranet zone holds the business data; the internet zone faces the public. "
            "The only crossing is a one-way ferry through the gatekeeper, so no interactive "
            "session and no pod-to-pod path may join them."
        ),
        on_stack=check_gatekeeper_plan,
        on_estate=check_gatekeeper_estate,
    ),
    Policy(
        id="management-via-bastion",
        title="The management zone is reached only through the bastion (堡垒机)",
        clauses=(C.CENTRAL_MGMT_A, C.CENTRAL_MGMT_B, C.COMPUTE_INTRUSION_C, C.CLOUD_CENTRAL_B),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Every administrative session must pass the bastion so it is authenticated with "
            "two factors and recorded. Management pods talking to workloads directly, or "
            "workloads reaching into management, bypass that record."
        ),
        on_stack=check_bastion_plan,
        on_estate=check_bastion_estate,
    ),
]
