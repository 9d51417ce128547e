"""Render a stack plan to disk and validate it, the way a reviewer reads a plan.

Layout of ``<out>/<stack>/`` mirrors pulumi-kubernetes' ``renderYamlToDirectory``:
``1-manifest/<apiVersion>-<kind>-<namespace>-<name>.yaml``, one object per file (no
CRDs are created, so there is no ``0-crd/``), plus ``resources.json`` with every
registered resource (type, name, URN, props) for tools that want the whole plan.
Secret values never reach the disk: a Secret's data is written as the offline
placeholder only.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govcloud.plan.engine import StackPlan
from govcloud.plan.schema import SchemaError, validate_manifest


@dataclass(frozen=True)
class ManifestProblem:
    """A schema error in one rendered manifest, readable on its own."""

    stack: str
    file: str
    kind: str
    name: str
    error: SchemaError

    def __str__(self) -> str:
        return f"{self.stack}: {self.file}: {self.kind} {self.name}: {self.error}"


@dataclass
class Change:
    """One object that differs from the previous plan written to the same directory."""

    action: str  # create, update, delete
    kind: str
    name: str  # namespace/name or name
    fields: list[str] = field(default_factory=list)  # changed leaf paths (update only)

    def __str__(self) -> str:
        where = f": {', '.join(self.fields)}" if self.fields else ""
        return f"{self.action} {self.kind} {self.name}{where}"


@dataclass
class Rendered:
    stack: str
    directory: Path | None
    files: list[str] = field(default_factory=list)
    problems: list[ManifestProblem] = field(default_factory=list)
    # None: no earlier plan in the directory to compare with
    changes: list[Change] | None = None
    images: list[str] = field(default_factory=list)


def changed_fields(old: Any, new: Any, path: str = "") -> list[str]:
    """Leaf paths where two manifests differ (``spec.template.spec.containers[0].image``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in old or k not in new:
                out.append(sub)
            else:
                out += changed_fields(old[k], new[k], sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for i, (a, b) in enumerate(zip(old, new, strict=True))
                for p in changed_fields(a, b, f"{path}[{i}]")]
    return [] if old == new else [path or "(whole object)"]


def _ident(m: dict[str, Any]) -> tuple[str, str]:
    meta = m.get("metadata") or {}
    return str(m.get("kind")), f"{meta.get('namespace', '')}/{meta.get('name', '?')}".lstrip("/")


def diff(previous: dict[str, Any], manifests: list[dict[str, Any]]) -> list[Change]:
    """What applying ``manifests`` would change over ``previous`` (file name -> manifest)."""
    out = []
    current = {manifest_filename(m): m for m in manifests}
    for name, m in current.items():
        if name not in previous:
            out.append(Change("create", *_ident(m)))
        elif (fields := changed_fields(previous[name], m)):
            out.append(Change("update", *_ident(m), fields))
    for name, m in previous.items():
        if name not in current:
            out.append(Change("delete", *_ident(m)))
    return out


def _previous(manifests_dir: Path) -> dict[str, Any] | None:
    if not manifests_dir.is_dir():
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {
        p.name: yaml.load(p.read_text(encoding="utf-8"), Loader=loader)
        for p in sorted(manifests_dir.glob("*.yaml"))
    }


def image_lines(manifests: list[dict[str, Any]]) -> list[str]:
    """``<kind> <namespace>/<name> <container> <image>`` for every container, sorted."""
    out = []
    for m in manifests:
        spec = m.get("spec") or {}
        if m.get("kind") == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
        pod = (spec.get("template") or {}).get("spec") or {}
        kind, name = _ident(m)
        for key in ("initContainers", "containers"):
            for c in pod.get(key) or []:
                out.append(f"{kind} {name} {c.get('name')} {c.get('image')}")
    return sorted(out)


def manifest_filename(manifest: dict[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    parts = [
        str(manifest.get("apiVersion", "")).replace("/", "_"),
        str(manifest.get("kind", "")),
        str(meta.get("namespace") or "cluster"),
        str(meta.get("name", "")),
    ]
    return "-".join(p.lower() for p in parts) + ".yaml"


def check(plan: StackPlan, version: str) -> list[ManifestProblem]:
    """Schema-validate every manifest of ``plan`` (strict: unknown fields are errors)."""
    problems = []
    for m in plan.manifests:
        for err in validate_manifest(m, version, strict=True):
            meta = m.get("metadata") or {}
            name = f"{meta.get('namespace', '')}/{meta.get('name', '?')}".lstrip("/")
            problems.append(
                ManifestProblem(plan.stack, manifest_filename(m), str(m.get("kind")), name, err)
            )
    return problems


def render(plan: StackPlan, out: Path | None, version: str) -> Rendered:
    """Write ``plan``'s manifests under ``out/<stack>/`` (if ``out``) and validate them."""
    result = Rendered(plan.stack, None)
    result.problems = check(plan, version)
    if out is None:
        return result
    target = out / plan.stack
    manifests_dir = target / "1-manifest"
    previous = _previous(manifests_dir)
    if previous is not None:
        result.changes = diff(previous, plan.manifests)
    if manifests_dir.exists():
        shutil.rmtree(manifests_dir)  # stale files from an earlier plan would mislead
    manifests_dir.mkdir(parents=True)
    for m in plan.manifests:
        name = manifest_filename(m)
        (manifests_dir / name).write_text(
            yaml.safe_dump(m, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        result.files.append(name)
    (target / "resources.json").write_text(
        json.dumps(
            {
                "stack": plan.stack,
                "outputs": plan.outputs,
                "resources": [
                    {"type": r.type, "name": r.name, "urn": r.urn, "props": r.props}
                    for r in plan.resources
                ],
            },
            indent=1,
            ensure_ascii=False,
            default=str,
        ),
        encoding="utf-8",
    )
    # which image (by digest) each workload runs: the reviewer's supply-chain view
    result.images = image_lines(plan.manifests)
    (target / "images.txt").write_text("\n".join(result.images) + "\n", encoding="utf-8")
    result.directory = target
    return result


def summary(plan: StackPlan) -> str:
    """Resources by kind and by department: what a reviewer checks first."""
    kinds = Counter(r.kind for r in plan.resources)
    depts = Counter(r.department or "(platform)" for r in plan.resources if r.is_kubernetes)
    lines = [
        f"stack {plan.stack}: {len(plan.resources)} resources "
        f"({len(plan.manifests)} Kubernetes objects) in {plan.seconds:.1f}s"
    ]
    lines.append("  by kind:")
    lines += [f"    {n:6d}  {k}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append("  by department:")
    lines += [f"    {n:6d}  {d}" for d, n in sorted(depts.items())]
    if plan.secret_keys:
        lines.append(
            f"  secrets not decrypted offline (placeholder used): {', '.join(plan.secret_keys)}"
        )
    return "\n".join(lines)
