"""The shipped samples: request verdicts, the usage export and its report figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from govcloud.cli import main
from govcloud.model import DEFAULT_ESTATE, Estate
from govcloud.tenants import admit_files
from govcloud.tenants.report import build_report

REPO = DEFAULT_ESTATE.parent
REQUESTS = sorted((REPO / "requests").glob("*.yaml"))
SAMPLE = REPO / "usage" / "sample-2026-07-to-10.csv"

EXPECTED = {
    "agriculture": set(),
    "ecology": set(),
    "audit-office": {"mlps-above-cloud"},
    "statistics": {"dr-headroom"},
    "urban-management": {"dr-headroom"},
    "culture-tourism": {"zone-internet-database", "zone-internet-stateless", "request-state"},
    "sports": {"invalid-quantity"},
}


def test_sample_requests_verdicts(estate: Estate) -> None:
    import datetime as dt

    result = admit_files(estate, REQUESTS, today=dt.date(2026, 9, 30))
    got = {d.request.name: {r.rule for r in d.reasons} for d in result.decisions
           if not d.request.in_estate}
    assert got == EXPECTED
    urban = next(d for d in result.decisions if d.request.name == "urban-management")
    scenarios = {r.message.split(":")[0] for r in urban.reasons}
    assert scenarios == {"DR headroom, loss of region-a-dc1", "DR headroom, loss of region-a-dc2",
                         "DR headroom, loss of region-a"}


def test_check_command_on_samples(capsys) -> None:
    code = main(["tenants", "check", "--today", "2026-09-30", *map(str, REQUESTS)])
    out = capsys.readouterr().out
    assert code == 1  # some samples are refused by design
    assert "baseline: 13 department(s) already in the estate judged first (13 admitted" in out
    assert "ecology (" in out and "2 admitted, 5 refused" in out
    assert "[mlps-above-cloud] system audit-evidence is graded MLPS level 4" in out


def test_check_command_on_estate(capsys) -> None:
    assert main(["tenants", "check", "--today", "2026-08-14"]) == 0
    out = capsys.readouterr().out
    assert "13 admitted, 0 refused" in out
    assert "loss of region-a       region-b-dr" in out


def test_usage_sample_is_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_usage", REPO / "usage" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_usage"] = module
    spec.loader.exec_module(module)
    out = tmp_path / "again.csv"
    assert module.main(["--out", str(out)]) == 0
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_usage_sample_report(estate: Estate) -> None:
    report = build_report(estate, SAMPLE)
    assert (report.usage.start.isoformat(), report.usage.end.isoformat()) == (
        "2026-07-01", "2026-10-31")
    assert {(p.finding.department, p.finding.system) for p in report.proposals} == {
        ("natural-resources", "survey-archive"),
        ("education", "edu-resources"),
        ("hrss", "pension-query"),
    }
    # the near-misses are watched, not proposed
    findings = {f.system: f for f in report.findings}
    assert findings["public-opinion"].idle_days == 20 and not findings["public-opinion"].idle
    assert not findings["hr-archive"].idle
    # systems holding resources in the period report; applied/reviewed ones do not
    assert len(report.usage.series) == 40
    assert {s.name for _, s in report.systems_without_usage()} == {
        "health-portal", "housing-portal", "food-safety", "traffic-violation",
        "ps-portal", "road-maintenance"}


def test_check_an_estate_department_file(capsys) -> None:
    """Naming an estate file judges it as the request; the other 12 are the baseline."""
    path = DEFAULT_ESTATE / "departments" / "health.yaml"
    assert main(["tenants", "check", "--today", "2026-09-30", str(path)]) == 0
    out = capsys.readouterr().out
    assert "baseline: 12 department(s) already in the estate judged first" in out
    assert " 13. health (departments/health.yaml): ADMITTED — 4 system(s) charged" in out
