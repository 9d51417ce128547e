"""``govcloud tenants``: department onboarding — admission, lifecycle, usage report.

- ``check [FILE…]``: a verdict per request (department file) with every reason; exit 1
  if any is refused. Without files, the estate's own departments are judged.
- ``lifecycle``: where every system stands on ``--today`` (test-resource expiry).
- ``report --usage CSV``: idle systems, reclaim proposals and metering, as Markdown
  and HTML with charts.

``--today`` defaults to the current UTC date; pass it for a reproducible answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from govcloud.model import RESOURCE_KEYS, Estate, load_estate

if TYPE_CHECKING:
    from govcloud.tenants import Admission


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tenants", help="department onboarding: admission, lifecycle, reports")
    tsub = p.add_subparsers(dest="tenants_command", metavar="ACTION", required=True)

    c = tsub.add_parser(
        "check", help="judge department requests against capacity, DR headroom and rules"
    )
    c.add_argument("files", nargs="*", type=Path, metavar="FILE", help="request files")
    c.add_argument("--today", type=_date, help="judge as of this date (default: today, UTC)")
    c.set_defaults(func=run_check)

    lc = tsub.add_parser("lifecycle", help="lifecycle state of every system as of a date")
    lc.add_argument("--today", type=_date, help="as of this date (default: today, UTC)")
    lc.set_defaults(func=run_lifecycle)

    r = tsub.add_parser("report", help="utilisation, idle systems and metering report")
    r.add_argument("--usage", type=Path, required=True, metavar="CSV", help="usage export")
    r.add_argument("--out", type=Path, default=Path("tenants-report"), metavar="DIR")
    r.add_argument(
        "--today", type=_date, help="lifecycle date for the report (default: usage end)"
    )
    r.set_defaults(func=run_report)


def _ledger_lines(estate: Estate, admission: Admission) -> list[str]:
    """The ledger and each failure scenario as a table: charged / allocatable (percent)."""
    from govcloud.tenants.ledger import fmt, scenarios

    def cell(k: str, v: Decimal, alloc: Decimal) -> str:
        pct = v / alloc * 100 if alloc else Decimal(0)
        return f"{fmt(k, v).split()[0]}/{fmt(k, alloc).split()[0]} ({pct:.0f}%)"

    units = {"vcpu": "vCPU", "memory": "GiB", "storage": "GiB", "public_ips": "IPs",
             "bandwidth": "Mbps"}
    head = f"  {'':<22} {'site':<13}" + "".join(
        f" {k + ' ' + units[k]:>22}" for k in RESOURCE_KEYS
    )
    lines = ["", "capacity ledger (charged/allocatable) and DR headroom (carried/allocatable):"]
    lines.append(head)
    rows = [("normal operation", admission.ledger.used())]
    rows += [(str(sc), admission.ledger.after(sc)) for sc in scenarios(estate)]
    for label, totals in rows:
        for site, res in totals.items():
            alloc = estate.site(site).allocatable()
            cells = "".join(
                f" {cell(k, getattr(res, k), alloc[k]):>22}" for k in RESOURCE_KEYS
            )
            lines.append(f"  {label:<22} {site:<13}{cells}")
    return lines


def run_check(args: argparse.Namespace) -> int:
    from govcloud.tenants import admit_estate, admit_files, load_policy
    from govcloud.tenants.admission import ORDER_EXPLAINED

    estate = load_estate(args.estate)
    policy = load_policy(estate.root)
    today = args.today or _utc_today()
    kw = {"today": today, "test_period_days": policy.test_period_days}
    admission = admit_files(estate, args.files, **kw) if args.files else admit_estate(estate, **kw)
    print(f"admission as of {today} ({estate.cloud.name}, MLPS level {estate.cloud.mlps_level})")
    print(f"order: {ORDER_EXPLAINED}")
    baseline = [d for d in admission.decisions if args.files and not d.request.given]
    shown = [d for d in admission.decisions if d not in baseline]
    if baseline:
        ok = sum(d.admitted for d in baseline)
        print(
            f"baseline: {len(baseline)} department(s) already in the estate judged first "
            f"({ok} admitted, {len(baseline) - ok} refused)"
        )
        shown = [d for d in admission.decisions if d not in baseline or not d.admitted]
    refused = 0
    for d in shown:
        req = d.request
        n = len(d.charged)
        extra = f"{n} system(s) charged" if d.admitted else f"{len(d.reasons)} reason(s)"
        print(f"{d.order:3d}. {req.name} ({req.source}): {d.verdict} — {extra}")
        for r in d.reasons:
            where = f"{r.field}: " if r.field else ""
            print(f"       - {where}[{r.rule}] {r.message}")
        refused += not d.admitted
    print("\n".join(_ledger_lines(estate, admission)))
    print(f"\n{len(shown) - refused} admitted, {refused} refused")
    return 1 if refused else 0


def run_lifecycle(args: argparse.Namespace) -> int:
    from govcloud.tenants import lifecycle_status, load_policy

    estate = load_estate(args.estate)
    policy = load_policy(estate.root)
    today = args.today or _utc_today()
    rows = [
        lifecycle_status(d, s, today, policy.test_period_days) for d, s in estate.systems()
    ]
    print(f"lifecycle as of {today} (test resources expire after {policy.test_period_days} days)")
    header = f"{'department':<18} {'system':<22} {'state':<12} {'since':<10}  quota  note"
    print(header)
    print("-" * len(header))
    for r in rows:
        quota = "held " if r.holds_quota else "free "
        print(
            f"{r.department:<18} {r.system:<22} {r.state!s:<12} {r.since!s:<10}  {quota}  {r.note}"
        )
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.state)] = counts.get(str(r.state), 0) + 1
    expired = [r for r in rows if r.expired]
    print(
        "\n" + ", ".join(f"{k}: {v}" for k, v in counts.items())
        + f"; expired test resources: {len(expired)}"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from govcloud.tenants.report import build_report, write_report

    estate = load_estate(args.estate)
    report = build_report(estate, args.usage, today=args.today)
    paths = write_report(report, args.out)
    print(report.summary())
    for p in paths:
        print(f"wrote {p}")
    return 0
