"""DR drills end to end on the lab (marker ``drill``): all four runbooks, and two of them
again under the month-end peak (``estate/dr-tiers.yaml`` ``peak_load``).

In file order, which is also the natural order of a drill day: DC1 loss, planned
switchover, loss of region A, loss of region A under the peak, failback to region A,
DC1 loss under the peak. Each drill brings the lab to its own preconditions first, so
any one of them can also run alone.

Each test runs the runbook exactly as ``govcloud drill`` does, writes the report into
``reports/ci/`` and asserts the *measured* figures against the DR tier's targets in the
model (never against numbers written here).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govcloud.drills.engine import run_drill
from govcloud.drills.report import write_report
from govcloud.drills.runbook import load_runbook

pytestmark = pytest.mark.drill

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "reports" / "ci"


IDLE: dict[str, float] = {}  # RTO without the peak, for the same drill under it


def _drill(lab, estate, name: str, peak: bool = False) -> dict:
    rb = load_runbook(REPO / "runbooks" / name)
    run = run_drill(rb, lab, REPORTS / "raw", peak=estate.peak_load if peak else None)
    paths = write_report(run, rb, estate, REPORTS)
    doc = json.loads(paths["json"].read_text())
    print(paths["md"].read_text())
    assert paths["png"].stat().st_size > 0
    return doc


def test_dc1_loss_meets_the_in_city_targets(lab, estate) -> None:
    tier = estate.tier("dual-active")
    doc = _drill(lab, estate, "failover-dc1-loss.md")
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["checked_on"] == "dc2-pg" or res["checked_on"] == "dc1-pg"
    assert res["rpo_lost_writes"] == 0, f"acknowledged writes lost: {res['first_lost']}.."
    assert res["rto_seconds"] is not None and res["rto_seconds"] <= tier.rto_seconds
    assert res["level_attained"] == tier.gbt20988_level
    assert doc["settings"]["patroni_region_a"]["ttl"] is not None
    assert res["passed"], res["checks"]
    IDLE["dc1-loss"] = res["rto_seconds"]


def test_switchover_loses_nothing_and_pauses_briefly(lab, estate) -> None:
    doc = _drill(lab, estate, "switchover-dc1-to-dc2.md")
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["rpo_lost_writes"] == 0, f"acknowledged writes lost: {res['first_lost']}.."
    assert res["write_pause_seconds"] <= res["targets"]["max_write_pause_seconds"]
    assert res["passed"], res["checks"]


def test_region_a_loss_meets_the_offsite_targets(lab, estate) -> None:
    tier = estate.tier("dual-active")
    doc = _drill(lab, estate, "failover-region-a-loss.md")
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["checked_on"] == "dr-pg"
    assert res["rpo_seconds"] <= tier.offsite_rpo_seconds
    assert res["rto_seconds"] is not None and res["rto_seconds"] <= tier.offsite_rto_seconds
    assert res["passed"], res["checks"]


def test_region_a_loss_under_the_peak_states_its_rpo_honestly(lab, estate) -> None:
    """The cut hits while the batch writes faster than the off-site link carries: region
    B is behind, acknowledged writes are lost, and the report says so against the tier
    (pass or fail, never tuned to pass), with the link that would have carried the peak."""
    tier = estate.tier("dual-active")
    doc = _drill(lab, estate, "failover-region-a-loss.md", peak=True)
    res = doc["results"]
    peak = res["peak"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["checked_on"] == "dr-pg"
    assert peak["wal_mb_per_second"] and peak["lag_megabytes_at_cut"] is not None
    rpo_ok = res["rpo_seconds"] <= tier.offsite_rpo_seconds
    rto_ok = res["rto_seconds"] is not None and res["rto_seconds"] <= tier.offsite_rto_seconds
    steps_ok = all(s["ok"] for s in doc["steps"])
    # the verdict is the model's targets against what was measured, nothing else
    assert res["passed"] == (rpo_ok and rto_ok and steps_ok), res["checks"]
    if min(peak["lag_seconds_at_cut"], peak["backlog_seconds_at_cut"]) > tier.offsite_rpo_seconds:
        # region B was further behind than the target at the cut: writes acknowledged in
        # that window cannot be on region B
        assert res["rpo_lost_writes"] > 0
    print(f"\nregion A loss under the peak: WAL {peak['wal_mb_per_second']} MB/s vs link "
          f"{peak['link_mb_per_second']} MB/s; behind {peak['lag_megabytes_at_cut']} MB = "
          f"{peak['backlog_seconds_at_cut']} s of link (replay_lag {peak['lag_seconds_at_cut']} "
          f"s) at the cut; lost {res['rpo_lost_writes']} writes = {res['rpo_seconds']} s (target "
          f"{tier.offsite_rpo_seconds} s): {'PASS' if res['passed'] else 'FAIL'}")


def test_failback_restores_region_a_without_loss(lab, estate) -> None:
    doc = _drill(lab, estate, "failback-to-region-a.md")
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["checked_on"] == "dc1-pg"
    assert res["rpo_lost_writes"] == 0, f"acknowledged writes lost: {res['first_lost']}.."
    assert res["write_pause_seconds"] <= res["targets"]["max_write_pause_seconds"]
    assert res["passed"], res["checks"]


def test_dc1_loss_under_the_peak_keeps_rpo_zero(lab, estate) -> None:
    """Synchronous in-city replication keeps every acknowledged write through a DC1 loss
    during the batch; the RTO under load is reported beside the idle one."""
    tier = estate.tier("dual-active")
    doc = _drill(lab, estate, "failover-dc1-loss.md", peak=True)
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["rpo_lost_writes"] == 0, f"acknowledged writes lost: {res['first_lost']}.."
    assert res["rto_seconds"] is not None
    print(f"\nDC1 loss under the peak: 0 lost, RTO {res['rto_seconds']} s (idle "
          f"{IDLE.get('dc1-loss')} s; target {tier.rto_seconds} s): "
          f"{'PASS' if res['passed'] else 'FAIL'}")
