"""Rule ``backup-job-schedule``: a backup needs both a schedule and a sized job pod."""

from pathlib import Path

import pytest
import yaml

from govcloud.model import EstateError, load_estate


def _edit_tier(root: Path, tier: str, **changes: object) -> None:
    path = root / "dr-tiers.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for t in data["tiers"]:
        if t["name"] == tier:
            for key, value in changes.items():
                if value is None:
                    t.pop(key, None)
                else:
                    t[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_schedule_without_job_is_refused(estate_copy: Path) -> None:
    _edit_tier(estate_copy, "backup-only", backup_job=None)
    with pytest.raises(EstateError) as err:
        load_estate(estate_copy)
    [problem] = [p for p in err.value.problems if p.rule == "backup-job-schedule"]
    assert problem.file == "dr-tiers.yaml"
    assert problem.field == "tiers[2].backup_job"
    assert "backup-only" in problem.message


def test_job_without_schedule_is_refused(estate_copy: Path) -> None:
    _edit_tier(estate_copy, "warm-standby", backup_schedule=None)
    with pytest.raises(EstateError) as err:
        load_estate(estate_copy)
    [problem] = [p for p in err.value.problems if p.rule == "backup-job-schedule"]
    assert problem.field == "tiers[1].backup_schedule"
