"""Usage exports (per system per day) and idle ("zombie") detection.

The export is the monitoring system's daily roll-up, one CSV row per system per day::

    date,department,system,cpu_p95_pct,memory_pct,network_pct

``cpu_p95_pct``: 95th percentile of CPU use over the day, as a percentage of the
system's vCPU quota; ``memory_pct``: average memory in use, percent of its quota;
``network_pct``: average throughput, percent of its network allowance. Every row is
checked (date, known department/system, 0–100 values, no duplicates); problems name
the file, the line and column, and the rule, like any estate error.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from govcloud.model import Estate, EstateError, Problem
from govcloud.tenants.policy import IdleThresholds

COLUMNS = ("date", "department", "system", "cpu_p95_pct", "memory_pct", "network_pct")
_PCT = ("cpu_p95_pct", "memory_pct", "network_pct")


@dataclass(frozen=True)
class Day:
    date: dt.date
    cpu_p95_pct: Decimal
    memory_pct: Decimal
    network_pct: Decimal


@dataclass
class Usage:
    """The export, by (department, system), each series sorted by date."""

    source: str
    series: dict[tuple[str, str], list[Day]]

    @property
    def start(self) -> dt.date:
        return min(days[0].date for days in self.series.values())

    @property
    def end(self) -> dt.date:
        return max(days[-1].date for days in self.series.values())


def load_usage(path: Path | str, estate: Estate) -> Usage:
    """Parse and check a usage export; raise :class:`EstateError` with every problem."""
    path = Path(path)
    src = str(path)
    problems: list[Problem] = []
    known = {(d.name, s.name) for d, s in estate.systems()}
    series: dict[tuple[str, str], list[Day]] = defaultdict(list)
    seen: set[tuple[dt.date, str, str]] = set()
    try:
        fh = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise EstateError([Problem(src, "", "missing-file", str(exc.strerror or exc))]) from exc
    with fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise EstateError(
                [
                    Problem(
                        src,
                        "line 1",
                        "usage-format",
                        f"header must be {','.join(COLUMNS)}, "
                        f"not {','.join(reader.fieldnames or ['(empty)'])}",
                    )
                ]
            )
        for n, row in enumerate(reader, start=2):
            where = f"line {n}"
            if None in row or any(v is None for v in row.values()):
                problems.append(
                    Problem(src, where, "usage-format", f"expected {len(COLUMNS)} columns")
                )
                continue
            try:
                date = dt.date.fromisoformat(row["date"])
            except ValueError:
                problems.append(
                    Problem(src, f"{where}.date", "usage-format",
                            f"not a date (YYYY-MM-DD): {row['date']!r}")
                )
                continue
            key = (row["department"], row["system"])
            if key not in known:
                problems.append(
                    Problem(src, f"{where}.system", "usage-unknown-system",
                            f"{key[0]}/{key[1]} is not a system of the estate")
                )
                continue
            values: dict[str, Decimal] = {}
            for col in _PCT:
                try:
                    v = Decimal(row[col])
                except InvalidOperation:
                    v = Decimal(-1)
                if not v.is_finite() or not 0 <= v <= 100:
                    problems.append(
                        Problem(src, f"{where}.{col}", "usage-value",
                                f"{col} must be a percentage 0-100, not {row[col]!r}")
                    )
                values[col] = v
            if (date, *key) in seen:
                problems.append(
                    Problem(src, where, "usage-duplicate",
                            f"{key[0]}/{key[1]} has two rows for {date}")
                )
                continue
            seen.add((date, *key))
            series[key].append(Day(date, **values))
    if not series and not problems:
        problems.append(Problem(src, "", "usage-format", "the export has no rows"))
    if problems:
        raise EstateError(problems)
    for days in series.values():
        days.sort(key=lambda d: d.date)
    return Usage(src, dict(series))


@dataclass(frozen=True)
class IdleFinding:
    department: str
    system: str
    idle: bool
    idle_since: dt.date | None  # first day of the trailing below-threshold run
    idle_days: int  # length of that run
    window_cpu_p95_max: Decimal | None
    window_network_max: Decimal | None
    covered: bool  # the export has every day of the window for this system


def idle_findings(usage: Usage, thresholds: IdleThresholds) -> list[IdleFinding]:
    """Judge every system in the export over the window ending at the export's last day.

    Idle = a row for each of the last ``window_days`` days and, on every one of them,
    CPU p95 below ``cpu_p95_pct_below`` and network below ``network_pct_below``. A
    system with a gap in the window is not called idle (no data is not no use).
    """
    end = usage.end
    start = end - dt.timedelta(days=thresholds.window_days - 1)
    out = []
    for (dept, system), days in sorted(usage.series.items()):
        window = [d for d in days if start <= d.date <= end]
        covered = len(window) == thresholds.window_days

        def quiet(d: Day) -> bool:
            return (
                d.cpu_p95_pct < thresholds.cpu_p95_pct_below
                and d.network_pct < thresholds.network_pct_below
            )

        run: list[Day] = []
        for d in reversed(days):
            expected = end - dt.timedelta(days=len(run))
            if d.date != expected or not quiet(d):
                break
            run.append(d)
        idle = covered and len(run) >= thresholds.window_days
        out.append(
            IdleFinding(
                department=dept,
                system=system,
                idle=idle,
                idle_since=run[-1].date if run else None,
                idle_days=len(run),
                window_cpu_p95_max=max((d.cpu_p95_pct for d in window), default=None),
                window_network_max=max((d.network_pct for d in window), default=None),
                covered=covered,
            )
        )
    return out
