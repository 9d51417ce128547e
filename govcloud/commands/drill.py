"""``govcloud drill runbooks/<file>.md [--reports DIR]`` — run a DR drill on the lab.

Parses the runbook (a malformed one is refused before anything touches the lab), brings
the running lab (``$GOVCLOUD_LAB_NAME``) to the runbook's preconditions, runs the steps
under a steady write load, and writes a Markdown/JSON/PNG report with the model's
targets against the measured RTO and RPO. Exit 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drill", help="run a DR drill runbook on the lab and report RTO/RPO", description=__doc__
    )
    p.add_argument("runbook", help="runbooks/<scenario>.md")
    p.add_argument(
        "--reports", metavar="DIR", default="reports", help="where reports go (default: reports/)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="only parse the runbook and list its steps (no lab needed)",
    )
    p.add_argument(
        "--no-preconditions",
        action="store_true",
        help="do not bring the lab to the preconditions first",
    )
    p.add_argument(
        "--peak",
        action="store_true",
        help="run the model's month-end batch (dr-tiers.yaml peak_load) on region A's "
        "primary from the start of the load, so the fault hits during the peak",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from govcloud.cli import CommandError
    from govcloud.drills.runbook import RunbookError, load_runbook
    from govcloud.model import load_estate

    path = Path(args.runbook)
    if not path.is_file():
        raise CommandError(f"{path}: no such runbook", 2)
    try:
        rb = load_runbook(path)
    except RunbookError as exc:
        raise CommandError(str(exc), 2) from exc
    estate = load_estate(args.estate)
    if args.check:
        print(f"{rb.path}: {rb.title} — targets {rb.targets}, preconditions {rb.preconditions}")
        for s in rb.steps:
            print(
                f"  {s.phase:<12} {s.id:<24} {s.kind:<8} {s.host or '':<10} timeout={s.timeout:g}"
            )
        return 0

    from govcloud.drills.engine import run_drill
    from govcloud.drills.report import evaluate, write_report
    from govcloud.drills.state import PreconditionError
    from govcloud.lab.engine import Lab, LabError
    from govcloud.lab.topology import load_topology

    lab = Lab(topology=load_topology(estate))
    if not lab.is_up():
        raise CommandError(f"lab {lab.name} is not up: run `govcloud lab up --deploy` first")
    reports = Path(args.reports)
    try:
        if args.peak and estate.peak_load is None:
            raise CommandError("--peak: estate/dr-tiers.yaml has no peak_load", 2)
        result = run_drill(rb, lab, reports / "raw", ensure=not args.no_preconditions,
                           peak=estate.peak_load if args.peak else None)
    except (PreconditionError, LabError) as exc:
        raise CommandError(f"cannot reach the preconditions: {exc}") from exc
    paths = write_report(result, rb, estate, reports)
    fig = evaluate(result, rb, estate)
    for c in fig["checks"]:
        print(
            f"  {'pass' if c['ok'] else 'FAIL'}  {c['name']}: {c['measured']} "
            f"(target {c['target']})"
        )
    print(f"report: {paths['md']}")
    return 0 if fig["passed"] else 1
