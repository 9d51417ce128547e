"""Lifecycle: test-resource expiry as of a date, and reclaimed systems freeing quota."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import yaml

from govcloud.cli import main
from govcloud.model import Estate, SiteName, load_estate
from govcloud.tenants import admit_estate, lifecycle_status
from govcloud.tenants.lifecycle import holds_quota


def _system(estate: Estate, dept: str, name: str):
    return next((d, s) for d, s in estate.systems() if d.name == dept and s.name == name)


def test_test_resources_expire_after_the_period(estate: Estate) -> None:
    # data-bureau/data-exchange got test resources on 2026-07-27: 15 days are
    # 07-27 .. 08-10, so they are released on 2026-08-11.
    d, s = _system(estate, "data-bureau", "data-exchange")
    on_last_day = lifecycle_status(d, s, dt.date(2026, 8, 10), 15)
    assert on_last_day.holds_quota and not on_last_day.expired
    assert on_last_day.note == "testing, day 15 of 15; 1 day(s) left"
    released = lifecycle_status(d, s, dt.date(2026, 8, 11), 15)
    assert released.expired and not released.holds_quota
    assert released.expires == dt.date(2026, 8, 11)
    assert "EXPIRED on 2026-08-11" in released.note
    # without a date the record is read as written (what the stacks use)
    assert holds_quota(s, None, 15)


def test_expired_test_systems_are_not_charged(estate: Estate) -> None:
    before = admit_estate(estate, today=dt.date(2026, 8, 10))
    after = admit_estate(estate, today=dt.date(2026, 8, 11))
    names_before = {s.name for _, s in before.admitted_systems()}
    names_after = {s.name for _, s in after.admitted_systems()}
    # both got test resources on 2026-07-27
    assert names_before - names_after == {"data-exchange", "taxi-regulation"}
    _, exchange = _system(estate, "data-bureau", "data-exchange")
    _, taxi = _system(estate, "transport", "taxi-regulation")
    freed = before.ledger.used()[SiteName.DC1].vcpu - after.ledger.used()[SiteName.DC1].vcpu
    # both are active on DC1 (dual-active and warm-standby), so a full copy each
    # (2x8 + 2x4 + 2x8 = 40 and 2x4 + 2x8 + 2x8 = 40), plus each one's nightly
    # backup-job pod for its db, which runs on DC1 (500m each)
    assert exchange.request().vcpu == taxi.request().vcpu == 40
    assert freed == Decimal("81")


def test_reclaimed_system_frees_its_quota(estate: Estate, estate_copy: Path) -> None:
    path = estate_copy / "departments" / "hrss.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    pension = next(s for s in data["systems"] if s["name"] == "pension-query")
    pension["lifecycle"]["state"] = "reclaimed"
    pension["lifecycle"]["reclaimed"] = dt.date(2026, 10, 31)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    changed = load_estate(estate_copy)
    before, after = admit_estate(estate), admit_estate(changed)
    # pension-query (warm-standby): 2x8 + 2x16 + 2x32 = 112 GiB active on DC1 plus its
    # db's backup-job pod (1 GiB); standby at 0.25 on DC2 and region B = 28 GiB each
    freed = {site: (before.ledger.used()[site].memory - after.ledger.used()[site].memory)
             / 2**30 for site in SiteName}
    assert freed == {SiteName.DC1: 113, SiteName.DC2: 28, SiteName.DR: 28}
    assert "pension-query" not in {s.name for _, s in after.admitted_systems()}
    d, s2 = _system(changed, "hrss", "pension-query")
    status = lifecycle_status(d, s2, dt.date(2026, 11, 2), 15)
    assert not status.holds_quota
    assert status.note == "reclaimed on 2026-10-31; quota freed"


def test_lifecycle_command(capsys) -> None:
    assert main(["tenants", "lifecycle", "--today", "2026-08-11"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "data-exchange" in x)
    assert "free" in line and "EXPIRED on 2026-08-11" in line
    assert "expired test resources: 4" in out
    assert "provisioned: 36" in out
