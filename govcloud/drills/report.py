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
    return fig


def write_report(run: DrillRun, runbook: Runbook, estate: Estate, outdir: Path) -> dict[str, Path]:
    """Write ``<stem>-<time>.{md,json,png}`` to ``outdir``; return the paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    fig = evaluate(run, runbook, estate)
    stem = Path(runbook.path).stem + time.strftime("-%Y%m%dT%H%M%SZ", time.gmtime(run.started))
    paths = {k: outdir / f"{stem}.{k}" for k in ("md", "json", "png")}
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
    }
    paths["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    paths["md"].write_text(markdown(doc))
    chart(run, runbook, paths["png"])
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
