#!/usr/bin/env python3
"""Benchmark: the real Pulumi engine against `kubectl apply --server-side`, as the estate grows.

For each estate (the sample, then synthetic estates of N departments written by
`plan_bench.write_estate`, so they pass the real loader and every rule) and one site
stack (default region-a-dc2, the sample's smallest):

1. per checkpoint mode (`--checkpoints`, default both: "step", the engine's default,
   saves the state after every step; "end" saves it once, PULUMI_SKIP_CHECKPOINTS): a
   fresh control plane (`govcloud cluster up`, its own engine dir), the claims' volumes;
   `govcloud up` of the stack, timed (the provider waits for every rollout); an `up`
   still running after --budget seconds gets SIGINT (the engine's graceful stop) and
   is reported as a lower bound with the rate it had reached;
2. after the "step" up, the same `up` again: the no-op;
3. a second fresh control plane; the manifests the offline plan rendered, applied with
   the kubectl built from the same Kubernetes pins (`kubectl apply --server-side`,
   namespaces first), then waited on with `kubectl rollout status` for every
   Deployment and StatefulSet (what the provider's await does), timed;
4. the same apply again: kubectl's no-op.

Printed per estate: resources, seconds, resources/s and the ratios engine/kubectl and
step/end (what the per-step checkpoints cost).
Targets: first apply <= 2x kubectl; no-op <= 1x kubectl. Everything runs on loopback,
bounded by the estate's size; control planes are removed at the end.

    .venv/bin/python bench/engine_bench.py [--sizes sample,30,100] [--systems 2] [--stack S]
                                           [--budget 900] [--checkpoints step,end]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from plan_bench import write_estate  # noqa: E402

from govcloud.engine import cluster  # noqa: E402
from govcloud.engine import stacks as engine  # noqa: E402
from govcloud.plan import plan_stack  # noqa: E402

KIND_ORDER = ["Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "Secret",
              "NetworkPolicy", "Service", "PersistentVolumeClaim"]


def _fresh(stack: str) -> str:
    cluster.down(log=lambda _m: None)
    cluster.up([stack], log=lambda _m: None)
    return cluster.site_contexts()[stack]


def _kubectl_apply(context: str, manifests: list[dict]) -> float:
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    ordered = sorted(manifests, key=lambda m: order.get(m["kind"], len(order)))
    t0 = time.perf_counter()
    cluster.kubectl(context, "apply", "--server-side", "--field-manager=bench", "-f", "-",
                    stdin="\n---\n".join(json.dumps(m) for m in ordered), timeout=3600)
    for m in manifests:
        if m["kind"] in ("Deployment", "StatefulSet"):
            cluster.kubectl(context, "rollout", "status", f"{m['kind'].lower()}/"
                            f"{m['metadata']['name']}", "-n", m["metadata"]["namespace"],
                            "--timeout=600s", timeout=700)
    return time.perf_counter() - t0


def _interrupt_engine() -> None:
    """SIGINT to the Pulumi CLI this process started: it finishes the steps in flight,
    saves its state and stops (the engine's own graceful cancel)."""
    me = str(os.getpid())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        if comm == "pulumi" and rest.split()[1] == me:
            os.kill(int(proc.name), signal.SIGINT)


def _bounded_up(stack: str, estate: Path | None, budget: float,
                checkpoints: str) -> tuple[float, int, bool]:
    """The first `up`, stopped at `budget` seconds: (seconds, resources created, finished)."""
    created = 0

    def count(line: str) -> None:
        nonlocal created
        if " created (" in line:
            created += 1

    stopped = threading.Event()

    def stop() -> None:
        stopped.set()
        _interrupt_engine()

    timer = threading.Timer(budget, stop)
    timer.start()
    t0 = time.perf_counter()
    try:
        out = engine.run(stack, "up", estate=estate, on_output=count, checkpoints=checkpoints)
        return out.seconds, out.summary.get("create", created), True
    except engine.EngineFailed:
        if not stopped.is_set():
            raise  # a failure, not the budget: the size is reported as failed, not as a bound
        return time.perf_counter() - t0, created, False
    finally:
        timer.cancel()


def measure(label: str, stack: str, estate: Path | None, budget: float,
            modes: list[str]) -> dict:
    plan = plan_stack(stack, estate)
    manifests = plan.manifests
    row = {"estate": label, "resources": len(plan.resources), "objects": len(manifests),
           "noop": float("nan")}
    state = os.environ["GOVCLOUD_ENGINE_STATE"]
    for mode in modes:
        os.environ["GOVCLOUD_ENGINE_STATE"] = f"{state}-{mode}"
        _fresh(stack)
        up_s, created, finished = _bounded_up(stack, estate, budget, mode)
        row[mode] = {"up": up_s, "created": created, "finished": finished}
        if finished and mode == "step":
            noop = engine.run(stack, "up", estate=estate, on_output=None)
            assert noop.changed() == 0, noop.summary
            row["noop"] = noop.seconds
    ctx = _fresh(stack)
    cluster.ensure_volumes(stack, manifests)
    row["k_first"] = _kubectl_apply(ctx, manifests)
    t0 = time.perf_counter()
    cluster.kubectl(ctx, "apply", "--server-side", "--field-manager=bench", "-f", "-",
                    stdin="\n---\n".join(json.dumps(m) for m in manifests), timeout=3600)
    row["k_noop"] = time.perf_counter() - t0
    return row


def _up_cells(row: dict, mode: str) -> tuple[str, str, str]:
    """(seconds, resources/s, ratio to kubectl); a lower bound when stopped at the budget."""
    r = row[mode]
    if r["finished"]:
        return (f"{r['up']:.1f}", f"{row['resources'] / r['up']:.1f}",
                f"{r['up'] / row['k_first']:.2f}x")
    return (f"> {r['up']:.0f} ({r['created']} done)", f"{r['created'] / r['up']:.1f}",
            f"> {r['up'] / row['k_first']:.1f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="sample,30,100",
                    help="'sample' and/or numbers of departments (comma list)")
    ap.add_argument("--systems", type=int, default=2, help="systems per synthetic department")
    ap.add_argument("--stack", default="region-a-dc2", help="the sample's smallest stack")
    ap.add_argument("--budget", type=float, default=900,
                    help="seconds one engine `up` may take before it is interrupted (SIGINT)")
    ap.add_argument("--checkpoints", default="step,end",
                    help="checkpoint modes to time the first up in (comma list of "
                         f"{', '.join(engine.CHECKPOINTS)})")
    args = ap.parse_args()
    modes = args.checkpoints.split(",")
    if not modes or any(m not in engine.CHECKPOINTS for m in modes):
        ap.error(f"--checkpoints: a comma list of {', '.join(engine.CHECKPOINTS)}")
    os.environ.setdefault("PULUMI_CONFIG_PASSPHRASE", "govcloud-sample-only")
    scratch = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    os.environ["GOVCLOUD_ENGINE_DIR"] = str(scratch / "engine")
    rows: list[dict] = []
    failed: list[tuple[str, str]] = []
    try:
        for size in args.sizes.split(","):
            os.environ["GOVCLOUD_ENGINE_STATE"] = str(scratch / f"state-{size}")
            label = "sample" if size == "sample" else f"N={size}"
            estate = None
            if size != "sample":
                estate = scratch / f"estate-{size}"
                write_estate(estate, int(size), args.systems)
            try:
                rows.append(measure(label, args.stack, estate, args.budget, modes))
            except (engine.EngineError, cluster.ClusterError) as exc:
                # a size the control plane refuses is a finding: a table row, not a traceback
                reason = str(exc).strip().splitlines()
                failed.append((label, next((x for x in reason if "rror" in x), reason[0])))
                print(f"{label}: failed: {failed[-1][1][:300]}", flush=True)
                continue
            r = rows[-1]
            ups = ", ".join(f"up ({m}) {_up_cells(r, m)[0]} s" for m in modes)
            print(f"{r['estate']}: {r['resources']} resources, {ups}, "
                  f"kubectl {r['k_first']:.1f} s", flush=True)
    finally:
        cluster.down(log=lambda _m: None)
    print(f"\nstack {args.stack}; engine = `govcloud up --checkpoints MODE` (Pulumi "
          f"{engine.v.PULUMI}, provider {engine.v.PROVIDER}); kubectl = apply --server-side "
          f"+ rollout status\n")
    cols = ["estate", "resources", "k8s objects"]
    for m in modes:
        cols += [f"up ({m}) s", f"res/s ({m})", f"{m}/kubectl"]
    if set(modes) >= {"step", "end"}:
        cols.append("step/end")
    cols += ["kubectl s", "no-op up s", "no-op kubectl s", "no-op ratio"]
    print("| " + " | ".join(cols) + " |")
    print("|---" * len(cols) + "|")
    for r in rows:
        cells = [r["estate"], str(r["resources"]), str(r["objects"])]
        for m in modes:
            cells += list(_up_cells(r, m))
        if set(modes) >= {"step", "end"}:
            step, end = r["step"], r["end"]
            both = step["finished"] and end["finished"]
            cells.append(f"{'' if both else '> '}{step['up'] / end['up']:.2f}x"
                         if end["finished"] else "-")
        noop_ok = r["noop"] == r["noop"]  # not NaN: the step up finished
        cells += [f"{r['k_first']:.1f}", f"{r['noop']:.1f}" if noop_ok else "-",
                  f"{r['k_noop']:.1f}", f"{r['noop'] / r['k_noop']:.2f}x" if noop_ok else "-"]
        print("| " + " | ".join(cells) + " |")
    for label, reason in failed:
        print(f"| {label} | failed: {reason[:200]} |")
    print(f"\ntargets: first up <= 2.00x kubectl; no-op <= 1.00x kubectl; an up stopped at "
          f"--budget {args.budget:.0f} s is shown as a lower bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
