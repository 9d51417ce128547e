"""Run the real stack program in-process under Pulumi's mock runtime.

The stack program (``stacks/__main__.py``) is executed exactly as the Pulumi language
host would run it, except that the resource monitor is Pulumi's own
:class:`~pulumi.runtime.mocks.MockMonitor`: every ``RegisterResource`` lands in memory
with the provider-facing (camelCase) inputs, nothing talks to a cluster. Stack config
comes from ``stacks/Pulumi.<stack>.yaml``; ``secure:`` values cannot be decrypted
offline and are replaced by :data:`SECRET_PLACEHOLDER` (still marked secret).

Isolation: Pulumi keeps its runtime state (settings, root stack, config) in
ContextVars, so each stack runs in a fresh :func:`contextvars.copy_context` with a new
event loop and a new monitor; nothing carries over from one stack to the next.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import runpy
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govcloud.model.loader import REPO_ROOT

STACKS_DIR = REPO_ROOT / "stacks"
PROJECT = "govcloud"
SECRET_PLACEHOLDER = "[secret: not decrypted by the offline plan]"
# Pulumi's wire marker for a secret value ({SIG: SECRET_SIG, "value": ...}).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class PlanError(Exception):
    """The plan could not run (unknown stack, unreadable stack file, program error)."""


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registered, as a policy engine sees it."""

    stack: str
    type: str  # e.g. "kubernetes:core/v1:Namespace", "govcloud:tenancy:DepartmentTenant"
    name: str  # Pulumi logical name
    urn: str
    props: dict[str, Any]  # provider-facing inputs, camelCase keys (as CrossGuard sees them)

    @property
    def is_kubernetes(self) -> bool:
        """A Kubernetes object (not a component, not the provider)."""
        return self.type.startswith("kubernetes:")

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def namespace(self) -> str | None:
        return (self.props.get("metadata") or {}).get("namespace")

    @property
    def labels(self) -> dict[str, str]:
        return (self.props.get("metadata") or {}).get("labels") or {}

    @property
    def department(self) -> str | None:
        return self.labels.get("govcloud.io/department")


@dataclass
class StackPlan:
    """What the program of one stack registered, and its exports."""

    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def manifests(self) -> list[dict[str, Any]]:
        """The Kubernetes objects, in URN order, ready to render or validate."""
        return [r.props for r in self.resources if r.is_kubernetes]


def stack_names(stacks_dir: Path | None = None) -> list[str]:
    """Stacks that have a config file ``Pulumi.<stack>.yaml``."""
    stacks_dir = STACKS_DIR if stacks_dir is None else stacks_dir
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def read_stack_config(
    stack: str, stacks_dir: Path | None = None
) -> tuple[dict[str, str], list[str]]:
    """The stack's config as Pulumi passes it to a program, and which keys are secret."""
    stacks_dir = STACKS_DIR if stacks_dir is None else stacks_dir
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(stacks_dir)) or "none"
        raise PlanError(f"no stack {stack!r}: {path} not found (known stacks: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from None
    raw = data.get("config") or {}
    if not isinstance(raw, Mapping):
        raise PlanError(f"{path}: config: must be a mapping")
    config: dict[str, str] = {}
    secret: list[str] = []
    for key, value in raw.items():
        if isinstance(value, Mapping) and "secure" in value:
            config[key] = SECRET_PLACEHOLDER
            secret.append(key)
        elif isinstance(value, Mapping | list):
            raise PlanError(f"{path}: config.{key}: structured values are not used here")
        else:
            config[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return config, secret


def _plain(value: Any) -> Any:
    """Wire values -> plain data: unwrap secrets, integral floats back to ints."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _engine_urn(urn: str) -> str:
    """The URN the real engine gives the same registration.

    The SDK's mock monitor qualifies a resource parented to the stack with the
    stack's own type (``...::pulumi:pulumi:Stack$govcloud:dr:SystemPlacement::x``); the
    engine leaves the root stack out of the chain. Plans are compared with real
    previews by URN, so they use the engine's form.
    """
    return urn.replace("::pulumi:pulumi:Stack$", "::", 1)


def _split_urn(urn: str) -> tuple[str, str]:
    """``urn:pulumi:stack::project::parent$type::name`` -> (type, name)."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


def _run(
    stack: str,
    program: Callable[[], object],
    config: dict[str, str],
    secret_keys: list[str],
) -> tuple[list[PlannedResource], dict[str, Any]]:
    # Imported here: `govcloud validate` and the CLI must not pay for Pulumi's import.
    import pulumi
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class _Mocks(pulumi.runtime.Mocks):
        """Records each resource's inputs; returns no state.

        Returning the inputs as state (the usual mock) makes the SDK translate every
        property back into typed outputs, a fifth of the plan's time; nothing in the
        stack program reads a resource's outputs, so the plan keeps inputs aside.
        """

        def __init__(self) -> None:
            self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
            self.duplicates: list[tuple[str, str]] = []

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            key = (args.typ, args.name)
            if key in self.inputs:
                self.duplicates.append(key)
            self.inputs[key] = args.inputs
            return f"{args.name}-id", {}

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        pulumi.runtime.set_all_config(config, secret_keys)
        recorder = _Mocks()
        monitor = mocks.MockMonitor(recorder)
        pulumi.runtime.set_mocks(
            recorder, project=PROJECT, stack=stack, preview=True, monitor=monitor
        )
        _sync_await(
            run_pulumi_func(program)  # type: ignore[arg-type]
        )
        root = settings.get_root_resource()
        outputs = _plain(dict(getattr(root, "outputs", {}) or {}))
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)

    if recorder.duplicates:
        names = ", ".join(f"{t} {n}" for t, n in sorted(set(recorder.duplicates)))
        raise PlanError(f"stack {stack}: resources registered twice: {names}")
    resources = []
    for urn in sorted(_engine_urn(u) for u in monitor.resources):
        typ, name = _split_urn(urn)
        props = recorder.inputs.get((typ, name), {})
        resources.append(PlannedResource(stack, typ, name, urn, _plain(dict(props))))
    return resources, outputs


@contextmanager
def _gc_paused_for_run() -> Iterator[None]:
    """Pause the cyclic garbage collector for one run; collect the run's cycles after it.

    Under the mock runtime every resource allocates hundreds of container objects
    (Outputs, futures, tasks, protobuf Structs) and keeps most of them alive until the
    run ends, so the collector's young and middle collections keep traversing objects
    that all survive, and its full collections rescan the run's growing set of live
    resources plus everything the caller already holds (``plan --all`` keeps the
    earlier stacks' plans; the benchmark keeps whole estates). Measured: 30-45 % of
    plan and floor CPU at N=30 departments, and the reason ms/resource grew with the
    estate (default collector: +50 % from N=30 to N=100; raised thresholds still
    +50-80 % to N=300; collector paused: 1.90 -> 1.91 ms/resource from N=30 to N=100).
    Reference counting still frees everything that is not in a cycle; the few cycles
    a run leaves are collected right after it (``gc.collect`` over the run's objects
    only: what existed before is frozen), so memory stays bounded per stack (peak RSS
    of the whole N=100 plan: 1.4 GB). The previous state is restored afterwards, also
    when the program fails.
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def run_program(
    stack: str,
    program: Callable[[], object],
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
) -> tuple[list[PlannedResource], dict[str, Any]]:
    """Run ``program`` as stack ``stack`` under a fresh mock runtime; return what it did.

    The isolation boundary: a copied context, a new event loop and a new monitor per
    call. Tests use it to build a single component the way the plan builds a stack.
    """
    ctx = contextvars.copy_context()
    with _gc_paused_for_run():
        return ctx.run(_run, stack, program, dict(config or {}), list(secret_keys or []))


def plan_stack(
    stack: str, estate_root: str | Path | None = None, stacks_dir: Path | None = None
) -> StackPlan:
    """Run ``stacks/__main__.py`` for ``stack`` under the mock runtime; return what it registered.

    ``estate_root`` plans another estate directory (default: ``$GOVCLOUD_ESTATE`` or the
    repository's ``estate/``). An invalid estate raises :class:`~govcloud.model.EstateError`
    with every problem; other failures raise :class:`PlanError`.
    """
    import pulumi

    from govcloud.model import EstateError

    stacks_dir = STACKS_DIR if stacks_dir is None else stacks_dir
    config, secret_keys = read_stack_config(stack, stacks_dir)
    if estate_root is not None:
        config[f"{PROJECT}:estate"] = str(estate_root)
    program = stacks_dir / "__main__.py"
    started = time.perf_counter()
    try:
        resources, outputs = run_program(
            stack,
            lambda: runpy.run_path(str(program), run_name="__main__"),
            config,
            secret_keys,
        )
    except pulumi.RunError as exc:
        # the program turns an invalid estate into a RunError (clean output under the
        # real CLI); hand the structured problems back to the caller
        if isinstance(exc.__context__, EstateError):
            raise exc.__context__ from None
        raise PlanError(f"stack {stack}: {exc}") from None
    return StackPlan(
        stack=stack,
        resources=resources,
        outputs=outputs,
        config={k: v for k, v in config.items() if k not in secret_keys},
        secret_keys=secret_keys,
        seconds=time.perf_counter() - started,
    )
