"""Load the estate from its YAML files into one validated :class:`Estate`.

Each file is validated against its own section model first so that every schema
error can name the file it came from; only a schema-clean estate is assembled and
run through the cross-object rules. Any problem raises :class:`EstateError` with all
of them, so callers (CLI, stacks, roles) never see a half-valid estate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from govcloud.model import crypto, rules
from govcloud.model.enums import DrTier, SiteName, Zone
from govcloud.model.problems import EstateError, Problem, field_path
from govcloud.model.schema import (
    AppliancesFile,
    Cloud,
    Department,
    DrTiersFile,
    Estate,
    FlowsFile,
    OperatorsFile,
    SitesFile,
    ZonesFile,
)

M = TypeVar("M", bound=BaseModel)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ESTATE = REPO_ROOT / "estate"

_ENUM_RULES = {
    frozenset(v.value for v in SiteName): ("unknown-site", "site"),
    frozenset(v.value for v in Zone): ("unknown-zone", "zone"),
    frozenset(v.value for v in DrTier): ("unknown-dr-tier", "DR tier"),
}


def default_root() -> Path:
    """The estate directory: ``$GOVCLOUD_ESTATE`` or the repository's ``estate/``."""
    return Path(os.environ.get("GOVCLOUD_ESTATE", DEFAULT_ESTATE))


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    rel = _rel(path, root)
    if not path.is_file():
        problems.append(Problem(rel, "", "missing-file", "file not found"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark else ""
        problems.append(Problem(rel, at, "yaml-syntax", str(getattr(exc, "problem", exc))))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, "", "schema", "top level must be a mapping"))
        return None
    return data


def _schema_problem(rel: str, err: dict[str, Any]) -> Problem:
    loc = field_path(*err["loc"])
    msg = err["msg"]
    rule = "schema"
    if err["type"] == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        for values, (rule_id, noun) in _ENUM_RULES.items():
            if all(f"'{v}'" in expected for v in values):
                rule = rule_id
                msg = f"unknown {noun} {err['input']!r} (known: {', '.join(sorted(values))})"
                break
    elif err["type"] == "value_error" and "not a valid" in msg:
        rule = "invalid-quantity"
        msg = msg.removeprefix("Value error, ")
    elif err["type"] == "extra_forbidden":
        rule = "unknown-field"
        msg = f"unknown field {err['loc'][-1]!r} (typo?)"
    elif err["type"] == "missing":
        rule = "missing-field"
    return Problem(rel, loc, rule, msg)


def _parse(model: type[M], path: Path, root: Path, problems: list[Problem]) -> M | None:
    data = _read_yaml(path, root, problems)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        rel = _rel(path, root)
        problems.extend(_schema_problem(rel, e) for e in exc.errors())
        return None


def load_estate(root: Path | str | None = None) -> Estate:
    """Load and validate the estate under ``root``; raise :class:`EstateError` if invalid."""
    root = Path(root) if root is not None else default_root()
    problems: list[Problem] = []
    cloud = _parse(Cloud, root / rules.CLOUD_FILE, root, problems)
    sites = _parse(SitesFile, root / rules.SITES_FILE, root, problems)
    zones = _parse(ZonesFile, root / rules.ZONES_FILE, root, problems)
    flows = _parse(FlowsFile, root / rules.FLOWS_FILE, root, problems)
    appliances = _parse(AppliancesFile, root / rules.APPLIANCES_FILE, root, problems)
    tiers = _parse(DrTiersFile, root / rules.TIERS_FILE, root, problems)
    operators = _parse(OperatorsFile, root / rules.OPERATORS_FILE, root, problems)
    crypto_file = _parse(crypto.CryptoFile, root / crypto.CRYPTO_FILE, root, problems)

    departments: list[Department] = []
    dept_dir = root / "departments"
    files = sorted(dept_dir.glob("*.yaml")) if dept_dir.is_dir() else []
    if not files:
        problems.append(Problem("departments/", "", "missing-file", "no department files"))
    for path in files:
        dept = _parse(Department, path, root, problems)
        if dept is not None:
            dept._source = _rel(path, root)
            departments.append(dept)

    if problems:
        raise EstateError(problems)
    assert cloud and sites and zones and flows and appliances and tiers and operators
    assert crypto_file
    estate = Estate.model_construct(
        root=str(root),
        cloud=cloud,
        sites=sites.sites,
        links=sites.links,
        zones=zones.zones,
        flows=flows.flows,
        appliances=appliances.appliances,
        editions=tiers.editions,
        tiers=tiers.tiers,
        departments=departments,
        operators=operators.operators,
        crypto=crypto_file.channels,
    )
    problems = rules.check(estate)
    problems += crypto.check(estate.crypto, {f.id for f in estate.flows})
    if problems:
        raise EstateError(problems)
    return estate
