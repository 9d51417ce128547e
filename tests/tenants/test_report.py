"""Usage report: idle detection and metering checked against hand-computed figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from govcloud.cli import main
from govcloud.model import EstateError, load_estate
from govcloud.tenants.report import build_report
from govcloud.tenants.usage import COLUMNS, load_usage

# Round prices so every figure below can be checked by hand.
PRICES = """\
currency: CNY
effective: 2026-01-01
prices:
  vcpu_hour: 0.1
  memory_gib_month: 10
  storage_gib_month: 0.5
  public_ip_month: 20
  bandwidth_mbps_month: 50
"""
POLICY = """\
test_period_days: 15
idle:
  window_days: 5
  cpu_p95_pct_below: 5
  network_pct_below: 1
"""


def _fixture_csv(path: Path) -> Path:
    """June 2026 (30 days) for two systems, then 2026-07-01..10 for edu-resources only.

    education/edu-resources: busy in June; quiet in July except 07-05 (CPU p95 6.0 %),
    so its trailing quiet run is 07-06..07-10 = 5 days = the window -> idle.
    natural-resources/survey-archive: quiet all June but has no rows in the window
    (07-06..07-10) -> not called idle (no data is not no use).
    """
    rows = [",".join(COLUMNS)]
    for day in range(1, 31):
        rows.append(f"2026-06-{day:02d},education,edu-resources,20.0,50.0,5.0")
        rows.append(f"2026-06-{day:02d},natural-resources,survey-archive,1.0,40.0,0.1")
    for day in range(1, 11):
        cpu = "6.0" if day == 5 else "2.0"
        rows.append(f"2026-07-{day:02d},education,edu-resources,{cpu},30.0,0.5")
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path


@pytest.fixture
def small(estate_copy: Path, tmp_path: Path):
    (estate_copy / "tenancy" / "prices.yaml").write_text(PRICES, "utf-8")
    (estate_copy / "tenancy" / "policy.yaml").write_text(POLICY, "utf-8")
    estate = load_estate(estate_copy)
    return estate, _fixture_csv(tmp_path / "usage.csv")


def test_metering_by_hand(small) -> None:
    estate, csv = small
    report = build_report(estate, csv)
    bills = {(b.department, b.month): b.amount for b in report.bills}
    # edu-resources (backup-only: active on DC1, backup copy in region B):
    #   vCPU 2x2 + 2x4 + 1x4 = 16; memory 2x4 + 2x8 + 1x16 = 40 GiB;
    #   storage 200 GiB on DC1 + 200 GiB backup in region B = 400 GiB; 1 IP; 50 Mbps.
    #   June (30 of 30 days): 16 x 24 h x 30 x 0.1 = 1152; 40 x 10 = 400;
    #   400 x 0.5 = 200; 1 x 20 = 20; 50 x 50 = 2500  -> 4272.00
    assert bills[("education", "2026-06")] == Decimal("4272.00")
    #   July (10 of 31 days): 16 x 24 x 10 x 0.1 = 384; (400+200+20+2500) x 10/31
    #   = 1006.4516...  -> 1390.4516 -> 1390.45
    assert bills[("education", "2026-07")] == Decimal("1390.45")
    # survey-archive (backup-only): vCPU 2x8 + 2x4 + 2x8 = 40; memory 2x16 + 2x8 + 2x32
    #   = 112 GiB; storage 2 x 1024 = 2048 GiB on DC1 + 2048 backup = 4096 GiB.
    #   June: 40 x 24 x 30 x 0.1 = 2880; 112 x 10 = 1120; 4096 x 0.5 = 2048 -> 6048.00
    assert bills[("natural-resources", "2026-06")] == Decimal("6048.00")
    assert set(bills) == {("education", "2026-06"), ("education", "2026-07"),
                          ("natural-resources", "2026-06")}
    assert report.cost(month="2026-06") == Decimal("10320.00")


def test_idle_by_hand(small) -> None:
    estate, csv = small
    report = build_report(estate, csv)
    findings = {f.system: f for f in report.findings}
    edu = findings["edu-resources"]
    assert edu.idle and edu.idle_since == dt.date(2026, 7, 6) and edu.idle_days == 5
    assert edu.window_cpu_p95_max == Decimal("2.0")
    survey = findings["survey-archive"]
    assert not survey.idle and not survey.covered
    (proposal,) = report.proposals
    assert proposal.finding.system == "edu-resources"
    # a full July (31 days) of edu-resources: 16 x 24 x 31 x 0.1 = 1190.40 + 3120
    assert proposal.monthly_saving == Decimal("4310.40")
    assert proposal.frees.vcpu == 16


def test_report_command_writes_files(small, tmp_path: Path, capsys) -> None:
    estate, csv = small
    out_dir = tmp_path / "out"
    code = main(["--estate", estate.root, "tenants", "report", "--usage", str(csv),
                 "--out", str(out_dir)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "cost 2026-06: 10,320.00 CNY" in stdout
    assert "idle (window 5 days, CPU p95 < 5 %, network < 1 %): education/edu-resources" in stdout
    paths = [Path(line.removeprefix("wrote ")) for line in stdout.splitlines()
             if line.startswith("wrote ")]
    md = (tmp_path / "out" / "report.md").read_text("utf-8")
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    for text in (md, page):
        assert "4,272.00" in text and "1,390.45" in text and "6,048.00" in text
        assert "education/edu-resources" in text and "4,310.40" in text
    pngs = [p for p in paths if p.suffix == ".png"]
    names = {p.name for p in pngs}
    assert names == {"cloud-cost.png", "cloud-cpu.png", "dept-education.png",
                     "dept-natural-resources.png"}
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"charts/{p.name}" in md and f"charts/{p.name}" in page


@pytest.mark.parametrize(
    ("row", "rule", "field"),
    [
        ("2026-06-31,education,edu-resources,1,1,1", "usage-format", "line 2.date"),
        ("2026-06-01,education,nope,1,1,1", "usage-unknown-system", "line 2.system"),
        ("2026-06-01,education,edu-resources,101,1,1", "usage-value", "line 2.cpu_p95_pct"),
        ("2026-06-01,education,edu-resources,1,x,1", "usage-value", "line 2.memory_pct"),
        ("2026-06-01,education,edu-resources,1,1", "usage-format", "line 2"),
    ],
)
def test_bad_usage_rows(estate, tmp_path: Path, row: str, rule: str, field: str) -> None:
    path = tmp_path / "u.csv"
    path.write_text(",".join(COLUMNS) + "\n" + row + "\n", "utf-8")
    with pytest.raises(EstateError) as err:
        load_usage(path, estate)
    assert [(p.rule, p.field) for p in err.value.problems] == [(rule, field)]


def test_duplicate_usage_row(estate, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    row = "2026-06-01,education,edu-resources,1,1,1"
    path.write_text(",".join(COLUMNS) + f"\n{row}\n{row}\n", "utf-8")
    with pytest.raises(EstateError) as err:
        load_usage(path, estate)
    assert [(p.rule, p.field) for p in err.value.problems] == [("usage-duplicate", "line 3")]


def test_bad_price_catalogue_exits_2(estate_copy: Path, tmp_path: Path, capsys) -> None:
    (estate_copy / "tenancy" / "prices.yaml").write_text(
        PRICES.replace("vcpu_hour: 0.1", "vcpu_hour: -1").replace("currency: CNY", "curency: CNY"),
        "utf-8",
    )
    csv = _fixture_csv(tmp_path / "usage.csv")
    code = main(["--estate", str(estate_copy), "tenants", "report", "--usage", str(csv),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "tenancy/prices.yaml: prices.vcpu_hour: [schema]" in err
    assert "tenancy/prices.yaml: curency: [unknown-field]" in err
    assert "nothing was rendered or applied" in err
    assert not (tmp_path / "out").exists()


def test_bad_idle_policy_exits_2(estate_copy: Path, capsys) -> None:
    (estate_copy / "tenancy" / "policy.yaml").write_text(
        POLICY.replace("window_days: 5", "window_days: 0"), "utf-8")
    assert main(["--estate", str(estate_copy), "tenants", "lifecycle"]) == 2
    assert "tenancy/policy.yaml: idle.window_days: [schema]" in capsys.readouterr().err
