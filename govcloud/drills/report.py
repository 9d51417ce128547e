"""Drill reports: targets from the model vs what was measured, as Markdown, JSON and PNG.

Targets are never written here: they come from the system's DR tier in the estate
(``estate.tier(...)``: rpo_seconds, rto_seconds, offsite_rpo_seconds,
offsite_rto_seconds, gbt20988_level) and, for planned changes, from the runbook's own
front matter (``max_write_pause_seconds``). The level attained is stated twice: against
this estate's tier targets, and against the GB/T 20988-2007 level table, and the edition
in force (``cloud.dr_edition``) is named.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcloud import datatier
from govcloud.drills.engine import DrillRun
from govcloud.drills.metrics import acked, rpo, rto, table_level, tier_level, write_pause
from govcloud.drills.runbook import Runbook, TargetSet
from govcloud.model import Estate


@dataclass
class Check:
    name: str
    target: str
    measured: str
    ok: bool


def evaluate(run: DrillRun, runbook: Runbook, estate: Estate) -> dict[str, Any]:
    """Every figure of the report (pure: only the run, the runbook and the model)."""
    system = datatier.hotline(estate)
    tier = estate.tier(system.dr_tier)
    r = rpo(run.attempts, run.present)
    ok_writes = acked(run.attempts)
    t = TargetSet(runbook.targets)
    checks: list[Check] = []
    fig: dict[str, Any] = {
        "writes_attempted": len(run.attempts),
        "writes_acknowledged": len(ok_writes),
        "writes_failed": len(run.attempts) - len(ok_writes),
        "rpo_lost_writes": r.lost,
        "rpo_seconds": round(r.seconds, 3),
        "first_lost": r.first_lost,
        "last_lost": r.last_lost,
        "checked_on": run.checked_on,
    }
    end = run.load_stop or (run.steps[-1].end if run.steps else run.started)
    if t in (TargetSet.IN_CITY, TargetSet.OFFSITE):
        offsite = t == TargetSet.OFFSITE
        rpo_t = tier.offsite_rpo_seconds if offsite else tier.rpo_seconds
        rto_t = tier.offsite_rto_seconds if offsite else tier.rto_seconds
        measured_rto = rto(run.attempts, run.fault_at) if run.fault_at else None
        fig["rto_seconds"] = round(measured_rto, 3) if measured_rto is not None else None
        if run.fault_at:
            fig["write_pause_seconds"] = round(write_pause(run.attempts, run.fault_at, end), 3)
        checks.append(
            Check(
                "RPO (acknowledged writes lost)",
                "0" if rpo_t == 0 else f"≤ {rpo_t} s of writes",
                f"{r.lost} writes, {r.seconds:.2f} s",
                r.lost == 0 if rpo_t == 0 else r.seconds <= rpo_t,
            )
        )
        checks.append(
            Check(
                "RTO (fault → first write through the service)",
                f"≤ {rto_t} s",
                f"{measured_rto:.2f} s" if measured_rto is not None else "never",
                measured_rto is not None and measured_rto <= rto_t,
            )
        )
        lvl = (
            tier_level(estate.tiers, r.seconds, measured_rto, offsite=offsite)
            if measured_rto is not None
            else (None, None)
        )
        editions = [e for e in estate.editions if e.levels]
        fig["level_target"] = tier.gbt20988_level
        fig["level_attained"] = lvl[0]
        fig["level_attained_tier"] = lvl[1]
        fig["level_table_2007"] = (
            table_level(editions[0], r.seconds, measured_rto)
            if editions and measured_rto is not None
            else None
        )
        fig["targets"] = {
            "rpo_seconds": rpo_t,
            "rto_seconds": rto_t,
            "tier": str(tier.name),
            "gbt20988_level": tier.gbt20988_level,
        }
    else:
        pause_t = float(runbook.meta.get("max_write_pause_seconds", 0)) or None
        start = run.change_at or run.load_start or run.started
        pause = write_pause(run.attempts, start, end)
        fig["write_pause_seconds"] = round(pause, 3)
        checks.append(
            Check(
                "acknowledged writes lost",
                f"0 (tier rpo_seconds={tier.rpo_seconds})",
                f"{r.lost}",
                r.lost == 0,
            )
        )
        if pause_t is not None:
            checks.append(
                Check(
                    "longest time without an acknowledged write",
                    f"≤ {pause_t:g} s (runbook)",
                    f"{pause:.2f} s",
                    pause <= pause_t,
                )
            )
        fig["targets"] = {
            "rpo_seconds": tier.rpo_seconds,
            "max_write_pause_seconds": pause_t,
            "tier": str(tier.name),
        }
        fig["level_target"] = tier.gbt20988_level
        fig["level_attained"] = None
    verify = [s for s in run.steps if s.phase == "verify"]
    checks.append(
        Check(
            "every step and verification passed",
            "all",
            f"{sum(s.ok for s in run.steps)}/{len(run.steps)}"
            + (f" ({run.error})" if run.error else ""),
            run.error is None and all(s.ok for s in run.steps) and bool(verify),
        )
    )
    if run.checked_on is None:
        checks.append(Check("acknowledged writes checked against a primary", "a primary",
                            "no primary answered: RPO unknown", False))
    if not ok_writes:
        checks.append(Check("the load wrote through the service", "> 0 acknowledged", "0", False))
    fig["checks"] = [c.__dict__ for c in checks]
    fig["passed"] = all(c.ok for c in checks)
    if run.peak is not None:
        fig["peak"] = _peak_figures(run, tier, r.seconds)
    return fig


def _peak_figures(run: DrillRun, tier: Any, rpo_seconds: float) -> dict[str, Any]:
    """The peak's WAL rate against the link, and what would have carried it."""
    p = run.peak
    assert p is not None
    rate = p.wal_mb_per_second
    out: dict[str, Any] = {
        "batch_megabytes": p.batch_megabytes,
        "primary": p.primary,
        "wal_mb_per_second": round(rate, 2) if rate is not None else None,
        "seconds_batch_to_cut": round(p.seconds_to_cut, 1) if p.seconds_to_cut else None,
        "link_mbps": p.link_mbps,
        "link_mb_per_second": round(p.link_mb_per_second, 2),
        "lag_seconds_at_cut": round(p.lag_seconds_at_cut, 2)
        if p.lag_seconds_at_cut is not None else None,
        "lag_megabytes_at_cut": round(p.lag_bytes_at_cut / 1e6, 1)
        if p.lag_bytes_at_cut is not None else None,
        "batch_error": p.batch_error,
    }
    if p.lag_bytes_at_cut is not None:
        # the backlog's time on the link: replay_lag under-reads while the link is the
        # bottleneck (roles/monitoring)
        out["backlog_seconds_at_cut"] = round(p.lag_bytes_at_cut / 1e6
                                              / p.link_mb_per_second, 1)
    if rate is not None:
        # a link carrying the peak's WAL rate keeps the backlog from growing
        out["link_mbps_to_carry_peak"] = round(rate * 8, 1)
        out["ratio_wal_to_link"] = round(rate / p.link_mb_per_second, 2)
    out["tier_offsite_rpo_seconds"] = tier.offsite_rpo_seconds
    out["rpo_seconds"] = round(rpo_seconds, 3)
    return out


def write_report(run: DrillRun, runbook: Runbook, estate: Estate, outdir: Path) -> dict[str, Path]:
    """Write ``<stem>-<time>.{md,json,png}`` to ``outdir``; return the paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    fig = evaluate(run, runbook, estate)
    stem = Path(runbook.path).stem + time.strftime("-%Y%m%dT%H%M%SZ", time.gmtime(run.started))
    paths = {k: outdir / f"{stem}.{k}" for k in ("md", "json", "png")}
    if run.lag_curve:
        paths["lag"] = outdir / f"{stem}-lag.png"
    doc = {
        "runbook": runbook.path,
        "title": runbook.title,
        "scenario": runbook.meta.get("scenario"),
        "targets_kind": str(runbook.targets),
        "lab": run.lab,
        "run_id": run.run_id,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)),
        "edition_in_force": estate.cloud.dr_edition,
        "preconditions": runbook.preconditions,
        "preconditions_seconds": round(run.preconditions_seconds, 1),
        "fault_at": run.fault_at,
        "change_at": run.change_at,
        "settings": run.settings,
        "results": fig,
        "steps": run.step_dict(),
        "rollback_steps_not_run": [s.id for s in runbook.steps if s.phase == "rollback"],
        "timeline": paths["png"].name,
        "lag_chart": paths["lag"].name if "lag" in paths else None,
        "lag_curve_from": run.lag_curve_from,
        "lag_seconds_max": max((v for _, v in run.lag_curve), default=None),
        "backlog_seconds_max": max((v for _, v in run.backlog_curve), default=None),
    }
    paths["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    paths["md"].write_text(markdown(doc))
    chart(run, runbook, paths["png"])
    if "lag" in paths:
        lag_chart(run, estate, paths["lag"])
    return paths


def markdown(doc: dict[str, Any]) -> str:
    res = doc["results"]
    t0 = doc["fault_at"] or doc["change_at"]
    lines = [
        f"# Drill report: {doc['title']}",
        "",
        f"- runbook: `{doc['runbook']}` ({doc['scenario']})",
        f"- lab `{doc['lab']}`, run `{doc['run_id']}`, started {doc['started_utc']}",
        f"- result: **{'PASS' if res['passed'] else 'FAIL'}**",
        "",
        "## Targets vs measured",
        "",
        "| check | target | measured | |",
        "|---|---|---|---|",
    ]
    for c in res["checks"]:
        lines.append(
            f"| {c['name']} | {c['target']} | {c['measured']} | "
            f"{'pass' if c['ok'] else '**FAIL**'} |"
        )
    lines += [
        "",
        f"Writes: {res['writes_attempted']} attempted, {res['writes_acknowledged']} "
        f"acknowledged, {res['writes_failed']} failed; lost acknowledged writes: "
        f"{res['rpo_lost_writes']} (checked on `{res['checked_on']}`).",
    ]
    if "write_pause_seconds" in res:
        lines.append(f"Longest time without an acknowledged write: {res['write_pause_seconds']} s.")
    peak = res.get("peak")
    if peak:
        lines += ["", "## Under the month-end peak", ""]
        lines.append(
            f"A {peak['batch_megabytes']} MB batch ran on `{peak['primary']}` from the start "
            f"of the load; {peak['seconds_batch_to_cut']} s later the fault cut region A. Up "
            f"to the cut the primary wrote **{peak['wal_mb_per_second']} MB/s of WAL**; the "
            f"off-site link is shaped to {peak['link_mbps']:g} Mbit/s = "
            f"{peak['link_mb_per_second']} MB/s (ratio {peak.get('ratio_wal_to_link')}). "
            f"At the cut region B was **{peak['lag_megabytes_at_cut']} MB behind** "
            f"({peak.get('backlog_seconds_at_cut')} s of link time; PostgreSQL's replay_lag "
            f"read {peak['lag_seconds_at_cut']} s).")
        lines.append("")
        if peak["rpo_seconds"] <= peak["tier_offsite_rpo_seconds"]:
            lines.append(f"The measured RPO ({peak['rpo_seconds']} s) is within the tier's "
                         f"offsite_rpo_seconds ({peak['tier_offsite_rpo_seconds']} s).")
        else:
            lines.append(
                f"The measured RPO ({peak['rpo_seconds']} s) **misses** the tier's "
                f"offsite_rpo_seconds ({peak['tier_offsite_rpo_seconds']} s): this link "
                f"cannot carry this peak. Carrying it needs a link of at least "
                f"{peak.get('link_mbps_to_carry_peak')} Mbit/s (the peak's WAL rate), or "
                f"a tier whose offsite RPO is at least the measured "
                f"{peak['rpo_seconds']} s, or a batch paced below the link's rate.")
        if peak.get("batch_error"):
            lines.append(f"\nThe batch ended with: `{peak['batch_error']}` (the cut or the "
                         "fencing ends it; it commits entirely or not at all).")
    lines += ["", "## GB/T 20988 level", ""]
    if res.get("level_attained_tier") is not None or "level_table_2007" in res:
        lines += [
            f"- tier target: level {res['level_target']} ({res['targets']['tier']})",
            f"- attained against this estate's tier targets: level {res.get('level_attained')} "
            f"({res.get('level_attained_tier')})",
            f"- by the GB/T 20988-2007 level table (RPO/RTO ranges): level "
            f"{res.get('level_table_2007')}",
            f"- edition in force: {doc['edition_in_force']} (2007 table quoted for comparison)",
        ]
    else:
        lines.append("Planned change, not a disaster scenario: no level is claimed from it.")
    lines += [
        "",
        "## Settings this drill ran with",
        "",
        "```json",
        json.dumps(doc["settings"], indent=2, ensure_ascii=False),
        "```",
        "",
        "## Steps",
        "",
        "| # | step | kind | host | phase | t (s) | took (s) | tries | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, s in enumerate(doc["steps"], 1):
        rel = f"{s['start'] - t0:+.1f}" if t0 else ""
        lines.append(
            f"| {i} | {s['id']} | {s['kind']} | {s['host'] or ''} | {s['phase']} | {rel} "
            f"| {s['seconds']:.2f} | {s['attempts']} | {'ok' if s['ok'] else 'FAIL'} |"
        )
    lines += [
        "",
        "`t` is relative to the fault (or the planned change).",
        "",
        f"Rollback steps documented, not run: {', '.join(doc['rollback_steps_not_run'])}",
        "",
        "## Definitions",
        "",
        "- RTO: from the fault to the first acknowledged write *sent* after it.",
        "- RPO: acknowledged writes (the service answers only after COMMIT) missing from "
        "the primary after recovery; seconds = from the last surviving acknowledged "
        "write before the first lost one to the last lost one.",
        "",
        f"![timeline]({doc['timeline']})",
        "",
    ]
    if doc.get("lag_chart"):
        lines += [
            "## Off-site replication lag (Prometheus)",
            "",
            f"Region B's replay lag, and its backlog's time on the link, over the drill as "
            f"`{doc['lag_curve_from']}`'s Prometheus recorded them (roles/monitoring); "
            f"highest {doc['lag_seconds_max']:.1f} s"
            + (f" and {doc['backlog_seconds_max']:.1f} s"
               if doc.get("backlog_seconds_max") is not None else "") + ".",
            "",
            f"![off-site lag]({doc['lag_chart']})",
            "",
        ]
    return "\n".join(lines)


def chart(run: DrillRun, runbook: Runbook, path: Path) -> None:
    """Timeline: each write (send time vs latency), outage window, step marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = run.fault_at or run.change_at or run.load_start or run.started
    ok = [a for a in run.attempts if a.ok]
    bad = [a for a in run.attempts if not a.ok]
    lost = {a.req for a in ok} - run.present
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=100)
    ax.scatter(
        [a.sent - t0 for a in ok if a.req not in lost],
        [a.done - a.sent for a in ok if a.req not in lost],
        s=4,
        c="tab:green",
        label="acknowledged",
    )
    ax.scatter(
        [a.sent - t0 for a in bad], [a.done - a.sent for a in bad], s=4, c="tab:red", label="failed"
    )
    if lost:
        ax.scatter(
            [a.sent - t0 for a in ok if a.req in lost],
            [a.done - a.sent for a in ok if a.req in lost],
            s=14,
            c="black",
            marker="x",
            label="acknowledged, then lost",
        )
    if run.fault_at:
        rt = rto(run.attempts, run.fault_at)
        ax.axvline(0, color="tab:red", lw=1)
        if rt is not None:
            ax.axvspan(0, rt, color="tab:red", alpha=0.08, label=f"RTO {rt:.1f} s")
    ymax = max([a.done - a.sent for a in run.attempts] or [1])
    for s in run.steps:
        if s.kind in ("fault", "dns", "decision", "exec") or s.id.startswith("wait"):
            ax.axvline(s.end - t0, color="grey", lw=0.6, ls=":")
            ax.text(s.end - t0, ymax * 1.02, s.id, rotation=60, fontsize=6, va="bottom")
    ax.set_xlabel("seconds from the fault" if run.fault_at else "seconds from the change")
    ax.set_ylabel("write latency (s)")
    ax.set_title(runbook.title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def lag_chart(run: DrillRun, estate: Estate, path: Path) -> None:
    """Region B's replay lag (Prometheus, 1 s steps) against the tier's offsite RPO."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tier = estate.tier(datatier.hotline(estate).dr_tier)
    t0 = run.fault_at or run.change_at or run.load_start or run.started
    fig, ax = plt.subplots(figsize=(11, 3.5), dpi=100)
    ax.plot([t - t0 for t, _ in run.lag_curve], [v for _, v in run.lag_curve],
            color="tab:blue", lw=1.2, label="off-site replay lag (s)")
    if run.backlog_curve:
        ax.plot([t - t0 for t, _ in run.backlog_curve], [v for _, v in run.backlog_curve],
                color="tab:orange", lw=1.2, label="backlog's time on the link (s)")
    ax.axhline(tier.offsite_rpo_seconds, color="tab:red", lw=1, ls="--",
               label=f"offsite_rpo_seconds ({tier.offsite_rpo_seconds} s)")
    if run.fault_at:
        ax.axvline(0, color="tab:red", lw=1)
    ax.set_xlabel("seconds from the fault" if run.fault_at else "seconds from the change")
    ax.set_ylabel("lag (s)")
    ax.set_title(f"region B behind region A ({run.lag_curve_from})", fontsize=10)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
