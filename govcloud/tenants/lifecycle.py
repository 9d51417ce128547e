"""Lifecycle of a department's system: applied → reviewed → testing → provisioned → reclaimed.

The dates are recorded in the department file (the one source of truth); this module
only reads them *as of* a given day, so every answer is reproducible. Test resources
(测试资源) are released ``test_period_days`` after they were handed out unless the
system was provisioned by then: an expired test system holds no quota any more, and
neither does a reclaimed one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govcloud.model import Department, LifecycleState, System

# Admission order: systems that already hold resources come first, then those further
# along the review. Reclaimed systems hold nothing and sort last.
STATE_RANK = {
    LifecycleState.PROVISIONED: 0,
    LifecycleState.TESTING: 1,
    LifecycleState.REVIEWED: 2,
    LifecycleState.APPLIED: 3,
    LifecycleState.RECLAIMED: 4,
}


@dataclass(frozen=True)
class LifecycleStatus:
    department: str
    system: str
    state: LifecycleState
    since: dt.date  # date of the current state
    days_in_state: int
    holds_quota: bool
    expires: dt.date | None  # test resources' release day (testing only)
    expired: bool
    note: str


def test_expiry(system: System, test_period_days: int) -> dt.date | None:
    """Day the system's test resources are released, or None if it is not in testing."""
    lc = system.lifecycle
    if lc.state != LifecycleState.TESTING or lc.testing is None:
        return None
    return lc.testing + dt.timedelta(days=test_period_days)


def holds_quota(system: System, today: dt.date | None, test_period_days: int) -> bool:
    """Whether the system is charged to the capacity ledger as of ``today``.

    ``today=None`` reads the file as recorded (no expiry applied): the stack program
    uses that so a plan depends on the repository alone.
    """
    if not system.live:
        return False
    expiry = test_expiry(system, test_period_days)
    return not (today is not None and expiry is not None and today >= expiry)


def lifecycle_status(
    department: Department, system: System, today: dt.date, test_period_days: int
) -> LifecycleStatus:
    """Where the system stands on ``today`` and what the operator has to do about it."""
    lc = system.lifecycle
    state = LifecycleState(lc.state)
    since = getattr(lc, state.value) or lc.applied
    days = (today - since).days
    expiry = test_expiry(system, test_period_days)
    expired = expiry is not None and today >= expiry
    if state == LifecycleState.APPLIED:
        note = f"awaiting review for {days} day(s)"
    elif state == LifecycleState.REVIEWED:
        note = f"reviewed; awaiting test resources for {days} day(s)"
    elif state == LifecycleState.TESTING and expiry is not None:
        if expired:
            note = (
                f"test resources EXPIRED on {expiry} ({test_period_days} days after "
                f"{lc.testing}); released, record state: reclaimed or provision"
            )
        else:
            left = (expiry - today).days
            note = f"testing, day {days + 1} of {test_period_days}; {left} day(s) left"
    elif state == LifecycleState.PROVISIONED:
        note = f"in service for {days} day(s)"
    else:
        note = f"reclaimed on {lc.reclaimed}; quota freed"
    if days < 0:
        note += f" (dated after {today})"
    return LifecycleStatus(
        department=department.name,
        system=system.name,
        state=state,
        since=since,
        days_in_state=days,
        holds_quota=holds_quota(system, today, test_period_days),
        expires=expiry,
        expired=expired,
        note=note,
    )
