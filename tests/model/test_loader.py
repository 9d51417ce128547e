"""Schema-level bad input: each case breaks one field of one file and checks the problem.

These problems come from :mod:`govcloud.model.loader` before any cross-object rule
runs: unknown/missing fields, quantities, the closed vocabularies (site, zone, DR
tier), CIDR syntax, YAML syntax and missing files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from estate_edits import (
    Bad,
    Key,
    assert_problem,
    delete,
    remove_file,
    set_,
    write_bytes,
    write_text,
)

from govcloud.model import DEFAULT_ESTATE

HEALTH = "departments/health.yaml"
APPOINTMENT = ("systems", Key("appointment"))
WEB = (*APPOINTMENT, "components", Key("web"))
DB = (*APPOINTMENT, "components", Key("db"))
INTERNET_CIDRS = ("zones", Key("internet"), "cidrs")


def _bad(edit, rule, file, field, *words, also=()):  # type: ignore[no-untyped-def]
    return Bad(edit, rule, file, field, words, frozenset(also))


def _first_line(file: str, text: str) -> int:
    """1-based number of the first line of the sample ``file`` that is ``text``."""
    lines = (DEFAULT_ESTATE / file).read_text(encoding="utf-8").splitlines()
    return lines.index(text) + 1


def _second_level_key(root: Path) -> None:
    """A second ``mlps_level`` under the first system: plain YAML would keep the last."""
    path = root / HEALTH
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  mlps_level: 3\n", "  mlps_level: 3\n  mlps_level: 2\n", 1))


def _remove_departments(root: Path) -> None:
    for path in (root / "departments").glob("*.yaml"):
        path.unlink()


CASES = {
    # ---- unknown-field / missing-field
    "typo-in-site": _bad(
        set_("sites.yaml", ("sites", Key("region-a-dc1"), "colour"), "red"),
        "unknown-field", "sites.yaml", ("sites", Key("region-a-dc1"), "colour"),
        "unknown field 'colour'",
    ),
    "typo-in-system": _bad(
        set_(HEALTH, (*APPOINTMENT, "mlps_levle"), 3),
        "unknown-field", HEALTH, (*APPOINTMENT, "mlps_levle"), "unknown field 'mlps_levle'",
    ),
    "system-without-owner": _bad(
        delete(HEALTH, ("systems", Key("ehr"), "owner")),
        "missing-field", HEALTH, ("systems", Key("ehr"), "owner"), "Field required",
    ),
    "cloud-without-level": _bad(
        delete("cloud.yaml", ("mlps_level",)),
        "missing-field", "cloud.yaml", "mlps_level", "Field required",
    ),
    # ---- invalid-quantity (cpu, memory, storage, bandwidth; departments and sites)
    "cpu-word": _bad(
        set_(HEALTH, (*WEB, "cpu"), "lots"),
        "invalid-quantity", HEALTH, (*WEB, "cpu"), "not a valid CPU quantity", "'lots'",
    ),
    "cpu-negative": _bad(
        set_(HEALTH, (*WEB, "cpu"), -2),
        "invalid-quantity", HEALTH, (*WEB, "cpu"), "not a valid CPU quantity", "-2",
    ),
    "cpu-zero": _bad(
        set_(HEALTH, (*WEB, "cpu"), 0),
        "invalid-quantity", HEALTH, (*WEB, "cpu"), "must be more than 0", "0",
    ),
    "memory-zero": _bad(
        set_(HEALTH, (*WEB, "memory"), "0Mi"),
        "invalid-quantity", HEALTH, (*WEB, "memory"), "must be more than 0", "'0Mi'",
    ),
    "memory-decimal-unit": _bad(
        set_(HEALTH, (*WEB, "memory"), "8GB"),
        "invalid-quantity", HEALTH, (*WEB, "memory"), "not a valid size quantity", "'8GB'",
        "64Gi",
    ),
    "storage-word": _bad(
        set_(HEALTH, (*DB, "storage"), "a lot"),
        "invalid-quantity", HEALTH, (*DB, "storage"), "not a valid size quantity",
    ),
    "system-bandwidth": _bad(
        set_(HEALTH, (*APPOINTMENT, "bandwidth"), "200 megabits"),
        "invalid-quantity", HEALTH, (*APPOINTMENT, "bandwidth"), "not a valid bandwidth",
        "100Mbps",
    ),
    "link-bandwidth": _bad(
        set_("sites.yaml", ("links", Key("dc1-dc2"), "bandwidth"), "40G"),
        "invalid-quantity", "sites.yaml", ("links", Key("dc1-dc2"), "bandwidth"),
        "not a valid bandwidth", "'40G'",
    ),
    "site-capacity-vcpu": _bad(
        set_("sites.yaml", ("sites", Key("region-b-dr"), "capacity", "vcpu"), "many"),
        "invalid-quantity", "sites.yaml", ("sites", Key("region-b-dr"), "capacity", "vcpu"),
        "not a valid CPU quantity",
    ),
    # ---- closed vocabularies
    "appliance-unknown-site": _bad(
        set_("appliances.yaml", ("appliances", Key("dc1-waf"), "site"), "region-c"),
        "unknown-site", "appliances.yaml", ("appliances", Key("dc1-waf"), "site"),
        "unknown site 'region-c'", "region-a-dc1, region-a-dc2, region-b-dr",
    ),
    "cidr-for-unknown-site": _bad(
        set_("zones.yaml", (*INTERNET_CIDRS, "region-c"), "10.99.0.0/22"),
        "unknown-site", "zones.yaml", (*INTERNET_CIDRS, "region-c"), "unknown site 'region-c'",
    ),
    "tier-placed-on-unknown-site": _bad(
        set_("dr-tiers.yaml", ("tiers", Key("warm-standby"), "placement", "dc3"), "standby"),
        "unknown-site", "dr-tiers.yaml", ("tiers", Key("warm-standby"), "placement", "dc3"),
        "unknown site 'dc3'",
    ),
    "component-unknown-zone": _bad(
        set_(HEALTH, (*WEB, "zone"), "dmz"),
        "unknown-zone", HEALTH, (*WEB, "zone"), "unknown zone 'dmz'", "security-management",
    ),
    # Flow ends are Zone | External: one problem, not one per union member.
    "flow-unknown-zone": _bad(
        set_("flows.yaml", ("flows", Key("ops-access"), "destination"), "mgmt"),
        "unknown-zone", "flows.yaml", ("flows", Key("ops-access"), "destination"),
        "unknown zone 'mgmt'",
    ),
    "system-unknown-tier": _bad(
        set_(HEALTH, (*APPOINTMENT, "dr_tier"), "hot-standby"),
        "unknown-dr-tier", HEALTH, (*APPOINTMENT, "dr_tier"), "unknown DR tier 'hot-standby'",
        "backup-only, dual-active, warm-standby",
    ),
    # ---- invalid-cidr
    "cidr-prefix-too-long": _bad(
        set_("zones.yaml", (*INTERNET_CIDRS, "region-a-dc1"), "10.11.0.0/33"),
        "invalid-cidr", "zones.yaml", (*INTERNET_CIDRS, "region-a-dc1"),
        "'10.11.0.0/33' is not a valid network CIDR",
    ),
    "cidr-host-bits": _bad(
        set_("zones.yaml", (*INTERNET_CIDRS, "region-a-dc2"), "10.21.0.9/22"),
        "invalid-cidr", "zones.yaml", (*INTERNET_CIDRS, "region-a-dc2"), "has host bits set",
    ),
    "cidr-public": _bad(
        set_("zones.yaml", (*INTERNET_CIDRS, "region-b-dr"), "8.8.8.0/24"),
        "invalid-cidr", "zones.yaml", (*INTERNET_CIDRS, "region-b-dr"),
        "8.8.8.0/24 is not a private range",
    ),
    # ---- generic schema
    "mlps-level-5": _bad(
        set_(HEALTH, (*APPOINTMENT, "mlps_level"), 5),
        "schema", HEALTH, (*APPOINTMENT, "mlps_level"), "'1', '2', '3' or '4'",
    ),
    "zero-replicas": _bad(
        set_(HEALTH, (*WEB, "replicas"), 0),
        "schema", HEALTH, (*WEB, "replicas"), "greater than or equal to 1",
    ),
    "port-out-of-range": _bad(
        set_("flows.yaml", ("flows", Key("ops-access"), "ports"), ["tcp/99999"]),
        "schema", "flows.yaml", ("flows", Key("ops-access"), "ports"),
        "'tcp/99999'", "<tcp|udp|icmp>",
    ),
    "top-level-list": _bad(
        write_text("operators.yaml", "- wang-lei\n- chen-jing\n"),
        "schema", "operators.yaml", "", "top level must be a mapping",
    ),
    # ---- files
    "yaml-syntax": _bad(
        write_text("flows.yaml", "flows:\n  - id: x\n    ports: [tcp/443\n"),
        "yaml-syntax", "flows.yaml", "line 4", "expected ',' or ']'",
    ),
    "not-utf8": _bad(
        write_bytes("cloud.yaml", "name: 政务云\n".encode("gb18030")),
        "yaml-syntax", "cloud.yaml", "", "not UTF-8 text",
    ),
    "duplicate-key": _bad(
        write_text("cloud.yaml", "name: a\ntitle: b\nname: c\n"),
        "yaml-syntax", "cloud.yaml", "line 3", "duplicate key 'name'",
    ),
    "duplicate-key-in-system": _bad(
        _second_level_key,
        "yaml-syntax", HEALTH, f"line {_first_line(HEALTH, '  mlps_level: 3') + 1}",
        "duplicate key 'mlps_level'",
    ),
    "missing-file": _bad(
        remove_file("dr-tiers.yaml"), "missing-file", "dr-tiers.yaml", "", "file not found",
    ),
    "no-departments": _bad(
        _remove_departments, "missing-file", "departments/", "", "no department files",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_schema_problem(estate_copy: Path, case: Bad) -> None:
    assert_problem(estate_copy, case)


def test_every_schema_problem_is_reported_at_once(estate_copy: Path) -> None:
    """Problems in several files come back together, not one per run."""
    from govcloud.model import EstateError, load_estate

    for name, case in CASES.items():
        if name in ("memory-decimal-unit", "cidr-public", "missing-file"):
            case.edit(estate_copy)
    with pytest.raises(EstateError) as info:
        load_estate(estate_copy)
    assert {(p.file, p.rule) for p in info.value.problems} == {
        (HEALTH, "invalid-quantity"),
        ("zones.yaml", "invalid-cidr"),
        ("dr-tiers.yaml", "missing-file"),
    }
