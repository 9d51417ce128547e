#!/usr/bin/env python3
"""Generate the sample usage export ``usage/sample-2026-07-to-10.csv`` (seeded, reproducible).

Run ``.venv/bin/python usage/generate.py`` from the repository root; the same seed and
estate give byte-identical output (a test checks the committed file against it).

What it models, from the estate's own lifecycle records (nothing is declared twice):
- a system has rows only on days it held resources: from its test date (or provisioned
  date) on; a system still in testing stops when its test resources expire (policy's
  ``test_period_days``); applied/reviewed systems hold nothing and have no rows;
- working-day peaks and quieter weekends, a per-system base load and day-to-day noise;
- a few zombies that went quiet and stayed quiet (``IDLE``), and two near-misses that
  the idle rule must NOT flag (quiet for too short a time; quiet CPU but weekly
  network bursts from a batch transfer).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govcloud.model import LifecycleState, load_estate  # noqa: E402
from govcloud.tenants.policy import load_policy  # noqa: E402
from govcloud.tenants.usage import COLUMNS  # noqa: E402

SEED = 20261031
START = dt.date(2026, 7, 1)
END = dt.date(2026, 10, 31)
OUT = REPO / "usage" / "sample-2026-07-to-10.csv"

# (department, system) -> first quiet day: the system is still running but unused.
IDLE = {
    ("natural-resources", "survey-archive"): dt.date(2026, 8, 17),
    ("education", "edu-resources"): dt.date(2026, 9, 7),
    ("hrss", "pension-query"): dt.date(2026, 9, 21),
}
# Quiet for only 20 days at the end of the export: not idle under a 30-day window.
SHORT_QUIET = {("cyberspace", "public-opinion"): dt.date(2026, 10, 12)}
# Quiet CPU, but a nightly archive transfer every Sunday lifts network above 1 %.
BATCH_ONLY = {("hrss", "hr-archive")}


def days(start: dt.date, end: dt.date):
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def running_span(system, test_period_days: int) -> tuple[dt.date, dt.date] | None:
    lc = system.lifecycle
    first = lc.testing or lc.provisioned
    if first is None:
        return None
    if lc.state == LifecycleState.TESTING:
        last = lc.testing + dt.timedelta(days=test_period_days - 1)
    elif lc.state == LifecycleState.RECLAIMED and lc.reclaimed:
        last = lc.reclaimed - dt.timedelta(days=1)
    else:
        last = END
    return max(first, START), min(last, END)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT.name}")
    out = args.parse_args(argv).out
    estate = load_estate(REPO / "estate")
    policy = load_policy(REPO / "estate")
    rng = random.Random(SEED)
    rows = []
    for dept, system in estate.systems():
        key = (dept.name, system.name)
        base_cpu = rng.uniform(12, 55)
        base_mem = rng.uniform(35, 75)
        base_net = rng.uniform(3, 25)
        span = running_span(system, policy.test_period_days)
        if span is None or span[0] > span[1]:
            continue
        for d in days(*span):
            weekday = d.weekday() < 5
            load = (1.0 if weekday else 0.55) * rng.uniform(0.8, 1.2)
            cpu = base_cpu * load
            mem = base_mem * rng.uniform(0.93, 1.07)
            net = base_net * load
            quiet_from = IDLE.get(key) or SHORT_QUIET.get(key)
            if quiet_from and d >= quiet_from:
                cpu = rng.uniform(0.6, 3.8)
                mem = base_mem * 0.6 * rng.uniform(0.95, 1.05)
                net = rng.uniform(0.05, 0.7)
            if key in BATCH_ONLY:
                cpu = rng.uniform(1.0, 4.2)
                net = rng.uniform(2.5, 6.0) if d.weekday() == 6 else rng.uniform(0.1, 0.6)
            rows.append(
                (d.isoformat(), dept.name, system.name,
                 f"{min(cpu, 100):.1f}", f"{min(mem, 100):.1f}", f"{min(net, 100):.1f}")
            )
    rows.sort()
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    print(f"wrote {out}: {len(rows)} rows, "
          f"{len({(r[1], r[2]) for r in rows})} systems, {START} to {END}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
