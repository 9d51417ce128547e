"""The shape of a policy, independent of where it runs.

A policy is data a security reviewer can read (id, title, the clause it implements,
enforcement, rationale) plus check functions over *plain data*: a :class:`Resource`
(type + props dicts, exactly what CrossGuard hands a validator and what the offline
plan records), the list of a stack's resources, the estate model, or the host
configuration the pyinfra roles would deploy. Neither adapter (CrossGuard in
``policies/crossguard.py``, offline in ``policies/offline.py``) contains any check
logic: they only feed these functions and collect what they yield.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from govcloud.model import Estate


class Enforcement(StrEnum):
    """Mandatory violations fail ``govcloud compliance check`` unless waived."""

    ADVISORY = "advisory"
    MANDATORY = "mandatory"


class Standard(StrEnum):
    MLPS = "GB/T 22239-2019"  # 等保2.0 基本要求
    CRYPTO = "GB/T 39786-2021"  # 密评: 信息系统密码应用基本要求
    DR = "GB/T 20988"  # 信息系统灾难恢复规范


@dataclass(frozen=True)
class Clause:
    """A clause of a standard. ``exact`` is False where only the section is certain."""

    standard: Standard
    number: str
    title: str
    text: str
    exact: bool = True
    note: str = ""

    @property
    def ref(self) -> str:
        mark = "" if self.exact else " (section; item number unverified)"
        return f"{self.standard} {self.number}{mark}"


@dataclass(frozen=True)
class Resource:
    """One planned resource as plain data: what CrossGuard and the offline plan both see."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    stack: str = ""

    @property
    def kind(self) -> str:
        """``kubernetes:apps/v1:Deployment`` -> ``Deployment``."""
        return self.type.rsplit(":", 1)[-1]

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.props.get("metadata") or {}

    @property
    def labels(self) -> Mapping[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def k8s_name(self) -> str:
        return str(self.metadata.get("name") or self.name)

    @property
    def ref(self) -> str:
        """How evidence and violations name the resource: ``stack/Kind/ns/name``."""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.stack or '?'}/{self.kind}/{ns}{self.k8s_name}"


@dataclass(frozen=True)
class HostConfig:
    """What the pyinfra roles would deploy on one host, derived from the model.

    ``roles`` maps a role name to that role's ``Data`` for this host (whatever
    ``roles.<role>.data_for(estate, host)`` returned), so a check reads the real
    configuration, never a hand-copied value.
    """

    name: str
    site: str
    group: str
    roles: Mapping[str, Any]
    address: str = ""
    zone: str | None = None
    assigned: tuple[str, ...] = ()  # every role the host profile gives it, written or not

    def has_role(self, role: str) -> bool:
        return role in self.roles or role in self.assigned


@dataclass(frozen=True)
class Violation:
    """One failed check. ``subject`` is what a waiver's ``scope`` is matched against."""

    policy: str
    subject: str
    message: str
    urn: str | None = None


@dataclass
class Context:
    """What a check may consult besides its input; ``evidence`` collects what it examined."""

    estate: Estate
    stack: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    evidence: list[str] = field(default_factory=list)

    def saw(self, item: str) -> None:
        self.evidence.append(item)


ResourceCheck = Callable[[Resource, Context], Iterable[Violation]]
StackCheck = Callable[[list[Resource], Context], Iterable[Violation]]
EstateCheck = Callable[[Context], Iterable[Violation]]
HostsCheck = Callable[[list[HostConfig], Context], Iterable[Violation]]


@dataclass(frozen=True)
class Policy:
    """A control. At least one of the ``on_*`` checks is set."""

    id: str
    title: str
    clauses: tuple[Clause, ...]
    enforcement: Enforcement
    rationale: str
    on_resource: ResourceCheck | None = None
    on_stack: StackCheck | None = None
    on_estate: EstateCheck | None = None
    on_hosts: HostsCheck | None = None

    @property
    def inputs(self) -> list[str]:
        """What the policy reads, for the report and the README."""
        names = {
            "on_resource": "resource",
            "on_stack": "stack plan",
            "on_estate": "estate model",
            "on_hosts": "host config",
        }
        return [label for attr, label in names.items() if getattr(self, attr) is not None]

    @property
    def reads_plan(self) -> bool:
        return self.on_resource is not None or self.on_stack is not None


def run_stack(policy: Policy, resources: list[Resource], ctx: Context) -> list[Violation]:
    """Every plan-level check of ``policy`` over one stack's resources."""
    out: list[Violation] = []
    if policy.on_resource is not None:
        for r in resources:
            out.extend(policy.on_resource(r, ctx))
    if policy.on_stack is not None:
        out.extend(policy.on_stack(resources, ctx))
    return out


def stack_of_urn(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>`` ("" if not a URN)."""
    if not urn.startswith("urn:pulumi:"):
        return ""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]
