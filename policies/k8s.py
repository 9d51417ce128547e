"""Kubernetes helpers over plain resource data (camelCase props, as CrossGuard sees them).

Label keys are the contract with the components that render the plan; selector matching
follows the Kubernetes semantics (matchLabels AND matchExpressions; an empty selector
matches everything), so a check reasons about what a NetworkPolicy really admits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from govcloud.model import Estate, External, Label, SiteName, Zone
from policies.core import Resource

# Label keys come from the model (the contract the components write to).
DEPARTMENT = Label.DEPARTMENT.value
ZONE = Label.ZONE.value
SITE = Label.SITE.value
SYSTEM = Label.SYSTEM.value
COMPONENT = Label.COMPONENT.value
DR_TIER = Label.DR_TIER.value
PLACEMENT = Label.PLACEMENT.value
MLPS_LEVEL = Label.MLPS_LEVEL.value

NAMESPACE = "Namespace"
NETWORK_POLICY = "NetworkPolicy"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


def site_of_stack(stack: str | None) -> SiteName | None:
    """The site a stack deploys to (stacks are named after their site, maybe prefixed)."""
    for s in SiteName:
        if stack and (stack == s.value or stack.endswith(s.value)):
            return s
    return None


def is_kind(r: Resource, kind: str) -> bool:
    return r.type.startswith("kubernetes:") and r.kind == kind


def is_workload(r: Resource) -> bool:
    return r.type.startswith("kubernetes:") and r.kind in WORKLOAD_KINDS


def pod_spec(r: Resource) -> Mapping[str, Any]:
    """The pod spec inside any workload kind (``{}`` if it has none)."""
    spec = r.props.get("spec") or {}
    if r.kind == "Pod":
        return spec
    if r.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def pod_labels(r: Resource) -> Mapping[str, str]:
    spec = r.props.get("spec") or {}
    if r.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def workload_labels(r: Resource) -> dict[str, str]:
    """Workload labels merged over its pod template labels."""
    return {**pod_labels(r), **r.labels}


def containers(r: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    spec = pod_spec(r)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            yield key, c


def is_tenant(r: Resource) -> bool:
    """A department's workload or namespace (platform objects carry no department label)."""
    return bool(workload_labels(r).get(DEPARTMENT))


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; ``None`` or ``{}`` matches everything."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True)
class Ns:
    """A planned namespace and what its labels say."""

    name: str
    labels: Mapping[str, str]

    @property
    def department(self) -> str | None:
        return self.labels.get(DEPARTMENT)

    @property
    def zone(self) -> Zone | None:
        z = self.labels.get(ZONE)
        return Zone(z) if z in {v.value for v in Zone} else None


def namespaces(resources: list[Resource]) -> dict[str, Ns]:
    """Planned namespaces by name, labels merged with ``kubernetes.io/metadata.name``."""
    out: dict[str, Ns] = {}
    for r in resources:
        if is_kind(r, NAMESPACE):
            name = r.k8s_name
            out[name] = Ns(name, {**r.labels, "kubernetes.io/metadata.name": name})
    return out


def network_policies(resources: list[Resource]) -> list[Resource]:
    return [r for r in resources if is_kind(r, NETWORK_POLICY)]


def is_default_deny(np: Resource) -> bool:
    """Selects every pod, both directions, admits nothing."""
    spec = np.props.get("spec") or {}
    types = set(spec.get("policyTypes") or [])
    return (
        not (spec.get("podSelector") or {})
        and {"Ingress", "Egress"} <= types
        and not spec.get("ingress")
        and not spec.get("egress")
    )


# ---------------------------------------------------------------- peers


@dataclass(frozen=True)
class Peer:
    """Where one NetworkPolicy peer reaches.

    ``zones`` are the zones it can reach (a namespace peer: the selected namespaces'
    zones; an ipBlock: the zones whose CIDR it overlaps); ``external`` is True when an
    ipBlock reaches beyond every zone CIDR (outside the cloud); ``any`` when the rule
    names no peer at all (every source/destination). ``namespaces`` are the selected
    planned namespaces (namespace peers only).
    """

    text: str
    zones: frozenset[Zone]
    namespaces: tuple[Ns, ...] = ()
    external: bool = False
    any: bool = False
    cidr: str | None = None


def _zone_nets(estate: Estate) -> list[tuple[Zone, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    return [(z.name, z.network(site)) for z in estate.zones for site in z.cidrs]


def classify_peers(
    rule: Mapping[str, Any],
    direction: str,
    own: Ns,
    nss: Mapping[str, Ns],
    estate: Estate,
) -> list[Peer]:
    """Resolve the peers of one ingress (``from``) or egress (``to``) rule."""
    key = "from" if direction == "ingress" else "to"
    peers = rule.get(key)
    if not peers:
        return [Peer("any peer (rule has no '" + key + "')", frozenset(Zone), any=True)]
    out: list[Peer] = []
    for p in peers:
        if p.get("ipBlock"):
            cidr = str(p["ipBlock"].get("cidr", ""))
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                out.append(Peer(f"ipBlock {cidr!r} (unparseable)", frozenset(), external=True))
                continue
            excepts = []
            for e in p["ipBlock"].get("except") or []:
                try:
                    excepts.append(ipaddress.ip_network(str(e), strict=False))
                except ValueError:
                    continue
            zones = frozenset(
                z
                for z, zn in _zone_nets(estate)
                if zn.version == net.version
                and zn.overlaps(net)
                and not any(zn.version == x.version and zn.subnet_of(x) for x in excepts)  # type: ignore[arg-type]
            )
            inside = any(
                zn.version == net.version and net.subnet_of(zn)  # type: ignore[arg-type]
                for _, zn in _zone_nets(estate)
            )
            out.append(Peer(f"ipBlock {cidr}", zones, external=not inside, cidr=cidr))
            continue
        ns_sel = p.get("namespaceSelector")
        if ns_sel is None:
            # podSelector alone: pods of the policy's own namespace
            out.append(
                Peer(f"pods of {own.name}", frozenset({own.zone} if own.zone else ()), (own,))
            )
            continue
        selected = tuple(ns for ns in nss.values() if selector_matches(ns_sel, ns.labels))
        text = "all namespaces" if not ns_sel else f"namespaces {_sel_text(ns_sel)}"
        out.append(Peer(text, frozenset(n.zone for n in selected if n.zone), selected))
    return out


def _sel_text(sel: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    parts += [
        f"{e.get('key')} {e.get('operator')} {e.get('values') or ''}".strip()
        for e in sel.get("matchExpressions") or []
    ]
    return "{" + ", ".join(parts) + "}"


def _port(value: Any) -> int | str | None:
    """A port number as an int: the engine hands every number as a float (``514.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rule_ports(rule: Mapping[str, Any]) -> list[tuple[str, int | str | None]]:
    """``[(protocol, port)]``; an empty list means every port."""
    return [
        (str(p.get("protocol") or "TCP").lower(), _port(p.get("port")))
        for p in rule.get("ports") or []
    ]


EXTERNALS = frozenset(External)
