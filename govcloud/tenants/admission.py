"""Admission: a yes/no per department request, with every reason, nothing partial.

Order (deterministic, and printed with the verdicts): requests are judged one after
another against a ledger that starts empty. A request's place in the queue is that of
its most advanced live system: systems already holding resources first (provisioned,
then testing), then reviewed, then applied; ties by the earliest applied date, then
the lowest migration wave, then the department name. So what is already running is
charged before anything new, and among new requests the first to apply is served first.

A request is admitted only if *all* of it passes: the model's rules for its file, the
request-state check, the capacity ledger of every site, and the DR headroom of every
failure scenario (see :mod:`.ledger`). A refused request charges nothing, so a later
request is judged as if it had never been made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from govcloud.model import Department, Estate, LifecycleState, Problem, Resources, System
from govcloud.tenants.ledger import Ledger, Shortfall, after_failure, held
from govcloud.tenants.lifecycle import STATE_RANK, holds_quota
from govcloud.tenants.requests import Request, load_requests

ORDER_EXPLAINED = (
    "requests are judged in order of their most advanced live system (provisioned, "
    "testing, reviewed, applied), then earliest applied date, then lowest wave, then "
    "department name; each admitted request is charged before the next is judged"
)


@dataclass
class Decision:
    request: Request
    order: int
    key: tuple
    admitted: bool
    reasons: list[Problem] = field(default_factory=list)
    charged: list[System] = field(default_factory=list)  # systems put on the ledger

    @property
    def verdict(self) -> str:
        return "ADMITTED" if self.admitted else "REFUSED"


@dataclass
class Admission:
    estate: Estate
    today: dt.date | None
    decisions: list[Decision]
    ledger: Ledger

    def admitted_systems(self) -> list[tuple[Department, System]]:
        """Systems on the ledger after admission, in the estate's department order."""
        charged = {
            (d.request.name, s.name) for d in self.decisions if d.admitted for s in d.charged
        }
        out = []
        for d in self.decisions:
            if d.admitted and d.request.department is not None:
                dept = d.request.department
                out += [(dept, s) for s in dept.systems if (dept.name, s.name) in charged]
        return out


def request_key(req: Request) -> tuple:
    """Queue position of a request (see the module docstring)."""
    dept = req.department
    if dept is None:
        return (99, dt.date.max, 99, req.name, req.source)
    live = [s for s in dept.systems if s.live] or dept.systems
    rank = min(STATE_RANK[LifecycleState(s.lifecycle.state)] for s in live)
    applied = min(s.lifecycle.applied for s in live)
    wave = min(s.wave for s in live)
    return (rank, applied, wave, dept.name, req.source)


def _added(estate: Estate, systems: list[System], sf: Shortfall) -> Decimal:
    """How much of the shortfall's resource the request itself adds on that site."""
    total = Resources()
    for s in systems:
        if sf.scenario is None:
            total = total + held(estate, s)[sf.site]
        else:
            total = total + after_failure(estate, s, sf.scenario).get(sf.site, Resources())
    return getattr(total, sf.resource)


def admit(
    estate: Estate,
    requests: list[Request],
    *,
    today: dt.date | None = None,
    test_period_days: int = 15,
    baseline: list[Request] | None = None,
) -> Admission:
    """Judge ``requests`` in queue order; ``baseline`` requests are charged first.

    ``baseline`` is the estate's departments that the requests do not replace: when a
    new department asks to join, what is already on the cloud is judged (and charged)
    before it. ``today`` applies test-resource expiry (None: as recorded).
    """
    ledger = Ledger(estate)
    decisions: list[Decision] = []
    queue = sorted(baseline or [], key=request_key) + sorted(requests, key=request_key)
    for n, req in enumerate(queue, start=1):
        reasons = list(req.problems)
        charged: list[System] = []
        trial = ledger
        if req.department is not None:
            charged = [
                s for s in req.department.systems if holds_quota(s, today, test_period_days)
            ]
            trial = ledger.with_systems(charged)
            for sf in trial.shortfalls():
                rule = "site-capacity" if sf.scenario is None else "dr-headroom"
                reasons.append(
                    Problem(
                        req.source,
                        "systems",
                        rule,
                        sf.describe(_added(estate, charged, sf)),
                    )
                )
        admitted = not reasons
        if admitted:
            ledger = trial
        decisions.append(
            Decision(req, n, request_key(req), admitted, reasons, charged if admitted else [])
        )
    return Admission(estate, today, decisions, ledger)


def admit_estate(
    estate: Estate, *, today: dt.date | None = None, test_period_days: int = 15
) -> Admission:
    """Judge the estate's own departments (what the stacks may carry)."""
    return admit(
        estate, load_requests(estate), today=today, test_period_days=test_period_days
    )


def admit_files(
    estate: Estate,
    files: Sequence[Path | str],
    *,
    today: dt.date | None = None,
    test_period_days: int = 15,
) -> Admission:
    """Judge request files against the estate: the departments they leave alone first."""
    requests = load_requests(estate, files)
    replaced = {r.department.name for r in requests if r.department is not None}
    baseline = [r for r in load_requests(estate) if r.name not in replaced]
    return admit(
        estate,
        requests,
        today=today,
        test_period_days=test_period_days,
        baseline=baseline,
    )
