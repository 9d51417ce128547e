#!/usr/bin/env python3
"""Benchmark: the offline plan against the bare Pulumi SDK floor, as the estate grows.

For each N (default 30, 100, 300 departments of 10 systems each) a synthetic estate is
written as YAML into a temporary directory (so it goes through the real loader and
every validation rule), all three site stacks are planned with ``plan_stack`` (the real
stack program under Pulumi's mock runtime), and every manifest is schema-validated.

The floor, measured in the same process right after: the bare Pulumi SDK under the
same mock runtime (``govcloud.plan.run_program``) registering the same number of
resources — the same types, names and property dicts, replayed as plain
``pulumi.CustomResource`` calls with no model, no components and no pulumi-kubernetes
classes. ratio = plan seconds / floor seconds.

Targets: ms/resource flat within +-30 % from N=30 to N=300; plan at N=300 within 1.3x
the floor. Wall seconds are printed with CPU seconds beside them, because the machine
is shared and wall time moves with other people's load; ``load`` is the machine's
5-minute load average when the row finished.

    .venv/bin/python bench/plan_bench.py [--sizes 30,100,300] [--systems 10]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govcloud.model import DEFAULT_ESTATE, load_estate  # noqa: E402
from govcloud.model.schema import stand_in_image  # noqa: E402
from govcloud.plan import plan_stack, run_program, stack_names  # noqa: E402
from govcloud.plan.schema import validate_manifest  # noqa: E402

TIERS = ["dual-active", "warm-standby", "backup-only"]


def _system(d: int, i: int) -> dict:
    """A small but realistic system: a web front end or API, and sometimes a database."""
    # small sizes so that every system of N=300 is admitted (admission refuses what the
    # sites cannot hold, which would cap the resource count instead of growing it)
    components = [{"name": "api", "kind": "api", "zone": "extranet", "replicas": 2,
                   "cpu": "100m", "memory": "256Mi"}]
    if i % 3 == 0:
        components.insert(0, {"name": "web", "kind": "web", "zone": "internet", "replicas": 2,
                              "cpu": "100m", "memory": "128Mi", "port": 8443})
    if i % 2 == 0:
        components.append({"name": "db", "kind": "database", "zone": "extranet",
                           "replicas": 2, "cpu": "200m", "memory": "512Mi", "storage": "2Gi",
                           "port": 5432})
    if i % 5 == 4:
        components.append({"name": "gw", "kind": "api", "zone": "dedicated", "replicas": 1,
                           "cpu": "100m", "memory": "128Mi"})
    return {
        "name": f"sys-{i:02d}",
        "title": f"系统 {d}-{i}",
        "mlps_level": 3 if i % 2 else 2,
        "dr_tier": TIERS[i % 3],
        "wave": 1 + i % 3,
        "owner": {"name": "张三", "phone": "0571-80000000", "email": f"s{i}.d{d}@gov.example.cn"},
        "components": components,
        "lifecycle": {"state": "provisioned", "applied": "2026-01-05", "reviewed": "2026-01-10",
                      "testing": "2026-01-15", "provisioned": "2026-01-20"},
    }


def write_estate(root: Path, departments: int, systems: int) -> None:
    # everything but the departments comes from the sample estate, as it is today
    shutil.copytree(DEFAULT_ESTATE, root, ignore=shutil.ignore_patterns("departments"))
    (root / "departments").mkdir()
    for d in range(departments):
        name = f"dept-{d:03d}"
        doc = {
            "name": name,
            "title": f"委办局 {d}",
            "groups": {"admins": f"{name}-admins", "auditors": f"{name}-auditors"},
            "contact": {"name": "李四", "phone": "0571-80000001",
                        "email": f"{name}@gov.example.cn"},
            "systems": [_system(d, i) for i in range(systems)],
        }
        for system in doc["systems"]:
            for c in system["components"]:
                c["image"] = stand_in_image(f"{name}/{system['name']}/{c['name']}")
        (root / "departments" / f"{name}.yaml").write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _timed(fn):  # type: ignore[no-untyped-def]
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def floor(stacks: dict[str, list[tuple[str, str, dict]]]) -> int:
    """Replay each stack's resources as bare CustomResources, one mock run per stack."""
    import pulumi

    count = 0
    for stack, items in stacks.items():
        def program(items: list[tuple[str, str, dict]] = items) -> None:
            for typ, name, props in items:
                pulumi.CustomResource(typ, name, props)

        resources, _ = run_program(f"floor-{stack}", program)
        count += len(resources)
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="30,100,300", help="departments per run (comma list)")
    ap.add_argument("--systems", type=int, default=10, help="systems per department")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    # warm up imports and schema caches so the first row does not pay for them
    plan_stack(stack_names()[0])

    rows = []
    header = (f"{'N':>4} {'systems':>7} {'resources':>9} {'plan s':>8} {'cpu s':>7} "
              f"{'ms/res':>7} {'cpu ms/res':>10} {'floor s':>8} {'floor cpu':>9} "
              f"{'ratio':>6} {'cpu ratio':>9} {'schema s':>8} {'load':>5}")
    print(header, flush=True)
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"govcloud-bench-{n}-") as tmp:
            root = Path(tmp) / "estate"
            write_estate(root, n, args.systems)
            estate = load_estate(root)  # fail fast (and show the problems) if invalid
            plans, wall, cpu = _timed(
                lambda root=root: [plan_stack(s, estate_root=root) for s in stack_names()])
            items = {p.stack: [(r.type, r.name, r.props) for r in p.resources] for p in plans}
            count = sum(len(v) for v in items.values())
            admitted = sum(1 for _ in {s for p in plans for s in p.outputs["systems"]})
            _, s_wall, _ = _timed(lambda plans=plans: [
                validate_manifest(m, "1.30") for p in plans for m in p.manifests])
            del plans
            got, f_wall, f_cpu = _timed(lambda items=items: floor(items))
            assert got == count, (got, count)
            assert admitted == len(estate.systems()), (admitted, len(estate.systems()))
            row = (n, len(estate.systems()), count, wall, cpu, 1000 * wall / count,
                   1000 * cpu / count, f_wall, f_cpu, wall / f_wall, cpu / f_cpu, s_wall,
                   os.getloadavg()[1])
            rows.append(row)
            print(f"{row[0]:>4} {row[1]:>7} {row[2]:>9} {row[3]:>8.1f} {row[4]:>7.1f} "
                  f"{row[5]:>7.2f} {row[6]:>10.2f} {row[7]:>8.1f} {row[8]:>9.1f} "
                  f"{row[9]:>6.2f} {row[10]:>9.2f} {row[11]:>8.1f} {row[12]:>5.1f}", flush=True)
    if len(rows) > 1:
        base, last = rows[0], rows[-1]
        drift = (last[5] / base[5] - 1) * 100
        cpu_drift = (last[6] / base[6] - 1) * 100
        print(f"ms/resource N={base[0]} -> N={last[0]}: {drift:+.0f} % wall, "
              f"{cpu_drift:+.0f} % cpu (target within +-30 %)")
    print(f"plan/floor at N={rows[-1][0]}: {rows[-1][9]:.2f}x wall, {rows[-1][10]:.2f}x cpu "
          "(target <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
