"""Waivers (豁免): accepted, time-boxed exceptions to a policy, kept as data.

``estate/waivers.yaml`` lists each waiver with the policy id, a scope (a glob matched
against the violation's subject, e.g. ``channel:ops-ssh`` or
``region-a-dc1/Deployment/health-*``), a justification, the approver and an expiry
date. A waiver silences only the violations it matches, only until it expires; an
expired waiver is itself a failure of the policy it names, so nobody forgets to renew
or remove it. "Today" is a parameter everywhere so tests can move the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govcloud.model import EstateError, Problem
from govcloud.model.problems import field_path
from policies.core import Violation

WAIVERS_FILE = "waivers.yaml"


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = Field(description="the policy id it waives")
    scope: str = Field(min_length=1, description="glob over violation subjects; '*' = all")
    justification: str = Field(min_length=20)
    approver: str = Field(min_length=2)
    expires: dt.date

    def matches(self, v: Violation) -> bool:
        return v.policy == self.policy and fnmatchcase(v.subject, self.scope)

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def describe(self) -> str:
        return (
            f"waiver for {self.policy} [{self.scope}] approved by {self.approver}, "
            f"expires {self.expires}"
        )


class WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[Waiver] = []


def load_waivers(root: Path | str, known: Iterable[str]) -> list[Waiver]:
    """Read ``<root>/waivers.yaml`` (absent = no waivers); bad input raises EstateError."""
    path = Path(root) / WAIVERS_FILE
    if not path.is_file():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise EstateError([Problem(WAIVERS_FILE, "", "yaml-syntax", str(exc))]) from None
    try:
        parsed = WaiversFile.model_validate(raw)
    except ValidationError as exc:
        raise EstateError(
            [
                Problem(WAIVERS_FILE, field_path(*e["loc"]), _rule(e["type"]), e["msg"])
                for e in exc.errors()
            ]
        ) from None
    known = set(known)
    problems = [
        Problem(
            WAIVERS_FILE,
            field_path("waivers", i, "policy"),
            "waiver-unknown-policy",
            f"waiver names policy {w.policy!r}, which does not exist "
            f"(known: {', '.join(sorted(known))})",
        )
        for i, w in enumerate(parsed.waivers)
        if w.policy not in known
    ]
    if problems:
        raise EstateError(problems)
    return list(parsed.waivers)


def _rule(err_type: str) -> str:
    return {"missing": "missing-field", "extra_forbidden": "unknown-field"}.get(err_type, "schema")


@dataclass(frozen=True)
class Waived:
    violation: Violation
    waiver: Waiver


def apply_waivers(
    policy: str, violations: list[Violation], waivers: list[Waiver], today: dt.date
) -> tuple[list[Violation], list[Waived]]:
    """Split ``violations`` into (still failing, waived); an expired waiver waives nothing."""
    mine = [w for w in waivers if w.policy == policy]
    failing: list[Violation] = []
    waived: list[Waived] = []
    for v in violations:
        live = next((w for w in mine if w.matches(v) and not w.expired(today)), None)
        if live is not None:
            waived.append(Waived(v, live))
            continue
        dead = next((w for w in mine if w.matches(v)), None)
        if dead is not None:
            v = Violation(v.policy, v.subject, f"{v.message} [{dead.describe()}: EXPIRED]", v.urn)
        failing.append(v)
    return failing, waived


def expired_waivers(policy: str, waivers: list[Waiver], today: dt.date) -> list[Violation]:
    """One failure per expired waiver of ``policy``: the waiver must be renewed or removed."""
    return [
        Violation(
            policy,
            f"waiver:{w.scope}",
            f"{WAIVERS_FILE}: {w.describe()} expired on {w.expires} (today is {today}); "
            "renew it with a new approval or remove it and fix the finding",
        )
        for w in waivers
        if w.policy == policy and w.expired(today)
    ]
