"""The utilisation, zombie and metering report (Markdown + HTML + PNG charts).

Built from the estate (quotas, lifecycle), a usage export and the tenancy data files;
every figure in it is computed here, and the same :class:`Report` object feeds both
renderings so the Markdown and the HTML cannot disagree. Charts use matplotlib's Agg
backend (no display needed), imported only when the report is written.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path

from govcloud.model import Department, Estate, Resources, System
from govcloud.tenants.ledger import GIB, _num
from govcloud.tenants.lifecycle import LifecycleStatus, lifecycle_status
from govcloud.tenants.metering import Bill, meter, monthly_cost, total_footprint
from govcloud.tenants.policy import PriceCatalogue, TenancyPolicy, load_policy, load_prices
from govcloud.tenants.usage import IdleFinding, Usage, idle_findings, load_usage


@dataclass(frozen=True)
class Proposal:
    """Reclaim an idle system: what it frees and what it saves per month."""

    finding: IdleFinding
    frees: Resources  # over all sites
    monthly_saving: Decimal  # a full month at catalogue prices (reference month)


@dataclass
class Report:
    estate: Estate
    usage: Usage
    prices: PriceCatalogue
    policy: TenancyPolicy
    today: dt.date
    bills: list[Bill]
    findings: list[IdleFinding]
    proposals: list[Proposal]
    lifecycle: list[LifecycleStatus]
    months: list[str] = field(default_factory=list)

    # ---- derived tables

    def cost(self, department: str | None = None, month: str | None = None) -> Decimal:
        return sum(
            (
                b.amount
                for b in self.bills
                if (department is None or b.department == department)
                and (month is None or b.month == month)
            ),
            Decimal(0),
        )

    def departments(self) -> list[Department]:
        return list(self.estate.departments)

    def systems_without_usage(self) -> list[tuple[Department, System]]:
        series = self.usage.series
        return [(d, s) for d, s in self.estate.systems() if (d.name, s.name) not in series]

    def summary(self) -> str:
        c = self.prices.currency
        lines = [
            f"usage {self.usage.start} to {self.usage.end}: "
            f"{len(self.usage.series)} of {len(self.estate.systems())} systems reported",
            f"idle (window {self.policy.idle.window_days} days, CPU p95 < "
            f"{self.policy.idle.cpu_p95_pct_below} %, network < "
            f"{self.policy.idle.network_pct_below} %): "
            + (", ".join(f"{p.finding.department}/{p.finding.system}" for p in self.proposals)
               or "none"),
        ]
        for m in self.months:
            lines.append(f"cost {m}: {_money(self.cost(month=m))} {c}")
        saving = sum((p.monthly_saving for p in self.proposals), Decimal(0))
        lines.append(f"reclaiming the idle systems saves {_money(saving)} {c} per month")
        return "\n".join(lines)


def _money(v: Decimal) -> str:
    return f"{v.quantize(Decimal('0.01')):,.2f}"


def build_report(
    estate: Estate, usage_path: Path | str, *, today: dt.date | None = None
) -> Report:
    """Read the export and the tenancy data; compute bills, idle findings, proposals."""
    root = Path(estate.root)
    prices = load_prices(root)
    policy = load_policy(root)
    usage = load_usage(usage_path, estate)
    today = today or usage.end
    bills = meter(estate, usage, prices)
    findings = idle_findings(usage, policy.idle)
    systems = {(d.name, s.name): (d, s) for d, s in estate.systems()}
    lifecycle = [
        lifecycle_status(d, s, today, policy.test_period_days) for d, s in estate.systems()
    ]
    held = {(r.department, r.system) for r in lifecycle if r.holds_quota}
    proposals = []
    for f in findings:
        if f.idle and (f.department, f.system) in held:
            res = total_footprint(estate, systems[(f.department, f.system)][1])
            saving = monthly_cost(res, prices, today.year, today.month)
            proposals.append(Proposal(f, res, saving.quantize(Decimal("0.01"))))
    months = sorted({b.month for b in bills})
    return Report(estate, usage, prices, policy, today, bills, findings, proposals, lifecycle,
                  months)


# --------------------------------------------------------------------------- charts


def _charts(report: Report, out: Path) -> dict[str, str]:
    """Write the PNGs; return {chart id: file name relative to ``out``}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = out / "charts"
    charts.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}

    # whole cloud: cost per department per month, stacked
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bottom = [0.0] * len(report.months)
    palette = plt.get_cmap("tab20")  # 20 distinct colours: one per department
    for i, d in enumerate(report.departments()):
        vals = [float(report.cost(d.name, m)) for m in report.months]
        if any(vals):
            ax.bar(report.months, vals, bottom=bottom, label=d.name, color=palette(i % 20))
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel(f"cost ({report.prices.currency})")
    ax.set_title("Monthly cost per department (whole cloud)")
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(charts / "cloud-cost.png", dpi=90)
    plt.close(fig)
    names["cloud-cost"] = "charts/cloud-cost.png"

    # whole cloud: vCPU-weighted CPU p95 per day, and systems reporting
    systems = {(d.name, s.name): s for d, s in report.estate.systems()}
    weighted: dict[dt.date, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, days in report.usage.series.items():
        w = float(systems[key].request().vcpu)
        for day in days:
            weighted[day.date][0] += float(day.cpu_p95_pct) * w
            weighted[day.date][1] += w
    dates = sorted(weighted)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(dates, [weighted[d][0] / weighted[d][1] for d in dates], lw=1)
    ax.axhline(float(report.policy.idle.cpu_p95_pct_below), color="red", lw=0.8, ls="--",
               label="idle threshold")
    ax.set_ylabel("CPU p95 % (vCPU-weighted)")
    ax.set_title("Cloud-wide CPU p95 per day")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(charts / "cloud-cpu.png", dpi=90)
    plt.close(fig)
    names["cloud-cpu"] = "charts/cloud-cpu.png"

    # per department: CPU p95 per system, and cost per month
    for d in report.departments():
        series = {s.name: report.usage.series[(d.name, s.name)] for s in d.systems
                  if (d.name, s.name) in report.usage.series}
        if not series:
            continue
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5),
                                     gridspec_kw={"width_ratios": [3, 1]})
        for name, days in series.items():
            a1.plot([x.date for x in days], [float(x.cpu_p95_pct) for x in days], lw=0.8,
                    label=name)
        a1.axhline(float(report.policy.idle.cpu_p95_pct_below), color="red", lw=0.8, ls="--")
        a1.set_ylabel("CPU p95 %")
        a1.set_title(f"{d.name}: CPU p95 per system")
        a1.legend(fontsize=7)
        for label in a1.get_xticklabels():
            label.set_rotation(30)
        a2.bar(report.months, [float(report.cost(d.name, m)) for m in report.months])
        a2.set_title(f"cost ({report.prices.currency})")
        a2.tick_params(axis="x", labelrotation=45, labelsize=7)
        fig.tight_layout()
        fig.savefig(charts / f"dept-{d.name}.png", dpi=80)
        plt.close(fig)
        names[f"dept-{d.name}"] = f"charts/dept-{d.name}.png"
    return names


# --------------------------------------------------------------------------- rendering


def _tables(report: Report) -> list[tuple[str, str, list[str], list[list[str]], str | None]]:
    """(level-2/3 heading, intro, header, rows, chart id) blocks shared by MD and HTML."""
    c = report.prices.currency
    p = report.prices.prices
    blocks: list[tuple[str, str, list[str], list[list[str]], str | None]] = []
    cost_rows = [
        [d.name, *[_money(report.cost(d.name, m)) for m in report.months]]
        for d in report.departments()
    ]
    cost_rows.append(["**total**", *[_money(report.cost(month=m)) for m in report.months]])
    blocks.append((
        "## Metering: monthly cost per department",
        f"Allocated quota on every site, billed per day a system ran. Catalogue "
        f"({report.prices.effective}, {c}): vCPU-hour {p.vcpu_hour}, memory GiB-month "
        f"{p.memory_gib_month}, storage GiB-month {p.storage_gib_month}, public IP-month "
        f"{p.public_ip_month}, Mbps-month {p.bandwidth_mbps_month}.",
        ["department", *report.months], cost_rows, "cloud-cost",
    ))
    idle = report.policy.idle
    prop_rows = [
        [f"{x.finding.department}/{x.finding.system}", str(x.finding.idle_since),
         str(x.finding.idle_days), str(x.finding.window_cpu_p95_max),
         str(x.finding.window_network_max), _num(x.frees.vcpu),
         _num(x.frees.memory / GIB), _num(x.frees.storage / GIB), _money(x.monthly_saving)]
        for x in report.proposals
    ]
    blocks.append((
        "## Idle systems: reclaim proposals",
        f"Idle = every one of the last {idle.window_days} days of the export "
        f"(to {report.usage.end}) has CPU p95 < {idle.cpu_p95_pct_below} % and network < "
        f"{idle.network_pct_below} %. Reclaiming sets `lifecycle.state: reclaimed` in the "
        f"department file, which frees the quota on every site.",
        ["system", "quiet since", "quiet days", "max CPU p95 %", "max network %",
         "frees vCPU", "frees memory GiB", "frees storage GiB", f"saves {c}/month"],
        prop_rows, "cloud-cpu",
    ))
    near = [f for f in report.findings if not f.idle and f.idle_days > 0]
    blocks.append((
        "### Watched, not idle",
        "Quiet at the end of the export but not for the whole window (or with gaps).",
        ["system", "quiet since", "quiet days", "max network % in window"],
        [[f"{f.department}/{f.system}", str(f.idle_since), str(f.idle_days),
          str(f.window_network_max)] for f in near],
        None,
    ))
    blocks.append((
        "## Lifecycle",
        f"As of {report.today}; test resources expire after {report.policy.test_period_days} "
        "days unless provisioned.",
        ["department", "system", "state", "since", "quota", "note"],
        [[r.department, r.system, str(r.state), str(r.since),
          "held" if r.holds_quota else "free", r.note] for r in report.lifecycle],
        None,
    ))
    findings = {(f.department, f.system): f for f in report.findings}
    for d in report.departments():
        rows = []
        for s in d.systems:
            days = report.usage.series.get((d.name, s.name), [])
            recent = days[-idle.window_days:]
            avg = partial(_average, recent)
            f = findings.get((d.name, s.name))
            rows.append([s.name, str(s.dr_tier), str(s.lifecycle.state), str(len(days)),
                         avg("cpu_p95_pct"), avg("memory_pct"), avg("network_pct"),
                         "IDLE" if f and f.idle else ("" if days else "no usage")])
        costs = ", ".join(f"{m}: {_money(report.cost(d.name, m))}" for m in report.months)
        blocks.append((
            f"### {d.name} — {d.title}",
            f"Cost ({c}) {costs}. Averages over the last {idle.window_days} days reported.",
            ["system", "DR tier", "state", "days reported", "CPU p95 %", "memory %",
             "network %", "flag"],
            rows, f"dept-{d.name}",
        ))
    return blocks


def _average(days: list, column: str) -> str:
    if not days:
        return "–"
    return _num(sum((getattr(x, column) for x in days), Decimal(0)) / len(days))


def render_markdown(report: Report, charts: dict[str, str]) -> str:
    out = [f"# Tenant utilisation and metering report — {report.estate.cloud.title}", "",
           "```", report.summary(), "```", ""]
    for heading, intro, header, rows, chart in _tables(report):
        out += [heading, "", intro, ""]
        if rows:
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            out.append("_none_")
        if chart and chart in charts:
            out += ["", f"![{chart}]({charts[chart]})"]
        out.append("")
    return "\n".join(out)


def render_html(report: Report, charts: dict[str, str]) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Tenant report {e(str(report.usage.end))}</title>",
           "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
           "font-size:13px}</style></head><body>",
           f"<h1>Tenant utilisation and metering report — {e(report.estate.cloud.title)}</h1>",
           f"<pre>{e(report.summary())}</pre>"]
    for heading, intro, header, rows, chart in _tables(report):
        level = heading.count("#")
        out.append(f"<h{level}>{e(heading.lstrip('# '))}</h{level}><p>{e(intro)}</p>")
        if rows:
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(c.strip('*'))}</td>" for c in r) + "</tr>"
                    for r in rows]
            out.append("</table>")
        else:
            out.append("<p><em>none</em></p>")
        if chart and chart in charts:
            out.append(f"<p><img src='{e(charts[chart])}' alt='{e(chart)}'></p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(report: Report, out: Path | str) -> list[Path]:
    """Write report.md, report.html and charts/*.png under ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(report, out)
    md = out / "report.md"
    md.write_text(render_markdown(report, charts), encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report, charts), encoding="utf-8")
    return [md, page, *(out / c for c in charts.values())]


__all__ = ["Proposal", "Report", "build_report", "write_report"]
