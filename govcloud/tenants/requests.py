"""Department requests: the estate's own department files, or new ones asking to join.

A request is one department file in the estate's schema (there is no second request
format). Each file is parsed on its own and then run through the model's rules with
the estate's other departments around it, so a request with a level-4 system or a
quantity like ``64GB`` is refused with the model's own rule ids while every other
request is still judged. Nothing here re-implements a model rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.model import Department, Estate, EstateError, LifecycleState, Problem
from govcloud.model import rules as model_rules
from govcloud.model.loader import load_department
from govcloud.model.problems import field_path

# A department that is not on the cloud yet cannot already hold resources.
_NEW_STATES = {LifecycleState.APPLIED, LifecycleState.REVIEWED}


@dataclass
class Request:
    """One department file to judge."""

    source: str  # the file, as problems name it
    department: Department | None  # None when its schema refused it
    problems: list[Problem] = field(default_factory=list)
    in_estate: bool = False  # the file is the estate's own departments/<name>.yaml
    given: bool = False  # named on the command line (not part of the baseline)

    @property
    def name(self) -> str:
        return self.department.name if self.department else Path(self.source).stem


def _source_name(path: Path, root: Path) -> str:
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _with_department(estate: Estate, dept: Department) -> Estate:
    """The estate as it would be if ``dept`` (new or replacing its namesake) were in it."""
    departments = [d for d in estate.departments if d.name != dept.name] + [dept]
    fields = {name: getattr(estate, name) for name in Estate.model_fields}
    fields["departments"] = departments
    return Estate.model_construct(**fields)


def _state_problems(estate: Estate, dept: Department) -> list[Problem]:
    """A new system must start at applied/reviewed: only the estate records holdings."""
    current = {
        s.name: s for d in estate.departments if d.name == dept.name for s in d.systems
    }
    out = []
    for i, s in enumerate(dept.systems):
        state = LifecycleState(s.lifecycle.state)
        known = current.get(s.name)
        if state in _NEW_STATES or (known is not None and known.lifecycle.state == state):
            continue
        out.append(
            Problem(
                dept.source,
                field_path("systems", i, "lifecycle", "state"),
                "request-state",
                f"system {s.name} claims state {state!s} but the estate does not record it "
                f"so; a request starts at applied (or reviewed) and only the estate's "
                f"departments/{dept.name}.yaml records test, provisioned or reclaimed",
            )
        )
    return out


def judge_file(estate: Estate, path: Path) -> Request:
    """Parse and rule-check one request file against ``estate`` (never raises for data)."""
    root = Path(estate.root)
    source = _source_name(path, root)
    in_estate = source.startswith("departments/")
    try:
        dept = load_department(path.resolve() if in_estate else path, root)
    except EstateError as exc:
        problems = [
            Problem(source, p.field, p.rule, p.message) if p.file != source else p
            for p in exc.problems
        ]
        return Request(source, None, problems, in_estate)
    dept._source = source
    candidate = _with_department(estate, dept)
    problems = [p for p in model_rules.check(candidate) if p.file == source]
    if not in_estate:
        problems += _state_problems(estate, dept)
    return Request(source, dept, sorted(set(problems)), in_estate)


def load_requests(estate: Estate, files: Sequence[Path | str] | None = None) -> list[Request]:
    """The requests to judge: the given files, or else every department of the estate.

    Two files for the same department cannot both be granted: the later one (in the
    order given) is refused with ``request-duplicate``.
    """
    if not files:
        return [Request(d.source, d, [], True) for d in estate.departments]
    out: list[Request] = []
    seen: dict[str, str] = {}
    for f in files:
        req = judge_file(estate, Path(f))
        req.given = True
        if req.department is not None:
            first = seen.setdefault(req.department.name, req.source)
            if first != req.source:
                req.problems.append(
                    Problem(
                        req.source,
                        "name",
                        "request-duplicate",
                        f"department {req.department.name} is already requested by {first}",
                    )
                )
        out.append(req)
    return out
