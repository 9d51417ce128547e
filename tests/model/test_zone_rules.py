"""Model rules added for tenant onboarding: internet-zone parts, system contacts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govcloud.model import EstateError, load_estate


def _edit_health(estate_copy: Path, edit) -> None:
    path = estate_copy / "departments" / "health.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    edit(data["systems"][0])  # appointment: web (internet), api, db (extranet)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def _problems(estate_copy: Path) -> list:
    with pytest.raises(EstateError) as err:
        load_estate(estate_copy)
    return err.value.problems


def test_database_in_internet_zone(estate_copy: Path) -> None:
    _edit_health(estate_copy, lambda s: s["components"][2].update(zone="internet"))
    (p,) = _problems(estate_copy)
    assert (p.file, p.field, p.rule) == (
        "departments/health.yaml", "systems[0].components[2].zone", "zone-internet-database")
    assert "database db may not sit in the internet zone" in p.message


def test_stateful_part_in_internet_zone(estate_copy: Path) -> None:
    _edit_health(estate_copy, lambda s: s["components"][0].update(storage="50Gi"))
    (p,) = _problems(estate_copy)
    assert (p.field, p.rule) == ("systems[0].components[0]", "zone-internet-stateless")
    assert "web asks for 50Gi of storage" in p.message


def test_cache_in_internet_zone(estate_copy: Path) -> None:
    _edit_health(estate_copy, lambda s: s["components"][0].update(kind="queue"))
    (p,) = _problems(estate_copy)
    assert p.rule == "zone-internet-stateless" and "is a queue" in p.message


def test_system_contacts(estate_copy: Path) -> None:
    def add(s: dict) -> None:
        s["contacts"] = [{"name": "吴强", "phone": "0571-1", "email": "ops@x.cn",
                          "role": "ops on-call"}]

    _edit_health(estate_copy, add)
    estate = load_estate(estate_copy)
    system = next(s for d, s in estate.systems() if s.name == "appointment")
    assert system.contacts[0].role == "ops on-call"

    _edit_health(estate_copy, lambda s: s["contacts"][0].pop("email"))
    (p,) = _problems(estate_copy)
    assert (p.field, p.rule) == ("systems[0].contacts[0].email", "missing-field")
