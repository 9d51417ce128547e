"""Report verdicts: targets come from the model, figures from the timeline."""

from __future__ import annotations

from pathlib import Path

from govcloud.drills.engine import DrillRun, StepResult
from govcloud.drills.metrics import Attempt
from govcloud.drills.report import evaluate, write_report
from govcloud.drills.runbook import load_runbook

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


def _run(outage: float, lost: set[str], targets: str) -> DrillRun:
    # one write every 0.5 s from t=0 to t=40; fault at t=10; writes sent during the
    # outage fail; acknowledged writes listed in `lost` are absent afterwards
    run = DrillRun("x.md", "x", targets, "r", "lab", started=0.0, fault_at=10.0, load_stop=40.0)
    for i in range(80):
        t = i * 0.5
        ok = not (10.0 <= t < 10.0 + outage)
        run.attempts.append(Attempt(f"w{i}", t, t + 0.05, ok))
    run.present = {a.req for a in run.attempts if a.ok} - lost
    run.steps.append(StepResult("v", "check", "verify", "h", "", 0, 1, True))
    run.checked_on = "dc2-pg"
    return run


def test_in_city_pass_and_fail_against_the_dual_active_tier(estate) -> None:
    rb = load_runbook(RUNBOOKS / "failover-dc1-loss.md")
    fig = evaluate(_run(12.0, set(), "in-city"), rb, estate)
    assert fig["targets"]["rto_seconds"] == estate.tier("dual-active").rto_seconds
    assert fig["rto_seconds"] == 12.05  # first write sent at 22.0, acknowledged 22.05
    assert fig["passed"] and fig["level_attained"] == 6
    slow = evaluate(_run(20.0, set(), "in-city"), rb, estate)
    assert not slow["passed"] and slow["level_attained"] == 5  # warm-standby's 60 s
    lossy = evaluate(_run(12.0, {"w19"}, "in-city"), rb, estate)
    assert not lossy["passed"] and lossy["rpo_lost_writes"] == 1


def test_offsite_rpo_seconds_against_the_offsite_target(estate, tmp_path) -> None:
    rb = load_runbook(RUNBOOKS / "failover-region-a-loss.md")
    # w14..w19 (acknowledged 7.05..9.55) lost; last survivor w13 at 6.55 -> 3.0 s
    run = _run(25.0, {f"w{i}" for i in range(14, 20)}, "offsite")
    fig = evaluate(run, rb, estate)
    assert fig["rpo_lost_writes"] == 6 and fig["rpo_seconds"] == 3.0
    assert fig["rto_seconds"] == 25.05
    assert fig["passed"]  # 3 s <= 5 s, 25 s <= 120 s
    assert fig["level_table_2007"] == 5  # RPO > 0: level 6 of the 2007 table needs 0
    paths = write_report(run, rb, estate, tmp_path)
    text = paths["md"].read_text()
    assert "**PASS**" in text and "≤ 5 s of writes" in text
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"


def test_switchover_pause_target_comes_from_the_runbook(estate) -> None:
    rb = load_runbook(RUNBOOKS / "switchover-dc1-to-dc2.md")
    run = _run(3.0, set(), "switchover")
    run.change_at, run.fault_at = 10.0, None
    fig = evaluate(run, rb, estate)
    assert fig["write_pause_seconds"] == 3.05  # window opens at 10.0, next ack 13.05
    assert fig["passed"]
    run = _run(8.0, set(), "switchover")
    run.change_at, run.fault_at = 10.0, None
    assert not evaluate(run, rb, estate)["passed"]


def test_peak_section_states_the_miss_and_the_link_that_would_carry_it(estate,
                                                                       tmp_path) -> None:
    from govcloud.drills.peak import PeakFigures

    rb = load_runbook(RUNBOOKS / "failover-region-a-loss.md")
    # w4..w19 lost: last survivor w3 (acknowledged 1.55) -> 8.0 s > the 5 s target
    run = _run(25.0, {f"w{i}" for i in range(4, 20)}, "offsite")
    run.peak = PeakFigures(300, "dc1-pg", 100.0, started=0.0, lsn_start="0/0",
                           wal_bytes_to_cut=250e6, seconds_to_cut=10.0,
                           lag_seconds_at_cut=9.5, lag_bytes_at_cut=120e6)
    fig = evaluate(run, rb, estate)
    assert not fig["passed"]
    p = fig["peak"]
    assert p["wal_mb_per_second"] == 25.0 and p["link_mb_per_second"] == 12.5
    assert p["ratio_wal_to_link"] == 2.0 and p["link_mbps_to_carry_peak"] == 200.0
    text = write_report(run, rb, estate, tmp_path)["md"].read_text()
    assert "**FAIL**" in text and "## Under the month-end peak" in text
    assert "**misses** the tier's offsite_rpo_seconds (5 s)" in text
    assert "a link of at least 200.0 Mbit/s" in text


def test_the_lag_curve_from_prometheus_is_drawn_against_the_offsite_rpo(estate,
                                                                       tmp_path) -> None:
    rb = load_runbook(RUNBOOKS / "failover-region-a-loss.md")
    run = _run(25.0, set(), "offsite")
    run.load_start = 0.0
    run.lag_curve = [(float(t), max(0.0, t - 3.0)) for t in range(0, 12)]
    run.backlog_curve = [(float(t), 2.0 * max(0.0, t - 3.0)) for t in range(0, 12)]
    run.lag_curve_from = "dc1-log"
    paths = write_report(run, rb, estate, tmp_path)
    assert paths["lag"].read_bytes()[:4] == b"\x89PNG"
    text = paths["md"].read_text()
    assert "## Off-site replication lag (Prometheus)" in text
    assert "`dc1-log`" in text and "highest 8.0 s and 16.0 s" in text
    no_curve = _run(25.0, set(), "offsite")
    assert "lag" not in write_report(no_curve, rb, estate, tmp_path / "n")
