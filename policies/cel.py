"""Evaluate a ``ValidatingAdmissionPolicy`` offline, the way the API server would.

The stacks install admission guardrails as CEL (``components/admission.py``). Reading
CEL is not reviewing it: this module runs the expressions with ``celpy`` (a Python
implementation of CEL) so that policies and tests can ask "would the API server admit
this object?" with no cluster. What it models of the API server:

- ``matchConstraints.resourceRules``: the object's kind is mapped to its API group and
  resource (only the kinds this repository deals with), operation ``CREATE``;
- ``variables`` in order, then every ``validations`` entry; the activation holds
  ``object``, ``namespaceObject`` and ``variables`` (``oldObject`` is null on CREATE);
- a validation that evaluates to false denies with its ``messageExpression`` (falling
  back to ``message`` if that fails), and one that errors denies too
  (``failurePolicy: Fail``; the guardrails all use it).

Kubernetes' CEL libraries (quantity, ``url``, ``isSorted``...) are not offered; the
guardrails use only standard CEL, which the tests run against the real API server too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import celpy

# kind -> (API group, resource): what resourceRules name
RESOURCES = {
    "Pod": ("", "pods"),
    "Service": ("", "services"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
}

_ENV = celpy.Environment()


@cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression))


def matches(spec: Mapping[str, Any], obj: Mapping[str, Any], operation: str = "CREATE") -> bool:
    """Whether the policy's resource rules select ``obj`` for ``operation``."""
    group, resource = RESOURCES.get(str(obj.get("kind")), (None, None))
    if resource is None:
        return False
    version = str(obj.get("apiVersion", "")).rsplit("/", 1)[-1]
    for rule in (spec.get("matchConstraints") or {}).get("resourceRules") or []:
        if (
            group in rule.get("apiGroups", [])
            and resource in rule.get("resources", [])
            and (version in rule.get("apiVersions", []) or "*" in rule.get("apiVersions", []))
            and (operation in rule.get("operations", []) or "*" in rule.get("operations", []))
        ):
            return True
    return False


def _plain(value: Any) -> Any:
    """Plain JSON data from mappings and sequences of any kind (CrossGuard hands proxies)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    result = _program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result


def denials(
    spec: Mapping[str, Any],
    obj: Mapping[str, Any],
    namespace: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages the policy denies ``obj`` with on CREATE (``[]``: admitted or not matched)."""
    if not matches(spec, obj):
        return []
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(_plain(obj)),
        "oldObject": None,
        "namespaceObject": celpy.json_to_cel(_plain(namespace or {})),
    }
    variables: dict[str, Any] = {}
    out: list[str] = []
    try:
        for var in spec.get("variables") or []:
            activation["variables"] = celpy.celtypes.MapType(variables)
            variables[celpy.celtypes.StringType(var["name"])] = _evaluate(
                var["expression"], activation
            )
    except Exception as exc:  # an evaluation error is a denial (failurePolicy: Fail)
        return [f"variable evaluation failed: {exc}"]
    activation["variables"] = celpy.celtypes.MapType(variables)
    for v in spec.get("validations") or []:
        try:
            ok = bool(_evaluate(v["expression"], activation))
        except Exception as exc:  # likewise
            out.append(f"expression error ({exc}): {v.get('message', '')}")
            continue
        if ok:
            continue
        message = v.get("message") or f"failed expression: {v['expression']}"
        if v.get("messageExpression"):
            # the API server falls back to message when messageExpression fails, too
            with contextlib.suppress(Exception):
                message = str(_evaluate(v["messageExpression"], activation))
        out.append(message)
    return out
