#!/usr/bin/env python3
"""Time tenant admission and the usage report; prints figures (never asserted in tests).

    .venv/bin/python bench/tenants_admission.py [--repeat N]

Figures: admission of the estate (what every stack plan pays once through
``systems_for_stacks``), admission of the estate plus the sample requests, the usage
export parse + metering + idle detection, and the full report with charts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from govcloud.model import load_estate  # noqa: E402
from govcloud.tenants import admit_estate, admit_files  # noqa: E402
from govcloud.tenants.report import build_report, write_report  # noqa: E402


def timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    print(f"{label:<48} median {statistics.median(runs) * 1000:8.1f} ms "
          f"(min {min(runs) * 1000:.1f}, n={repeat})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    n = parser.parse_args().repeat
    estate = load_estate()
    requests = sorted((REPO / "requests").glob("*.yaml"))
    usage = REPO / "usage" / "sample-2026-07-to-10.csv"
    today = dt.date(2026, 9, 30)
    print(f"estate: {len(estate.departments)} departments, {len(estate.systems())} systems; "
          f"{len(requests)} sample requests; usage {usage.stat().st_size // 1024} KiB")
    timed("admission, estate only", lambda: admit_estate(estate), n)
    timed("admission, estate + sample requests", lambda: admit_files(estate, requests,
                                                                     today=today), n)
    timed("usage parse + metering + idle (no charts)", lambda: build_report(estate, usage), n)
    with tempfile.TemporaryDirectory() as out:
        report = build_report(estate, usage)
        timed("report with charts (15 PNG, MD, HTML)", lambda: write_report(report, out),
              max(1, n // 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
