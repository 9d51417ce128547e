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
class Rendered:
    stack: str
    directory: Path | None
    files: list[str] = field(default_factory=list)
    problems: list[ManifestProblem] = field(default_factory=list)


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
