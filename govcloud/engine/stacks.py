"""The site stacks under the real Pulumi engine: preview, up, refresh, destroy.

No Python language host is served to this machine, so `pulumi up` in the repo root cannot
start the program. The Automation API serves the language runtime itself: it runs the
unchanged `stacks/__main__.py` as an *inline* program and drives the real CLI (`--client`),
with the repo as work dir, so `Pulumi.yaml`, `stacks/Pulumi.<stack>.yaml` and its
`secure:` values are the same ones a stock `pulumi up -s <stack>` uses. The policy pack
runs as an executable analyzer (a two-line script exec'ing `python -m policies`), which
the engine launches directly, for the same reason.

State lives in a local `file://` backend under `.engine/state` (ignored by git).
Before any engine run the preconditions are checked so that a missing toolchain,
passphrase, kube context or API server gives one paragraph saying what to run, not an
engine stack trace.
"""

from __future__ import annotations

import os
import runpy
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govcloud.engine import cluster, toolchain
from govcloud.engine import versions as v
from govcloud.model.loader import REPO_ROOT

PROJECT = "govcloud"
STACKS_DIR = REPO_ROOT / "stacks"

#: When the engine saves a stack's state during up, refresh and destroy. The DIY
#: backend rewrites the whole deployment after every step, which makes a first `up` or
#: a full `destroy` grow with the square of the stack's size (README, "With the real
#: engine"). "end" skips those saves: the right trade on a cluster being built or torn
#: down from scratch, the wrong one on a site in service, where an interrupted run must
#: remember what it applied.
CHECKPOINTS = {
    "step": "save the state after every step (default; an interrupted run resumes)",
    "end": "save the state once, when the operation finishes (PULUMI_SKIP_CHECKPOINTS; "
           "an interrupted run forgets what it applied)",
}


class EngineError(RuntimeError):
    """A precondition failed or the engine refused: one paragraph for the operator."""


def state_dir() -> Path:
    return Path(os.environ.get("GOVCLOUD_ENGINE_STATE", cluster.engine_dir() / "state"))


def kubeconfig() -> Path:
    """The operator's KUBECONFIG if set (a real estate), else the local control planes'."""
    env = os.environ.get("KUBECONFIG")
    return Path(env) if env else cluster.kubeconfig_path()


def policy_pack_path() -> Path:
    """An executable the engine can launch as the analyzer plugin of `policies/`."""
    path = cluster.engine_dir() / "policy-pack" / "govcloud-policies"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f'#!/bin/sh\ncd "{REPO_ROOT}"\nexec "{sys.executable}" -m policies "$@"\n'
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        path.chmod(0o755)
    return path


# ------------------------------------------------------------------ preconditions


def _passphrase() -> None:
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE")
            or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        raise EngineError(
            "no secrets passphrase: the stack files' `secure:` values are encrypted with the "
            "passphrase provider and the engine cannot decrypt them without it. Set "
            "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE); for the sample "
            "stacks: export PULUMI_CONFIG_PASSPHRASE=govcloud-sample-only (README, "
            "'Secrets')."
        )


def _context_of(stack: str) -> str:
    from govcloud.plan.engine import PlanError, read_stack_config

    try:
        config, _ = read_stack_config(stack, STACKS_DIR)
    except PlanError as exc:
        raise EngineError(str(exc)) from None
    return config["govcloud:kubeContext"]


def _cluster_reachable(stack: str) -> None:
    context = _context_of(stack)
    path = kubeconfig()
    contexts = []
    if path.exists():
        contexts = [c["name"] for c in (yaml.safe_load(path.read_text()) or {})
                    .get("contexts") or []]
    if context not in contexts:
        raise EngineError(
            f"stack {stack}: kube context {context!r} (stacks/Pulumi.{stack}.yaml, "
            f"govcloud:kubeContext) is not in the kubeconfig {path} "
            f"({', '.join(contexts) or 'no contexts'}). Start the site's control plane with "
            f"`govcloud cluster up` (or point KUBECONFIG at the site's real kubeconfig)."
        )
    tools = toolchain.binaries()
    if "kubectl" in tools:
        import subprocess

        proc = subprocess.run(
            [str(tools["kubectl"]), "--kubeconfig", str(path), "--context", context,
             "--request-timeout=10s", "get", "--raw", "/readyz"],
            capture_output=True, text=True, timeout=30)
        if proc.returncode != 0 or proc.stdout.strip() != "ok":
            why = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
            raise EngineError(
                f"stack {stack}: the API server of context {context!r} is not answering "
                f"({why}). Nothing was changed. Check `govcloud cluster status`; "
                f"`govcloud cluster up` starts a stopped control plane again."
            )


def _toolchain() -> tuple[Path, Path]:
    have = toolchain.binaries()
    lacking = [n for n in ("pulumi", "pulumi-resource-kubernetes", "kubectl") if n not in have]
    if lacking:
        raise EngineError(
            f"the engine toolchain is not built yet ({', '.join(lacking)} not found in "
            f"{toolchain.cache_root()}; a stock pulumi {v.PULUMI} on PATH would serve as "
            "the CLI). Run "
            "`scripts/setup --engine` (about 45 min cold on 2 cores, seconds once cached)."
        )
    return have["pulumi"], have["pulumi-resource-kubernetes"]


# ------------------------------------------------------------------ the engine


@dataclass
class Outcome:
    """What one engine operation did, per resource, as the engine reported it."""

    stack: str
    operation: str
    seconds: float
    ops: dict[str, str] = field(default_factory=dict)  # urn -> op (create, update, same...)
    summary: dict[str, int] = field(default_factory=dict)
    policy_violations: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)

    def changes(self) -> dict[str, list[str]]:
        """op -> sorted URNs, without the unchanged ones."""
        out: dict[str, list[str]] = {}
        for urn, op in self.ops.items():
            if op not in ("same", "read", "refresh"):
                out.setdefault(op, []).append(urn)
        return {op: sorted(urns) for op, urns in sorted(out.items())}

    def changed(self) -> int:
        return sum(n for op, n in self.summary.items() if op != "same")


def _program(extra: Callable[[], None] | None = None) -> Callable[[], None]:
    def program() -> None:
        runpy.run_path(str(STACKS_DIR / "__main__.py"), run_name="__main__")
        if extra is not None:
            extra()

    return program


def _env(estate: Path | None, checkpoints: str = "step") -> dict[str, str]:
    env = {
        "PULUMI_BACKEND_URL": f"file://{state_dir()}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        # the provider is an installed plugin of the pinned version (see _install_provider),
        # not whatever `pulumi-resource-kubernetes` happens to be on PATH
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        "KUBECONFIG": str(kubeconfig()),
    }
    if estate is not None:
        env["GOVCLOUD_ESTATE"] = str(estate)
    if checkpoints == "end":
        env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    return env


@contextmanager
def _estate_env(estate: Path | None) -> Iterator[None]:
    """The inline program runs in this process: it reads $GOVCLOUD_ESTATE from here."""
    old = os.environ.get("GOVCLOUD_ESTATE")
    if estate is not None:
        os.environ["GOVCLOUD_ESTATE"] = str(estate)
    try:
        yield
    finally:
        if estate is not None:
            if old is None:
                os.environ.pop("GOVCLOUD_ESTATE", None)
            else:
                os.environ["GOVCLOUD_ESTATE"] = old


def _install_provider(pulumi_bin: Path, provider_bin: Path, home: Path) -> None:
    """Install the built provider as the plugin of its exact version, once per Pulumi home.

    Found on PATH instead, the engine would use it with a warning on every run; installed
    under the version the Python SDK asks for, it is simply the plugin of that version.
    """
    target = home / "plugins" / f"resource-kubernetes-v{v.PROVIDER}" / provider_bin.name
    if target.is_file():
        return
    import subprocess

    proc = subprocess.run(
        [str(pulumi_bin), "plugin", "install", "resource", "kubernetes", v.PROVIDER,
         "--file", str(provider_bin)],
        env=os.environ | {"PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "true"},
        capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not target.is_file():
        raise EngineError(f"could not install the kubernetes provider {v.PROVIDER} into "
                          f"{home}: {(proc.stderr or proc.stdout).strip()[-500:]}")


def _stack(name: str, program: Callable[[], None], estate: Path | None, create: bool,
           checkpoints: str = "step") -> Any:
    from pulumi import automation as auto

    pulumi_bin, provider_bin = _toolchain()
    state_dir().mkdir(parents=True, exist_ok=True)
    home = cluster.engine_dir() / "pulumi-home"
    home.mkdir(parents=True, exist_ok=True)
    _install_provider(pulumi_bin, provider_bin, home)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(REPO_ROOT),
        pulumi_home=str(home),
        env_vars=_env(estate, checkpoints),
        pulumi_command=auto.PulumiCommand(root=str(pulumi_bin.parent.parent)),
    )
    try:
        if create:
            return auto.create_or_select_stack(stack_name=name, project_name=PROJECT,
                                               program=program, opts=opts)
        return auto.select_stack(stack_name=name, project_name=PROJECT, program=program,
                                 opts=opts)
    except auto.StackNotFoundError:
        raise EngineError(
            f"stack {name} is not initialised in {state_dir()} (nothing was ever brought up "
            f"for it from this clone). Run `govcloud up --stack {name}` first."
        ) from None


def _events(outcome: Outcome) -> Callable[[Any], None]:
    def on_event(event: Any) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            op = str(getattr(meta.op, "value", meta.op))
            # an `up` in two passes (see _shrinking_quotas): the second pass sees what the
            # first changed as "same"; keep the change
            if op != "same" or outcome.ops.get(meta.urn, "same") == "same":
                outcome.ops[meta.urn] = op
        elif event.policy_event is not None:
            pe = event.policy_event
            outcome.policy_violations.append({
                "policy": pe.policy_name, "pack": pe.policy_pack_name, "urn": pe.resource_urn,
                "message": pe.message, "level": pe.enforcement_level,
            })
        elif event.diagnostic_event is not None and event.diagnostic_event.severity in (
                "error", "warning"):
            outcome.diagnostics.append(event.diagnostic_event.message.strip())

    return on_event


def run(
    stack: str,
    operation: str,
    *,
    estate: Path | None = None,
    policy: bool = False,
    extra: Callable[[], None] | None = None,
    on_output: Callable[[str], Any] | None = print,
    check_cluster: bool = True,
    parallel: int | None = None,
    checkpoints: str = "step",
) -> Outcome:
    """One engine operation (preview, up, refresh, destroy) on one stack.

    `extra` registers more resources after the stack program (tests use it to show the
    policy pack refusing a violation); `estate` points the program at another estate
    directory. `checkpoints` is "step" (the engine's default: state saved after every
    step, so an interrupted run resumes from what it applied) or "end"
    (PULUMI_SKIP_CHECKPOINTS: saved once when the operation finishes; see CHECKPOINTS).
    Raises EngineError with a one-paragraph message on any failure.
    """
    from pulumi import automation as auto

    if checkpoints not in CHECKPOINTS:
        raise EngineError(f"checkpoints must be one of {', '.join(CHECKPOINTS)}, "
                          f"not {checkpoints!r}")
    _passphrase()
    _toolchain()
    if check_cluster:
        _cluster_reachable(stack)
    outcome = Outcome(stack, operation, 0.0)
    plan = None
    with _estate_env(estate):
        if operation == "up":
            # what the claims need before the workloads wait for them
            from govcloud.plan import plan_stack

            site = stack
            plan = plan_stack(stack, estate)
            if site in cluster.existing() and kubeconfig() == cluster.kubeconfig_path():
                cluster.ensure_volumes(site, plan.manifests)
        st = _stack(stack, _program(extra), estate, create=operation in ("preview", "up"),
                    checkpoints=checkpoints)
        kwargs: dict[str, Any] = {"on_output": on_output, "on_event": _events(outcome),
                                  "color": "never"}
        if parallel:
            kwargs["parallel"] = parallel
        if policy and operation in ("preview", "up"):
            kwargs["policy_packs"] = [str(policy_pack_path())]
        t0 = time.monotonic()
        try:
            if operation == "preview":
                res = st.preview(**kwargs)
                outcome.summary = {str(getattr(k, "value", k)): n
                                   for k, n in (res.change_summary or {}).items()}
            elif operation == "up":
                held = _shrinking_quotas(st, plan) if plan is not None else []
                if held:
                    if on_output is not None:
                        on_output(f"{len(held)} ResourceQuota(s) shrink: first an up without "
                                  "them (removed workloads go, changed ones roll under the old "
                                  "quota), then an up that lowers them\n")
                    st.up(exclude=held, **kwargs)
                    res = st.up(**kwargs)
                    outcome.summary = dict(Counter(outcome.ops.values()))
                else:
                    res = st.up(**kwargs)
                    outcome.summary = dict(res.summary.resource_changes or {})
            elif operation == "refresh":
                res = st.refresh(**kwargs)
                outcome.summary = dict(res.summary.resource_changes or {})
            elif operation == "destroy":
                res = st.destroy(**kwargs)
                outcome.summary = dict(res.summary.resource_changes or {})
            else:
                raise EngineError(f"unknown operation {operation!r}")
        except auto.CommandError as exc:
            outcome.seconds = time.monotonic() - t0
            raise EngineFailed(outcome, _explain(stack, operation, exc, outcome)) from None
        outcome.seconds = time.monotonic() - t0
    if not outcome.summary and outcome.ops:
        outcome.summary = dict(Counter(outcome.ops.values()))
    return outcome


def _shrinking_quotas(st: Any, plan: Any) -> list[str]:
    """URNs of the ResourceQuotas this `up` lowers (a hard limit down, or a new one).

    The engine deletes what left the program only after every create and update, and
    the provider waits for each rollout. So an `up` that removes a system and lowers its
    department's quota, while another workload of that namespace rolls, deadlocks: the
    quota is lowered first, the removed system's pods still count against it, the
    rolling pod is refused, and the deletes never come. Lowered quotas are therefore
    applied in a second pass (`pulumi up --exclude <urn>`, then `pulumi up`).
    """
    from govcloud.engine.live import quantity

    deployment = (st.export_stack().deployment or {}).get("resources") or []
    before = {r["urn"]: ((r.get("inputs") or {}).get("spec") or {}).get("hard") or {}
              for r in deployment if r.get("type") == "kubernetes:core/v1:ResourceQuota"}
    out = []
    for res in plan.resources:
        if res.kind != "ResourceQuota" or res.urn not in before:
            continue
        old = before[res.urn]
        new = (res.props.get("spec") or {}).get("hard") or {}
        for key, value in new.items():
            was, now = quantity(old.get(key)), quantity(value)
            if key not in old or (was is not None and now is not None and now < was):
                out.append(res.urn)
                break
    return sorted(out)


def _run_child(stack: str, operation: str, kwargs: dict[str, Any]) -> tuple[Outcome, str]:
    try:
        return run(stack, operation, on_output=None, **kwargs), ""
    except EngineFailed as exc:
        return exc.outcome, str(exc)
    except EngineError as exc:
        return Outcome(stack, operation, 0.0), str(exc)


def run_each(stacks: list[str], operation: str, **kwargs: Any) -> dict[str, Outcome]:
    """`run` on several stacks at once, one process each (sites are independent).

    The engine's CLI spends most of an `up` serialising its checkpoint after every step
    (single-threaded, and O(resources) per step), so one stack keeps about one core busy;
    the sites' stacks run side by side. Raises EngineError naming every stack that
    failed, after all have finished.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no Pulumi state shared
    with ProcessPoolExecutor(max_workers=len(stacks), mp_context=ctx) as pool:
        futures = {s: pool.submit(_run_child, s, operation, kwargs) for s in stacks}
        results = {s: f.result() for s, f in futures.items()}
    failed = {s: msg for s, (_, msg) in results.items() if msg}
    if failed:
        first = next(iter(failed))
        raise EngineFailed(results[first][0], "\n".join(failed.values()))
    return {s: out for s, (out, _) in results.items()}


class EngineFailed(EngineError):
    """The engine ran and failed; `outcome` holds what it reported before failing."""

    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome = outcome


def _explain(stack: str, operation: str, exc: Exception, outcome: Outcome) -> str:
    mandatory = [p for p in outcome.policy_violations if p["level"] == "mandatory"]
    if mandatory:
        lines = [f"  [{p['policy']}] {p['message'].splitlines()[0]}  ({p['urn'].split('::')[-1]})"
                 for p in mandatory]
        return (f"stack {stack}: {operation} refused by {len(mandatory)} mandatory policy "
                "violation(s); nothing was applied:\n" + "\n".join(lines))
    text = str(exc)
    if "passphrase" in text and "incorrect" in text:
        return (f"stack {stack}: the secrets passphrase does not decrypt the stack file's "
                "`secure:` values (PULUMI_CONFIG_PASSPHRASE is wrong for this stack).")
    errors = [d for d in outcome.diagnostics if d] or [
        line for line in text.splitlines() if "error" in line.lower()][-5:]
    detail = "\n".join(f"  {e.splitlines()[0][:400]}" for e in errors[-8:]) or text[-1500:]
    return (f"stack {stack}: {operation} failed. The engine said:\n{detail}\n"
            f"State is kept in {state_dir()}; fix the cause and run `govcloud {operation} "
            f"--stack {stack}` again: it resumes from what was applied.")


def stacks_with_state() -> list[str]:
    """Stacks that have state in this clone's backend."""
    root = state_dir() / ".pulumi" / "stacks" / PROJECT
    if not root.is_dir():
        return []
    return sorted(p.name.split(".")[0] for p in root.iterdir() if p.suffix == ".json"
                  or p.name.endswith(".json.gz"))
