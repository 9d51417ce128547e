"""Where each appliance of ``estate/appliances.yaml`` sits, and what really stands in for it.

Why: the model promises appliances on every site; a reviewer must be able to tell which
of them the lab really deploys (and on which hosts) from which are only planned. Placement
comes from the model (``Estate.flows_of``: the chains that name an inline kind, the flows
a passive kind observes); deployment from the roles: a role that stands in for an
appliance says so with ``APPLIANCE_KIND`` (and, where only some of its hosts are the
appliance, a ``stands_in(estate, host)`` predicate), and the lab topology says which
hosts of which site run it. Nothing here is typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govcloud.model import Appliance, ApplianceKind, Estate


@dataclass(frozen=True)
class Placement:
    appliance: Appliance
    flows: tuple[str, ...]  # flow ids it sits in (inline) or observes (passive)
    hosts: tuple[str, ...]  # lab hosts on its site whose role stands in for it

    @property
    def deployed(self) -> bool:
        return bool(self.hosts)


def _standing_roles() -> dict[ApplianceKind, list[tuple[str, Any]]]:
    from govcloud.lab.image import discover_roles

    out: dict[ApplianceKind, list[tuple[str, Any]]] = {}
    for name, mod in discover_roles().items():
        kind = getattr(mod, "APPLIANCE_KIND", None)
        if kind is not None:
            out.setdefault(kind, []).append((name, mod))
    return out


def placements(estate: Estate) -> list[Placement]:
    """Every appliance with its flows and the lab hosts that stand in for it."""
    try:
        from govcloud.lab.profile import load_profile
        from govcloud.lab.topology import build_topology

        topo: Any = build_topology(estate, load_profile(estate))
    except ImportError:
        topo = None
    roles = _standing_roles()
    out = []
    for a in estate.appliances:
        hosts: list[str] = []
        for role, mod in roles.get(a.kind, []):
            for h in (topo.with_role(role, a.site) if topo is not None else []):
                pred = getattr(mod, "stands_in", None)
                if pred is None or pred(estate, h):
                    hosts.append(h.name)
        out.append(Placement(a, tuple(f.id for f in estate.flows_of(a)), tuple(sorted(hosts))))
    return out


def undeployed_kinds() -> list[ApplianceKind]:
    """Appliance kinds no role stands in for."""
    have = set(_standing_roles())
    return [k for k in ApplianceKind if k not in have]


def appliance_rows(estate: Estate) -> list[tuple[str, str, str, str, str, str]]:
    """The report's "Security appliances" table: name, kind, site, placement, stand-in,
    lab hosts (or **not deployed**)."""
    rows = []
    for p in placements(estate):
        a = p.appliance
        how = "observes" if a.kind.passive else "in chain of"
        where = f"{how} {', '.join(p.flows)}" if p.flows else "**no flow names it**"
        hosts = ", ".join(p.hosts) if p.deployed else "**not deployed**"
        rows.append((a.name, str(a.kind), str(a.site), where, a.stand_in, hosts))
    return rows
