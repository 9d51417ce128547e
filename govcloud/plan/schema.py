"""Kubernetes schema validation of rendered manifests, with kubernetes-validate's schemas.

``kubernetes_validate.validate`` re-reads and re-parses the 1.2 MB definitions file on
every call and stops at the first error. The plan validates hundreds of manifests per
stack and wants every error, so this module builds one validator per (version, kind,
apiVersion) from the same schema files kubernetes-validate ships and the same lookup
rules, caches it, and collects all errors of a manifest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource


@dataclass(frozen=True)
class SchemaError:
    """One schema violation, with the JSON path inside the manifest."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(top level)'}: {self.message}"


@cache
def _schema_version(version: str) -> str:
    """The newest shipped schema version not newer than ``version`` (kubernetes-validate's rule)."""
    want = kv_utils.major_minor(version.removeprefix("v"))
    shipped = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= want]
    if not shipped or kv_utils.major_minor(shipped[-1]) != want:
        raise LookupError(f"kubernetes-validate ships no schemas for Kubernetes {version}")
    return shipped[-1]


def _load(path: str) -> Any:
    ref = resources.files("kubernetes_validate").joinpath("kubernetes-json-schema", path)
    return json.loads(ref.read_text(encoding="utf-8"))


@cache
def _registry(version: str, strict: bool) -> tuple[str, Registry]:
    folder = f"v{_schema_version(version)}-local" + ("-strict" if strict else "")
    definitions = Resource.from_contents(_load(f"{folder}/_definitions.json"))
    return folder, definitions @ Registry()


@cache
def _validator(version: str, strict: bool, api_version: str, kind: str) -> Any:
    folder, registry = _registry(version, strict)
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _load(f"{folder}/{kind.lower()}-{api}.json")
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_manifest(
    manifest: dict[str, Any], version: str, strict: bool = True
) -> list[SchemaError]:
    """Every schema error of ``manifest`` against Kubernetes ``version`` (empty = valid)."""
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [SchemaError("", "apiVersion and kind must be strings")]
    validator = _validator(version, strict, api_version, kind)
    if validator is None:
        return [SchemaError("", f"no {version} schema for kind {kind} in {api_version}")]
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.path)))
    return [SchemaError(".".join(str(p) for p in e.path), e.message) for e in errors]
