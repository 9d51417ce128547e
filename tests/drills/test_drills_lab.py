"""DR drills end to end on the lab (marker ``drill``): all four runbooks.

In file order, which is also the natural order of a drill day: DC1 loss, planned
switchover, loss of region A, failback to region A. Each drill brings the lab to its
own preconditions first, so any one of them can also run alone.

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


def _drill(lab, estate, name: str) -> dict:
    rb = load_runbook(REPO / "runbooks" / name)
    run = run_drill(rb, lab, REPORTS / "raw")
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


def test_failback_restores_region_a_without_loss(lab, estate) -> None:
    doc = _drill(lab, estate, "failback-to-region-a.md")
    res = doc["results"]
    assert res["writes_acknowledged"] > 100, "the load did not run"
    assert res["checked_on"] == "dc1-pg"
    assert res["rpo_lost_writes"] == 0, f"acknowledged writes lost: {res['first_lost']}.."
    assert res["write_pause_seconds"] <= res["targets"]["max_write_pause_seconds"]
    assert res["passed"], res["checks"]
