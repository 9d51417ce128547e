"""RTO/RPO arithmetic on synthetic timelines whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from govcloud.drills.metrics import (
    Attempt,
    ambiguous,
    rpo,
    rto,
    table_level,
    tier_level,
    write_pause,
)


def _timeline() -> list[Attempt]:
    # One write every second; the fault is at t=10.5. Writes sent at 11..24 fail (the
    # client times each out 1 s later); the service answers again from t=25.
    out = [Attempt(f"r{t}", t, t + 0.1, True, seq=t) for t in range(1, 11)]
    out += [Attempt(f"f{t}", t, t + 1.0, False, error="timeout") for t in range(11, 25)]
    out += [Attempt(f"r{t}", t, t + 0.2, True, seq=t) for t in range(25, 31)]
    return out


def test_rto_is_fault_to_first_ack_sent_after_the_fault() -> None:
    # first acknowledged write sent after 10.5 is r25, acknowledged at 25.2
    assert rto(_timeline(), 10.5) == pytest.approx(14.7)


def test_rto_ignores_a_write_in_flight_at_the_fault() -> None:
    tl = [*_timeline(), Attempt("late", 10.4, 12.0, True)]
    assert rto(tl, 10.5) == pytest.approx(14.7)


def test_rto_none_when_the_service_never_answers() -> None:
    tl = [a for a in _timeline() if a.sent < 25]
    assert rto(tl, 10.5) is None


def test_write_pause_counts_window_edges() -> None:
    tl = _timeline()
    # acks at 1.1 .. 10.1, then 25.2 ..: the longest gap in [5, 30] is 10.1 -> 25.2
    assert write_pause(tl, 5, 30) == pytest.approx(15.1)
    # window entirely inside the outage: the whole window
    assert write_pause(tl, 12, 20) == pytest.approx(8.0)
    # window ending before recovery: from last ack 10.1 to the end 22
    assert write_pause(tl, 9, 22) == pytest.approx(11.9)


def test_rpo_zero_when_every_ack_is_present() -> None:
    tl = _timeline()
    present = {a.req for a in tl if a.ok}
    r = rpo(tl, present)
    assert (r.lost, r.seconds) == (0, 0.0)


def test_rpo_counts_lost_acks_and_their_span() -> None:
    tl = _timeline()
    # r8, r9, r10 were acknowledged (8.1, 9.1, 10.1) but are missing; r7 survived (7.1)
    present = {a.req for a in tl if a.ok} - {"r8", "r9", "r10"}
    r = rpo(tl, present)
    assert r.lost == 3
    assert r.seconds == pytest.approx(10.1 - 7.1)
    assert (r.first_lost, r.last_lost) == ("r8", "r10")


def test_rpo_without_any_survivor_before_counts_from_first_send() -> None:
    tl = [Attempt("a", 0.0, 0.5, True), Attempt("b", 1.0, 1.5, True)]
    r = rpo(tl, set())
    assert r.lost == 2
    assert r.seconds == pytest.approx(1.5)


def test_failed_but_committed_writes_are_ambiguous_not_lost() -> None:
    tl = _timeline()
    present = {a.req for a in tl if a.ok} | {"f11"}
    assert ambiguous(tl, present) == 1
    assert rpo(tl, present).lost == 0


def test_levels_from_the_estate(estate) -> None:
    tiers = estate.tiers
    # in-city: RPO 0 and 12 s meets dual-active (level 6)
    assert tier_level(tiers, 0, 12, offsite=False) == (6, "dual-active")
    # 20 s misses dual-active's 15 s but meets warm-standby (60 s / 1800 s)
    assert tier_level(tiers, 0, 20, offsite=False) == (5, "warm-standby")
    # off-site: 3 s lost, 90 s down -> dual-active; 30 s lost -> warm-standby (900 s)
    assert tier_level(tiers, 3, 90, offsite=True) == (6, "dual-active")
    assert tier_level(tiers, 30, 90, offsite=True) == (5, "warm-standby")
    assert tier_level(tiers, 10**6, 10**6, offsite=True) == (None, None)


def test_levels_from_the_2007_table(estate) -> None:
    ed = next(e for e in estate.editions if e.levels)
    assert table_level(ed, 0, 12) == 6  # RPO 0, RTO minutes
    assert table_level(ed, 3, 90) == 5  # RPO within 0-30 minutes
    assert table_level(ed, 3600, 3 * 3600) == 4  # hours to 1 day / hours to 2 days
    assert table_level(ed, 2 * 86400, 3 * 86400) == 2
