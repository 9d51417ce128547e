"""Load the estate from its YAML files into one validated :class:`Estate`.

Each file is validated against its own section model first so that every schema
error can name the file it came from; only a schema-clean estate is assembled and
run through the cross-object rules. Any problem raises :class:`EstateError` with all
of them, so callers (CLI, stacks, roles) never see a half-valid estate.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from govcloud.model import crypto, rules
from govcloud.model.enums import DrTier, External, SiteName, Zone
from govcloud.model.problems import EstateError, Problem, field_path
from govcloud.model.quantity import QuantityError
from govcloud.model.schema import (
    AppliancesFile,
    CidrError,
    Cloud,
    Department,
    DrTiersFile,
    Estate,
    FlowsFile,
    OperatorsFile,
    SitesFile,
    WorkloadsFile,
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


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses duplicate mapping keys.

    Plain YAML keeps the last of two equal keys, so a department file with two
    ``systems:`` blocks would silently lose the first. libyaml's parser is used when
    PyYAML was built with it: same documents, ~10x faster than pure Python.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: SafeConstructor reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


# pydantic names the member of a union it tried in the error's loc: ``str-enum[Zone]``.
_UNION_TAG = re.compile(r"^[a-z-]+\[.+\]$")


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
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark else ""
        problems.append(Problem(rel, at, "yaml-syntax", str(getattr(exc, "problem", exc))))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, "", "yaml-syntax", f"not UTF-8 text ({exc.reason})"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, "", "schema", "top level must be a mapping"))
        return None
    return data


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's internal loc parts (union member tags, ``[key]``) from a field path.

    ``flows.0.source.str-enum[Zone]`` names the YAML field ``flows[0].source``; a bad
    dict key shows up as ``cidrs.region-c.[key]`` and is the field ``cidrs.region-c``.
    """
    return tuple(
        p for p in loc if not (isinstance(p, str) and (p == "[key]" or _UNION_TAG.match(p)))
    )


def _schema_problem(rel: str, err: dict[str, Any]) -> Problem:
    loc = field_path(*_clean_loc(err["loc"]))
    msg = err["msg"]
    rule = "schema"
    cause = err.get("ctx", {}).get("error")
    if err["type"] == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        for values, (rule_id, noun) in _ENUM_RULES.items():
            if all(f"'{v}'" in expected for v in values):
                rule = rule_id
                msg = f"unknown {noun} {err['input']!r} (known: {', '.join(sorted(values))})"
                if rule_id == "unknown-zone" and any(
                    isinstance(p, str) and _UNION_TAG.match(p) for p in err["loc"]
                ):
                    # the only union with Zone is a flow/appliance end: Zone | External
                    msg = msg[:-1] + f"; or external: {', '.join(sorted(External))})"
                break
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
        if isinstance(cause, QuantityError):
            rule = "invalid-quantity"
        elif isinstance(cause, CidrError):
            rule = "invalid-cidr"
    elif err["type"] == "extra_forbidden":
        rule = "unknown-field"
        msg = f"unknown field {err['loc'][-1]!r} (typo?)"
    elif err["type"] == "missing":
        rule = "missing-field"
    return Problem(rel, loc, rule, msg)


def _schema_problems(rel: str, errors: list[dict[str, Any]]) -> list[Problem]:
    """One problem per field: a specific rule hides the generic ``schema`` noise beside it.

    A flow endpoint is ``Zone | External``; a typo there fails both union members, and
    only the ``unknown-zone`` problem is useful to the reader.
    """
    problems = [_schema_problem(rel, e) for e in errors]
    specific = {p.field for p in problems if p.rule != "schema"}
    return [p for p in problems if p.rule != "schema" or p.field not in specific]


def _parse(model: type[M], path: Path, root: Path, problems: list[Problem]) -> M | None:
    data = _read_yaml(path, root, problems)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_schema_problems(_rel(path, root), exc.errors()))
        return None


def load_department(path: Path | str, root: Path | str | None = None) -> Department:
    """Parse one department file on its own (schema only; rules need the whole estate).

    Tenant requests that are not yet under ``departments/`` go through the same schema
    as the estate's own files; problems name the file relative to ``root`` if inside it.
    Raises :class:`EstateError` with every schema problem.
    """
    path = Path(path)
    base = Path(root) if root is not None else path.parent
    problems: list[Problem] = []
    dept = _parse(Department, path, base, problems)
    if problems or dept is None:
        raise EstateError(problems)
    dept._source = _rel(path, base)
    return dept


def load_section(model: type[M], path: Path | str, root: Path | str | None = None) -> M:
    """Parse one auxiliary data file (e.g. a price catalogue) against ``model``.

    Same error shape as the estate: file, field and rule, all problems at once.
    """
    path = Path(path)
    base = Path(root) if root is not None else path.parent
    problems: list[Problem] = []
    obj = _parse(model, path, base, problems)
    if problems or obj is None:
        raise EstateError(problems)
    return obj


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
    workloads = _parse(WorkloadsFile, root / rules.WORKLOADS_FILE, root, problems)
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
    assert workloads
    assert crypto_file
    estate = Estate.model_construct(
        root=str(root),
        cloud=cloud,
        sites=sites.sites,
        links=sites.links,
        zones=zones.zones,
        flows=flows.flows,
        appliances=appliances.appliances,
        anti_ddos=appliances.anti_ddos,
        editions=tiers.editions,
        tiers=tiers.tiers,
        peak_load=tiers.peak_load,
        departments=departments,
        operators=operators.operators,
        workloads=workloads,
        crypto=crypto_file.channels,
    )
    problems = rules.check(estate)
    problems += crypto.check(estate.crypto, {f.id for f in estate.flows})
    if problems:
        raise EstateError(problems)
    return estate
