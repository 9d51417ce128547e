"""Runbooks as data: parse the Markdown a person reads into the steps a drill executes.

A runbook is ordinary Markdown (purpose, preconditions, roles, decision points, steps,
verification, rollback) with two machine-readable parts, so the person and the drill
runner read the *same* commands:

* a YAML front matter block (``---`` ... ``---``) with a ``drill:`` mapping: which
  targets apply (``targets: in-city | offsite | switchover | failback``) and the state the
  runner must bring the lab to first (``preconditions:``);
* fenced blocks whose info string starts with ``drill``::

    ```drill id=promote-b kind=exec host=dr-pg timeout=30
    patronictl -c /etc/patroni/15-main.yml edit-config --force -s standby_cluster=null
    ```

Attributes are ``key=value`` (values may be double-quoted). Unknown kinds, duplicate ids
or a missing required attribute are errors naming the file, the line and the rule, so a
typo in a runbook fails before anything touches the lab.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class StepKind(StrEnum):
    """What the runner does with a step's body."""

    CHECK = "check"  # run once on host; must exit 0
    EXEC = "exec"  # run once on host; must exit 0 (a change)
    WAIT = "wait"  # re-run on host until it exits 0, or fail at timeout
    DECISION = "decision"  # operator decision: poll the evidence until it holds, record when
    FAULT = "fault"  # drill only: `cut <site>` / `heal <site>` through the lab API
    LOAD = "load"  # drill only: `start` / `stop` the steady write load
    PAUSE = "pause"  # drill only: sleep `timeout` seconds (let the load run)
    DNS = "dns"  # `repoint <service> <site>`: the GSLB/DNS hook of the lab's dns role


class Phase(StrEnum):
    """Where a step sits in the runbook; rollback steps are run only on request."""

    PRECONDITION = "precondition"
    DRILL = "drill"
    RECOVERY = "recovery"
    VERIFY = "verify"
    ROLLBACK = "rollback"


class TargetSet(StrEnum):
    """Which of the DR tier's targets a runbook is measured against."""

    IN_CITY = "in-city"  # rpo_seconds / rto_seconds
    OFFSITE = "offsite"  # offsite_rpo_seconds / offsite_rto_seconds
    SWITCHOVER = "switchover"  # planned: rpo_seconds and the switchover write pause
    FAILBACK = "failback"  # restores dual-active; 0 lost, no RTO target


HOST_KINDS = {StepKind.CHECK, StepKind.EXEC, StepKind.WAIT, StepKind.DECISION}
DEFAULT_TIMEOUT = {
    StepKind.CHECK: 15.0,
    StepKind.EXEC: 60.0,
    StepKind.WAIT: 60.0,
    StepKind.DECISION: 60.0,
    StepKind.FAULT: 15.0,
    StepKind.LOAD: 15.0,
    StepKind.PAUSE: 5.0,
    StepKind.DNS: 15.0,
}
KNOWN_ATTRS = {"id", "kind", "host", "timeout", "phase", "interval", "marks", "title"}
MARKS = ("fault", "change")
ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
FENCE_RE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*drill\b(?P<attrs>.*)$")


class RunbookError(ValueError):
    """A runbook that cannot be executed; the message names file, line and rule."""

    def __init__(self, path: str, line: int, rule: str, message: str):
        super().__init__(f"{path}:{line}: [{rule}] {message}")
        self.path, self.line, self.rule = path, line, rule


@dataclass(frozen=True)
class Step:
    """One executable step, in file order."""

    id: str
    kind: StepKind
    body: str
    line: int
    host: str | None = None
    timeout: float = 60.0
    interval: float = 0.5
    phase: Phase = Phase.DRILL
    marks: str | None = None  # "fault": RTO origin; "change": start of a planned change
    title: str = ""  # the nearest Markdown heading above the block

    @property
    def commands(self) -> list[str]:
        """Non-empty, non-comment body lines (for fault/load steps)."""
        return [
            ln.strip() for ln in self.body.splitlines() if ln.strip() and not ln.startswith("#")
        ]


@dataclass(frozen=True)
class Runbook:
    path: str
    title: str
    targets: TargetSet
    preconditions: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def phase(self, phase: Phase) -> list[Step]:
        return [s for s in self.steps if s.phase == phase]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def fault_step(self) -> Step | None:
        return self.marked("fault")

    @property
    def change_step(self) -> Step | None:
        return self.marked("change")

    def marked(self, mark: str) -> Step | None:
        for s in self.steps:
            if s.marks == mark:
                return s
        return None


def _parse_attrs(text: str, path: str, line: int) -> dict[str, str]:
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise RunbookError(path, line, "attr-syntax", f"cannot split attributes: {exc}") from exc
    attrs: dict[str, str] = {}
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise RunbookError(path, line, "attr-syntax", f"{w!r} is not key=value")
        if key not in KNOWN_ATTRS:
            raise RunbookError(
                path,
                line,
                "unknown-attr",
                f"unknown attribute {key!r} (known: {sorted(KNOWN_ATTRS)})",
            )
        if key in attrs:
            raise RunbookError(path, line, "duplicate-attr", f"attribute {key!r} given twice")
        attrs[key] = value
    return attrs


def _seconds(value: str, path: str, line: int, attr: str) -> float:
    try:
        v = float(value.removesuffix("s"))
    except ValueError as exc:
        raise RunbookError(path, line, "bad-number", f"{attr}={value!r} is not seconds") from exc
    if v <= 0:
        raise RunbookError(path, line, "bad-number", f"{attr}={value!r} must be > 0")
    return v


def _front_matter(lines: list[str], path: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].strip() != "---":
        raise RunbookError(path, 1, "front-matter", "runbook must start with a '---' YAML block")
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                raise RunbookError(path, 2, "front-matter", f"invalid YAML: {exc}") from exc
            if not isinstance(data, dict) or not isinstance(data.get("drill"), dict):
                raise RunbookError(path, 2, "front-matter", "front matter needs a 'drill:' mapping")
            return data["drill"], i + 1
    raise RunbookError(path, 1, "front-matter", "front matter is not closed with '---'")


def parse_runbook(text: str, path: str = "<runbook>") -> Runbook:
    """Parse a runbook's Markdown; raise :class:`RunbookError` on the first problem."""
    lines = text.splitlines()
    meta, start = _front_matter(lines, path)
    try:
        targets = TargetSet(meta.get("targets", ""))
    except ValueError:
        raise RunbookError(
            path, 2, "targets", f"drill.targets must be one of {[t.value for t in TargetSet]}"
        ) from None
    pre = meta.get("preconditions") or {}
    if not isinstance(pre, dict):
        raise RunbookError(path, 2, "front-matter", "drill.preconditions must be a mapping")

    title, heading = "", ""
    steps: list[Step] = []
    seen: dict[str, int] = {}
    i = start
    in_other_fence: str | None = None
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        if in_other_fence:
            if raw.strip().startswith(in_other_fence):
                in_other_fence = None
            i += 1
            continue
        m = FENCE_RE.match(raw.strip())
        if not m:
            stripped = raw.strip()
            if stripped.startswith(("```", "~~~")):
                in_other_fence = stripped[:3]
            elif stripped.startswith("# ") and not title:
                title = stripped[2:].strip()
            elif stripped.startswith("#"):
                heading = stripped.lstrip("#").strip()
            i += 1
            continue
        fence = m.group("fence")
        attrs = _parse_attrs(m.group("attrs"), path, lineno)
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise RunbookError(path, lineno, "unclosed-block", "drill block is never closed")
        i += 1
        steps.append(_step(attrs, "\n".join(body), path, lineno, heading, seen))
    if not steps:
        raise RunbookError(path, 1, "no-steps", "runbook has no ```drill blocks")
    for mark in MARKS:
        marked = [s for s in steps if s.marks == mark]
        if len(marked) > 1:
            raise RunbookError(
                path,
                marked[1].line,
                "one-mark",
                f"marks={mark} on {marked[0].id} and {marked[1].id}",
            )
    faults = [s for s in steps if s.marks == "fault"]
    if targets in (TargetSet.IN_CITY, TargetSet.OFFSITE) and not faults:
        raise RunbookError(
            path, 2, "fault-missing", f"targets={targets} needs a step with marks=fault"
        )
    return Runbook(path, title, targets, pre, steps, meta)


def _step(
    attrs: dict[str, str], body: str, path: str, line: int, heading: str, seen: dict[str, int]
) -> Step:
    sid = attrs.get("id")
    if not sid:
        raise RunbookError(path, line, "missing-id", "drill block needs id=<slug>")
    if not ID_RE.match(sid):
        raise RunbookError(path, line, "bad-id", f"id {sid!r} is not a lower-case slug")
    if sid in seen:
        raise RunbookError(
            path, line, "duplicate-id", f"id {sid!r} already used on line {seen[sid]}"
        )
    seen[sid] = line
    try:
        kind = StepKind(attrs.get("kind", ""))
    except ValueError:
        raise RunbookError(
            path, line, "unknown-kind", f"{sid}: kind must be one of {[k.value for k in StepKind]}"
        ) from None
    try:
        phase = Phase(attrs.get("phase", Phase.DRILL))
    except ValueError:
        raise RunbookError(
            path, line, "unknown-phase", f"{sid}: phase must be one of {[p.value for p in Phase]}"
        ) from None
    host = attrs.get("host")
    if kind in HOST_KINDS and not host:
        raise RunbookError(path, line, "missing-host", f"{sid}: kind={kind} needs host=<lab host>")
    if kind not in HOST_KINDS and host:
        raise RunbookError(path, line, "unexpected-host", f"{sid}: kind={kind} takes no host")
    timeout = (
        _seconds(attrs["timeout"], path, line, "timeout")
        if "timeout" in attrs
        else DEFAULT_TIMEOUT[kind]
    )
    interval = _seconds(attrs["interval"], path, line, "interval") if "interval" in attrs else 0.5
    step = Step(
        id=sid,
        kind=kind,
        body=body.strip("\n"),
        line=line,
        host=host,
        timeout=timeout,
        interval=interval,
        phase=phase,
        marks=attrs.get("marks"),
        title=attrs.get("title", heading),
    )
    if kind in HOST_KINDS and not step.body.strip():
        raise RunbookError(path, line, "empty-body", f"{sid}: kind={kind} needs a command")
    if kind == StepKind.FAULT:
        for cmd in step.commands:
            verb, _, site = cmd.partition(" ")
            if verb not in ("cut", "heal") or not site.strip():
                raise RunbookError(
                    path,
                    line,
                    "fault-syntax",
                    f"{sid}: {cmd!r} is not 'cut <site>' / 'heal <site>'",
                )
        if not step.commands:
            raise RunbookError(path, line, "empty-body", f"{sid}: fault step has no action")
    if kind == StepKind.LOAD and step.commands not in (["start"], ["stop"]):
        raise RunbookError(path, line, "load-syntax", f"{sid}: load body must be 'start' or 'stop'")
    if step.marks is not None and step.marks not in MARKS:
        raise RunbookError(
            path, line, "unknown-mark", f"{sid}: marks={step.marks!r} not in {MARKS}"
        )
    if kind == StepKind.DNS:
        for cmd in step.commands:
            words = cmd.split()
            if len(words) != 3 or words[0] != "repoint":
                raise RunbookError(
                    path, line, "dns-syntax", f"{sid}: {cmd!r} is not 'repoint <service> <site>'"
                )
        if not step.commands:
            raise RunbookError(path, line, "empty-body", f"{sid}: dns step has no action")
    return step


def load_runbook(path: Path | str) -> Runbook:
    """Read and parse a runbook file."""
    p = Path(path)
    return parse_runbook(p.read_text(encoding="utf-8"), str(p))
