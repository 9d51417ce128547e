"""The compliance report (Markdown and HTML) from an offline :class:`~policies.offline.Report`.

Organised the way an assessor reads: per clause, the policies that implement it and
their status on every stack, on the estate model and on every host group, then each
policy's evidence (which resources or hosts were examined), its open findings and the
waivers that cover the rest. Both formats render the same view model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from govcloud.model import Estate
from policies.appliances import appliance_rows
from policies.baseline import baseline_rows
from policies.core import Clause, Policy
from policies.guardrails import image_rows, single_points_of_failure
from policies.offline import Report, Result, Status, summary

TEMPLATES = Path(__file__).parent / "templates"
EVIDENCE_SHOWN = 12  # evidence lines shown per result; the count says how many exist

MARK = {
    Status.PASS: "✅ pass",
    Status.FAIL: "❌ FAIL",
    Status.WAIVED: "⚠️ waived",
    Status.UNEVALUATED: "❔ unevaluated",
}


@dataclass(frozen=True)
class ClauseRow:
    clause: Clause
    policies: list[Policy]


def clause_rows(results: Iterable[Result]) -> list[ClauseRow]:
    """Every clause any evaluated policy cites, with its policies, in standard order."""
    seen: dict[tuple[str, str], ClauseRow] = {}
    for r in results:
        for c in r.policy.clauses:
            row = seen.setdefault((c.standard, c.number), ClauseRow(c, []))
            if r.policy not in row.policies:
                row.policies.append(r.policy)
    return sorted(seen.values(), key=lambda row: (row.clause.standard, _num_key(row.clause.number)))


def _num_key(number: str) -> list[object]:
    out: list[object] = []
    for part in number.replace(")", "").replace(" ", ".").split("."):
        out.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return out


def targets(report: Report) -> list[str]:
    """Report columns: the estate, each stack, each host group (in that order)."""
    order = ["estate", *[f"stack:{s}" for s in report.stacks]]
    hosts = sorted({r.target for r in report.results if r.target.startswith("hosts")})
    return [*order, *hosts, "waivers"]


def status_of(report: Report, policy: Policy, target: str) -> Status | None:
    r = next((r for r in report.results if r.policy is policy and r.target == target), None)
    return r.status if r else None


def policy_status(report: Report, policy: Policy) -> Status:
    statuses = {r.status for r in report.results if r.policy is policy}
    for s in (Status.FAIL, Status.UNEVALUATED, Status.WAIVED):
        if s in statuses:
            return s
    return Status.PASS


def view(
    report: Report, cloud_title: str, diagram: str | None, estate: Estate | None = None
) -> dict[str, Any]:
    cols = [t for t in targets(report) if any(r.target == t for r in report.results)]
    policies = list(dict.fromkeys(r.policy for r in report.results))
    return {
        "title": f"Compliance report — {cloud_title}",
        "today": report.today.isoformat(),
        "summary": summary(report),
        "report": report,
        "columns": cols,
        "clauses": clause_rows(report.results),
        "policies": policies,
        "results_of": lambda p: [r for r in report.results if r.policy is p],
        "status_of": lambda p, t: status_of(report, p, t),
        "policy_status": lambda p: policy_status(report, p),
        "mark": lambda s: MARK[s] if s else "—",
        "diagram": diagram,
        "evidence_shown": EVIDENCE_SHOWN,
        "unused": report.unused_waivers(),
        # from the model: what each system runs, and what runs without redundancy
        "images": image_rows(estate) if estate else [],
        "single_points": single_points_of_failure(estate) if estate else [],
        "baseline": baseline_rows(estate, report) if estate else [],
        "appliances": appliance_rows(estate) if estate else [],
    }


def render_markdown(
    report: Report, cloud_title: str, diagram: str | None = None, estate: Estate | None = None
) -> str:
    v = view(report, cloud_title, diagram, estate)
    out: list[str] = []
    w = out.append
    s = v["summary"]
    w(f"# {v['title']}\n")
    w(
        f"Evaluated {v['today']} by `govcloud compliance report` (offline adapter: the same "
        "checks CrossGuard runs in `pulumi preview --policy-pack policies`).\n"
    )
    w(f"- policies: {s['policies']}; results (policy × target): {s['results']}")
    w(f"- by status: {', '.join(f'{k} {n}' for k, n in sorted(s['by_status'].items()))}")
    w(f"- **mandatory failures (unwaived): {s['mandatory_failures']}**")
    w(f"- stacks: {', '.join(report.stacks) or 'none'}")
    for stack, err in sorted(report.plan_errors.items()):
        w(f"  - `{stack}`: plan unavailable — {err}")
    w(
        f"- host groups: {', '.join(report.host_groups) or 'none'}"
        + (f" — {report.hosts_error}" if report.hosts_error else "")
    )
    w("")
    if diagram:
        w("## Segmentation\n")
        w(f"![segmentation diagram]({diagram})\n")
        w(
            "Generated from `estate/flows.yaml`: every arrow is an allowed flow with its ports "
            "and appliance chain; dashed red arrows are gatekeeper ferries (no session). "
            "Anything not drawn is denied.\n"
        )
    w("## Clauses\n")
    cols: list[str] = v["columns"]
    for row in v["clauses"]:
        c = row.clause
        w(f"### {c.standard} {c.number} — {c.title}\n")
        w(f"> {c.text}\n")
        if not c.exact:
            w("_Item number not verified against the standard's text: the section is certain._\n")
        if c.note:
            w(f"_Note: {c.note}_\n")
        w("| policy | enforcement | " + " | ".join(cols) + " |")
        w("|---|---|" + "---|" * len(cols))
        for p in row.policies:
            cells = [v["mark"](v["status_of"](p, t)) for t in cols]
            w(f"| [`{p.id}`](#{p.id}) | {p.enforcement} | " + " | ".join(cells) + " |")
        w("")
    if v["images"]:
        w("## Workload images\n")
        w("What each live system runs, from its department file: the tag is for humans, the "
          "digest is what every manifest references (`<registry>/<repository>@<digest>`).\n")
        w("| department | system | component | tag | digest |")
        w("|---|---|---|---|---|")
        for row in v["images"]:
            w("| " + " | ".join(f"`{x}`" if i == 4 else x for i, x in enumerate(row)) + " |")
        w("")
    missing = sum(1 for r in v["appliances"] if r[5] == "**not deployed**")
    for title, intro, header, rows in (
        ("Single points of failure",
         "Components that run one replica on a site (as declared, or after a standby "
         "tier's scale-down): no PodDisruptionBudget can keep them up through a node "
         "drain, and losing their node stops them until rescheduled.",
         ("site", "department", "system", "component", "placement"), v["single_points"]),
        ("Security appliances",
         "Every appliance of `estate/appliances.yaml`: where it sits (derived from the flow "
         "chains for inline appliances, from the flows it observes for passive ones), what "
         "stands in for it, and the lab hosts on its site whose role deploys that stand-in. "
         f"**{missing} of {len(v['appliances'])} are not deployed** in the lab.",
         ("appliance", "kind", "site", "placement", "stand-in", "lab hosts"), v["appliances"]),
        ("Host baseline",
         "What `roles/baseline` applies to every host, each concern behind its flags "
         "(secure default on), the policy and clause it answers, on how many hosts every "
         "flag is on, and how the lab proves it — or why it cannot.",
         ("concern", "flags", "policy", "clause", "hosts", "in the lab"), v["baseline"]),
    ):
        if rows:
            w(f"## {title}\n")
            w(f"{intro}\n")
            w("| " + " | ".join(header) + " |")
            w("|" + "---|" * len(header))
            for row in rows:
                w("| " + " | ".join(row) + " |")
            w("")
    w("## Policies\n")
    for p in v["policies"]:
        w(f'<a id="{p.id}"></a>\n### `{p.id}` — {p.title}\n')
        w(f"- enforcement: **{p.enforcement}**; status: {v['mark'](v['policy_status'](p))}")
        w(f"- implements: {'; '.join(c.ref + ' ' + c.title for c in p.clauses)}")
        w(f"- reads: {', '.join(p.inputs)}")
        w(f"- why: {p.rationale}\n")
        for r in v["results_of"](p):
            w(f"**{r.target}** — {v['mark'](r.status)}" + (f" ({r.note})" if r.note else ""))
            w("")
            for x in r.violations:
                w(f"- ❌ {x.message}")
            for x in r.waived:
                w(
                    f"- ⚠️ waived: {x.violation.message} — _{x.waiver.justification.strip()}_ "
                    f"({x.waiver.approver}, until {x.waiver.expires})"
                )
            if r.evidence:
                shown = r.evidence[:EVIDENCE_SHOWN]
                more = len(r.evidence) - len(shown)
                w(f"- evidence ({len(r.evidence)} item(s) examined):")
                for e in shown:
                    w(f"  - {e}")
                if more:
                    w(f"  - … and {more} more")
            w("")
    w("## Waivers\n")
    if not report.waivers:
        w("No waivers.\n")
    else:
        w("| policy | scope | approver | expires | state | violations waived |")
        w("|---|---|---|---|---|---|")
        for wv in report.waivers:
            n = sum(1 for r in report.results for x in r.waived if x.waiver is wv)
            state = (
                "**EXPIRED**"
                if wv.expired(report.today)
                else "unused"
                if wv in v["unused"]
                else "active"
            )
            w(f"| `{wv.policy}` | `{wv.scope}` | {wv.approver} | {wv.expires} | {state} | {n} |")
        w("")
        for wv in report.waivers:
            w(f"- `{wv.policy}` `{wv.scope}`: {wv.justification.strip()}")
        w("")
    return "\n".join(out) + "\n"


def render_html(
    report: Report, cloud_title: str, diagram: str | None = None, estate: Estate | None = None
) -> str:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**view(report, cloud_title, diagram, estate))
