"""``govcloud compliance check|report``: the policies, offline, over every stack and host.

``check`` exits 1 when any mandatory policy fails unwaived (or could not be evaluated:
no plan, no host model — a control without evidence does not pass); ``report`` writes
the Markdown and HTML compliance report plus the segmentation diagram (SVG, PNG) to
``--out``. Both run the same checks the CrossGuard pack runs under ``pulumi preview``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compliance", help="等保/密评 policies: check (exit 1 on a mandatory failure) or report"
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, helptext in (
        ("check", "evaluate every policy; exit 1 if a mandatory one fails unwaived"),
        ("report", "write the compliance report (Markdown, HTML, segmentation diagram)"),
    ):
        a = actions.add_parser(name, help=helptext)
        a.add_argument(
            "--stack",
            action="append",
            metavar="STACK",
            help="plan only this stack (repeatable; default: one stack per site)",
        )
        a.add_argument(
            "--today",
            metavar="YYYY-MM-DD",
            type=_date,
            help="evaluate waivers' expiry as of this date (default: today)",
        )
        a.add_argument(
            "--policy", action="append", metavar="ID", help="only this policy (repeatable)"
        )
        if name == "report":
            a.add_argument(
                "--out", metavar="DIR", default="compliance-report", help="output directory"
            )
        a.set_defaults(func=run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def run(args: argparse.Namespace) -> int:
    from govcloud.cli import CommandError
    from govcloud.model import load_estate
    from policies.offline import evaluate, host_inputs, load_plans, summary
    from policies.registry import POLICIES
    from policies.waivers import load_waivers

    estate = load_estate(args.estate)
    known = {p.id for p in POLICIES}
    chosen = POLICIES
    if args.policy:
        unknown = sorted(set(args.policy) - known)
        if unknown:
            raise CommandError(
                f"unknown policy {', '.join(unknown)} (known: {', '.join(sorted(known))})", 2
            )
        chosen = [p for p in POLICIES if p.id in set(args.policy)]
    waivers = load_waivers(estate.root, known)
    today = args.today or dt.date.today()
    stacks = args.stack
    site_names = {str(s.name) for s in estate.sites}
    if stacks and (bad := sorted(set(stacks) - site_names)):
        raise CommandError(
            f"unknown stack {', '.join(bad)} (stacks: {', '.join(sorted(site_names))})", 2
        )
    needs_plan = any(p.reads_plan for p in chosen)
    plans, plan_errors = load_plans(estate, stacks) if needs_plan else ({}, {})
    needs_hosts = any(p.on_hosts for p in chosen)
    hosts, hosts_error = host_inputs(estate) if needs_hosts else ([], "")
    report = evaluate(estate, plans, hosts, waivers, today, chosen, plan_errors, hosts_error)

    if args.action == "report":
        return _write_report(args, estate, report)

    for r in report.results:
        if r.failing:
            print(f"{r.policy.enforcement.upper():9} {r.status:11} {r.policy.id} @ {r.target}")
            for v in r.violations:
                print(f"    {v.message}")
            if r.note:
                print(f"    {r.note}")
    s = summary(report)
    counts = ", ".join(f"{k} {n}" for k, n in sorted(s["by_status"].items()))
    print(
        f"compliance: {s['policies']} policies, {s['results']} results ({counts}); "
        f"{s['mandatory_failures']} mandatory failure(s), {s['advisory_failures']} advisory"
    )
    return 1 if s["mandatory_failures"] else 0


def _write_report(args: argparse.Namespace, estate, report) -> int:  # type: ignore[no-untyped-def]
    from govcloud.cli import CommandError
    from policies import diagram
    from policies.offline import summary
    from policies.report import render_html, render_markdown

    out = Path(args.out)
    try:
        files = diagram.render(estate, out)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write to {out}: {exc}") from None
    svg = next(f.name for f in files if f.suffix == ".svg")
    (out / "compliance.md").write_text(
        render_markdown(report, estate.cloud.title, svg, estate), encoding="utf-8"
    )
    (out / "compliance.html").write_text(
        render_html(report, estate.cloud.title, svg, estate), encoding="utf-8"
    )
    s = summary(report)
    print(
        f"compliance report written to {out}/ (compliance.md, compliance.html, "
        f"{', '.join(f.name for f in files)}): {s['mandatory_failures']} mandatory failure(s)"
    )
    return 0
