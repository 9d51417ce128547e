"""The drill runner: preconditions, load, fault, steps, measurement, report.

``run_drill(runbook, lab)`` executes one runbook against a running lab:

1. bring the lab to the runbook's ``preconditions`` (:mod:`govcloud.drills.state`);
2. run the ``precondition`` checks, then the drill and recovery steps in file order,
   timing each one (``load`` starts/stops the citizens' client, ``fault`` cuts or heals
   sites through the lab API, ``dns`` repoints a service name, ``decision`` polls the
   evidence an operator decides on);
3. run the ``verify`` steps; collect every acknowledged write and look each one up in
   the database that is primary after recovery;
4. compute RTO / write pause / RPO (:mod:`govcloud.drills.metrics`) against the targets
   of the system's DR tier in the model, and the GB/T 20988 level attained.

Rollback steps are documented in the runbook and listed in the report, never run
automatically: undoing a failover is a decision for a person.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from govcloud import datatier
from govcloud.drills.labio import LabIO
from govcloud.drills.metrics import Attempt
from govcloud.drills.peak import PeakFigures
from govcloud.drills.runbook import Phase, Runbook, Step, StepKind

SERVICE = "hotline"


@dataclass
class StepResult:
    id: str
    kind: str
    phase: str
    host: str | None
    title: str
    start: float
    end: float
    ok: bool
    attempts: int = 1
    output: str = ""

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class DrillRun:
    """Everything measured in one drill; :mod:`govcloud.drills.report` turns it into files."""

    runbook: str
    title: str
    targets: str
    run_id: str
    lab: str
    started: float
    steps: list[StepResult] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    fault_at: float | None = None
    change_at: float | None = None
    load_start: float | None = None
    load_stop: float | None = None
    checked_on: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    preconditions_seconds: float = 0.0
    error: str | None = None
    # the month-end batch started with the load (run_drill(..., peak=...)), and its figures
    peak_batch: Any = None
    peak: PeakFigures | None = None
    # region B's replay lag over the drill, as the monitoring recorded it: [(time, s)]
    lag_curve: list[tuple[float, float]] = field(default_factory=list)
    backlog_curve: list[tuple[float, float]] = field(default_factory=list)  # bytes / link
    lag_curve_from: str | None = None

    def step_dict(self) -> list[dict[str, Any]]:
        return [{**asdict(s), "seconds": round(s.seconds, 3)} for s in self.steps]


class DrillFailed(RuntimeError):
    pass


def run_drill(
    runbook: Runbook,
    lab: Any,
    workdir: Path,
    say: Callable[[str], None] = print,
    ensure: bool = True,
    load_opts: dict[str, Any] | None = None,
    peak: Any = None,
) -> DrillRun:
    """Execute ``runbook`` on ``lab``; return the measurements (also on step failure).

    ``peak`` (the model's ``PeakLoad``): its batch runs on region A's primary from the
    moment the load starts, so the fault hits while the batch is writing."""
    from govcloud.drills import state

    io = LabIO(lab)
    run = DrillRun(
        runbook=runbook.path,
        title=runbook.title,
        targets=str(runbook.targets),
        run_id=f"d{uuid.uuid4().hex[:8]}",
        lab=lab.name,
        started=time.time(),
        peak_batch=peak.batch if peak is not None else None,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    if ensure:
        t0 = time.time()
        say(f"preconditions: {runbook.preconditions}")
        state.ensure(io, runbook.preconditions, say=say)
        run.preconditions_seconds = time.time() - t0
    run.settings = state.settings(io)
    load_file = workdir / f"{run.run_id}-load.jsonl"
    load = None
    try:
        for step in runbook.steps:
            if step.phase == Phase.ROLLBACK:
                continue
            res, load = _execute(step, io, run, load, load_file, say, load_opts or {})
            run.steps.append(res)
            mark = "ok " if res.ok else "FAIL"
            say(
                f"  [{mark}] {step.id:<24} {res.seconds:6.1f}s  {step.kind}"
                + (f"@{step.host}" if step.host else "")
            )
            if not res.ok:
                raise DrillFailed(f"step {step.id} failed: {res.output[-400:]}")
    except DrillFailed as exc:
        run.error = str(exc)
    finally:
        if load is not None:
            _stop_load(load, run)
    run.attempts = _read_attempts(load_file)
    run.present, run.checked_on = _present(io, run)
    curves, run.lag_curve_from = _lag_curves(io, run)
    run.lag_curve, run.backlog_curve = curves
    return run


# Prometheus's range API on the monitoring host's loopback (roles/monitoring)
_RANGE = ("import json, sys, urllib.parse, urllib.request\n"
          "q = urllib.parse.urlencode({'query': sys.argv[1], 'start': sys.argv[2], "
          "'end': sys.argv[3], 'step': '1'})\n"
          "print(urllib.request.urlopen('http://127.0.0.1:9090/api/v1/query_range?' + q, "
          "timeout=10).read().decode())\n")


def _lag_curves(io: LabIO, run: DrillRun) -> tuple[tuple[list, list], str | None]:
    """Region B's replay lag and the backlog's time on the link over the load window,
    from the first monitoring host that has them (region A's first: it scrapes its own
    site's primary even while cut off)."""
    import shlex

    from roles import monitoring

    if run.load_start is None:
        return ([], []), None
    start, end = run.load_start - 10, (run.load_stop or time.time()) + 5

    def series(host: str, query: str) -> list[tuple[float, float]]:
        r = io.run(host, f"python3 -c {shlex.quote(_RANGE)} {shlex.quote(query)} "
                         f"{start:.0f} {end:.0f}", timeout=30)
        try:
            result = json.loads(r.out)["data"]["result"] if r.rc == 0 else []
        except (ValueError, KeyError):
            result = []
        return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []

    for h in io.topo.with_role("monitoring"):
        lag = series(h.name, monitoring.LAG_SERIES)
        if lag:
            return (lag, series(h.name, monitoring.BACKLOG_SERIES)), h.name
    return ([], []), None


def _execute(
    step: Step,
    io: LabIO,
    run: DrillRun,
    load: Any,
    load_file: Path,
    say: Callable[[str], None],
    load_opts: dict[str, Any],
) -> tuple[StepResult, Any]:
    start = time.time()
    res = StepResult(
        step.id, str(step.kind), str(step.phase), step.host, step.title, start, start, True
    )
    if step.marks == "change":
        run.change_at = start
    if step.kind == StepKind.LOAD:
        if step.commands == ["start"]:
            if load is None:
                load = io.start_load(SERVICE, load_file, run.run_id, **load_opts)
                run.load_start = time.time()
                if run.peak_batch is not None and run.peak is None:
                    run.peak = _start_peak(io, run.peak_batch, say)
        elif load is not None:
            _stop_load(load, run)
            load = None
    elif step.kind == StepKind.PAUSE:
        time.sleep(step.timeout)
    elif step.kind == StepKind.FAULT:
        if step.marks == "fault" and run.fault_at is None and run.peak is not None:
            _sample_peak_at_cut(io, run.peak)
        for cmd in step.commands:
            verb, site = cmd.split(None, 1)
            (io.cut if verb == "cut" else io.heal)(site.strip())
            if step.marks == "fault" and run.fault_at is None:
                # the RTO origin is when the first cut is in force (its drop rules are
                # installed), not when we asked for it: writes acknowledged in between
                # went through before the fault
                run.fault_at = time.time()
    elif step.kind == StepKind.DNS:
        for cmd in step.commands:
            _, service, site = cmd.split()
            io.repoint(service, site)
    else:
        cmd = io.render(step.body)
        once = step.kind in (StepKind.CHECK, StepKind.EXEC)
        deadline = start + step.timeout
        n = 0
        while True:
            n += 1
            left = max(1.0, deadline - time.time())
            r = io.run(step.host or "", cmd, timeout=left)
            res.output = (r.out + r.err)[-2000:]
            if r.rc == 0:
                res.ok = True
                break
            res.ok = False
            if once or time.time() + step.interval > deadline:
                break
            time.sleep(step.interval)
        res.attempts = n
    res.end = time.time()
    return res, load


def _start_peak(io: LabIO, batch: Any, say: Callable[[str], None]) -> PeakFigures:
    """Start the batch on region A's primary in the background; note where WAL stood."""
    import threading

    from govcloud.drills import peak

    tier = datatier.layout(io.estate, io.topo.hosts)
    primary = next((m for m in tier.primary_region_members
                    if io.run(m.name, "patroni-check primary", timeout=10).rc == 0), None)
    if primary is None:
        raise DrillFailed("peak load: region A has no primary to run the batch on")
    link = tier.offsite_links(io.estate, primary.site)[0]
    fig = PeakFigures(batch.megabytes, primary.name, float(link.bandwidth))
    fig.lsn_start = io.psql(primary.name, "SELECT pg_current_wal_lsn()").out.strip()
    fig.started = time.time()

    def write() -> None:
        r = io.psql(primary.name, peak.batch_sql(batch), timeout=batch.max_seconds + 30)
        if r.rc != 0:
            fig.batch_error = (r.err or r.out).strip()[-300:]

    threading.Thread(target=write, daemon=True, name="peak-batch").start()
    say(f"  peak load: {batch.megabytes} MB batch on {primary.name} (link {link.name} "
        f"{link.bandwidth} Mbit/s)")
    return fig


def _sample_peak_at_cut(io: LabIO, fig: PeakFigures) -> None:
    """WAL written since the batch started, and region B's backlog, just before the cut."""
    from govcloud.drills import peak

    tier = datatier.layout(io.estate, io.topo.hosts)
    now = time.time()
    wal = io.psql(fig.primary, f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), "
                               f"'{fig.lsn_start}')").out.strip()
    lag = io.psql(fig.primary, peak.lag_sql([m.name for m in tier.dr_members])).out.strip()
    fig.seconds_to_cut = now - (fig.started or now)
    fig.wal_bytes_to_cut = float(wal) if wal else None
    if "|" in lag:
        secs, nbytes = lag.split("|")
        fig.lag_seconds_at_cut, fig.lag_bytes_at_cut = float(secs), float(nbytes)


def _stop_load(proc: Any, run: DrillRun) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except Exception:
            proc.kill()
            proc.wait(timeout=5)
    run.load_stop = time.time()


def _read_attempts(path: Path) -> list[Attempt]:
    out = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue  # a line cut short by the client's termination
        out.append(Attempt(d["req"], d["sent"], d["done"], d["ok"], d.get("seq"), d.get("err")))
    return out


def _present(io: LabIO, run: DrillRun) -> tuple[set[str], str | None]:
    """Request ids of this run found in the database that is primary now."""
    tier = datatier.layout(io.estate, io.topo.hosts)
    for member in tier.primary_region_members + tier.dr_members:
        if io.run(member.name, "patroni-check primary", timeout=10).rc != 0:
            continue
        r = io.psql(
            member.name, f"SELECT req FROM tickets WHERE req LIKE '{run.run_id}-%'", timeout=60
        )
        if r.rc == 0:
            return set(r.out.split()), member.name
    return set(), None
