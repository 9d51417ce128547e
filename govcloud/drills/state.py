"""Bring the lab to a runbook's preconditions, and read back the settings a drill ran with.

Preconditions are named states, not scripts:

* ``dual-active`` — links healed; region A's Patroni cluster has a leader and a
  synchronous standby; region B's standby cluster streams from region A; the backup
  repository's stanza exists. ``leader: <member>`` additionally puts the leader there
  (planned switchover); ``dns: {service: site}`` points service names.
* ``region-b-active`` — what ``failover-region-a-loss.md`` leaves behind: region B
  primary, region A fenced and cut off.

Moving between the two reuses the runbooks themselves (their non-load steps, without
measurement): from ``region-b-active`` to ``dual-active`` runs the failback runbook;
the other way runs the region-A-loss runbook. A drill therefore never depends on what
the previous drill left behind.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from govcloud import datatier
from govcloud.drills.labio import LabIO
from govcloud.drills.runbook import Phase, StepKind, load_runbook

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
FAILBACK = "failback-to-region-a.md"
REGION_A_LOSS = "failover-region-a-loss.md"


class PreconditionError(RuntimeError):
    pass


def _ok(io: LabIO, host: str, cmd: str, timeout: float = 10) -> bool:
    return io.run(host, cmd, timeout=timeout).rc == 0


def wait_for(io: LabIO, host: str, cmd: str, timeout: float, what: str, interval: float = 1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _ok(io, host, cmd):
            return
        time.sleep(interval)
    raise PreconditionError(f"{what}: `{cmd}` on {host} not true after {timeout:.0f}s")


def leader_of_a(io: LabIO) -> str | None:
    tier = datatier.layout(io.estate, io.topo.hosts)
    for m in tier.primary_region_members:
        if _ok(io, m.name, "patroni-check primary"):
            return m.name
    return None


def b_is_primary(io: LabIO) -> bool:
    tier = datatier.layout(io.estate, io.topo.hosts)
    return any(_ok(io, m.name, "patroni-check primary") for m in tier.dr_members)


def replay(io: LabIO, name: str, say: Callable[[str], None]) -> None:
    """Run a runbook's drill/recovery steps without load or measurement (state change)."""
    from govcloud.drills.engine import _execute, DrillRun  # noqa: I001 - cycle-free at call

    rb = load_runbook(RUNBOOKS / name)
    run = DrillRun(rb.path, rb.title, str(rb.targets), "replay", io.lab.name, time.time())
    for step in rb.steps:
        if step.phase in (Phase.ROLLBACK, Phase.PRECONDITION) or step.kind == StepKind.LOAD:
            continue
        if step.kind == StepKind.PAUSE:
            continue
        res, _ = _execute(step, io, run, None, Path("/dev/null"), say, {})
        if not res.ok:
            raise PreconditionError(f"{name}: step {step.id} failed: {res.output[-300:]}")
    say(f"  reached the end state of {name}")


def ensure(io: LabIO, pre: dict[str, Any], say: Callable[[str], None] = print) -> None:
    want = pre.get("state", "dual-active")
    if want not in ("dual-active", "region-b-active"):
        raise PreconditionError(f"unknown precondition state {want!r}")
    tier = datatier.layout(io.estate, io.topo.hosts)
    if b_is_primary(io):
        if want == "region-b-active":
            _dns(io, pre, say)
            return
        say("  region B is primary: failing back first")
        replay(io, FAILBACK, say)
    io.heal_all()
    for m in tier.primary_region_members + tier.dr_members:
        io.run(m.name, "systemctl enable --now patroni@15-main", timeout=60)
    wait_for(
        io,
        tier.primary_region_members[0].name,
        "patronictl -c /etc/patroni/15-main.yml list -f json | grep -q '\"Leader\"'",
        120,
        "region A has a leader",
    )
    leader = leader_of_a(io)
    wanted = pre.get("leader")
    if wanted and leader != wanted:
        say(f"  switchover {leader} -> {wanted}")
        r = io.run(
            wanted,
            f"patronictl -c {datatier.PATRONI_CONFIG} switchover "
            f"{tier.scope} --leader {leader} --candidate {wanted} --force",
            timeout=60,
        )
        if r.rc != 0:
            raise PreconditionError(f"switchover to {wanted} failed: {r.out}{r.err}")
        wait_for(io, wanted, "patroni-check primary", 60, f"{wanted} leads")
    leader = leader_of_a(io)
    for m in tier.primary_region_members:
        if m.name != leader:
            wait_for(io, m.name, "patroni-check sync", 120, f"{m.name} is the synchronous standby")
    for m in tier.dr_members:
        wait_for(
            io,
            m.name,
            "patroni-check standby-leader && patroni-check streaming",
            180,
            f"{m.name} streams from region A",
        )
    _stanza(io, tier, say)
    _app_schema(io, tier)
    _vips(io, tier)
    _dns(io, pre, say)
    if want == "region-b-active":
        say("  failing over to region B first")
        replay(io, REGION_A_LOSS, say)
        _dns(io, pre, say)


def _dns(io: LabIO, pre: dict[str, Any], say: Callable[[str], None]) -> None:
    for service, site in (pre.get("dns") or {}).items():
        io.repoint(service, site)
        say(f"  dns: {service} -> {site}")


def _stanza(io: LabIO, tier: datatier.DataTier, say: Callable[[str], None]) -> None:
    """pgBackRest stanza in the region-B repository, and one full backup, once."""
    for repo in tier.repo:
        info = io.run(
            repo.name,
            f"runuser -u pgbackrest -- pgbackrest --stanza={tier.scope} --output=json info",
            timeout=60,
        )
        try:
            have = json.loads(info.out)[0].get("backup", [])
        except (ValueError, IndexError, AttributeError):
            have = []
        if have:
            continue
        t0 = time.time()
        for cmd in ("stanza-create", "check", "--type=full backup"):
            r = io.run(
                repo.name,
                f"runuser -u pgbackrest -- pgbackrest --stanza={tier.scope} {cmd}",
                timeout=300,
            )
            if r.rc != 0:
                raise PreconditionError(f"pgbackrest {cmd} on {repo.name}: {r.out}{r.err}")
        say(f"  pgbackrest: stanza + full backup in {time.time() - t0:.1f}s on {repo.name}")


def _app_schema(io: LabIO, tier: datatier.DataTier) -> None:
    """The service creates its table on first database use (``/ready``; ``/health``
    never touches the database); make sure that happened once."""
    for app in tier.apps:
        if app.site in {m.site for m in tier.primary_region_members}:
            io.run(
                app.name,
                f'python3 -c "import urllib.request;urllib.request.urlopen('
                f"'http://127.0.0.1:{tier.app_port}/ready', timeout=5)\"",
                timeout=15,
            )


def _vips(io: LabIO, tier: datatier.DataTier) -> None:
    """Every site with an app instance answers on its service VIP (the load balancer)."""
    from govcloud.drills.labio import OUTSIDE

    svc = io.topo.service("hotline")
    for site in sorted({a.site for a in tier.apps}):
        vip = svc.vips.get(site)
        if vip is None:
            continue
        url = f"http://{vip}:{tier.app_port}/health"
        deadline = time.time() + 60
        while io.run(OUTSIDE, f"curl -sf -m 2 -o /dev/null {url}", timeout=10).rc != 0:
            if time.time() > deadline:
                raise PreconditionError(
                    f"{url} does not answer: the site's load balancer (roles/loadbalancer, "
                    f"HAProxy+keepalived) must hold the hotline VIP on {site}"
                )
            time.sleep(2)


def settings(io: LabIO) -> dict[str, Any]:
    """The Patroni/etcd/link/app settings in force, read back from the running lab."""
    tier = datatier.layout(io.estate, io.topo.hosts)
    out: dict[str, Any] = {}
    for label, members in (
        ("patroni_region_a", tier.primary_region_members),
        ("patroni_region_b", tier.dr_members),
    ):
        for m in members:
            r = io.run(m.name, "patroni-check timings", timeout=10)
            if r.rc == 0:
                out[label] = json.loads(r.out)
                break
    for label, members in (("etcd_region_a", tier.etcd_a), ("etcd_region_b", tier.etcd_b)):
        if members:
            r = io.run(members[0].name, "cat /etc/default/etcd", timeout=10)
            keys = ("ETCD_HEARTBEAT_INTERVAL", "ETCD_ELECTION_TIMEOUT", "ETCD_PRE_VOTE")
            vals = dict(re.findall(r'^(ETCD_\w+)="?([^"\n]*)"?', r.out, re.M))
            out[label] = {k.removeprefix("ETCD_").lower(): vals.get(k) for k in keys}
            out[label]["members"] = [m.name for m in members]
    out["links_mbps"] = {link.name: str(link.bandwidth) for link in io.estate.links}
    for app in tier.apps[:1]:
        r = io.run(app.name, "cat /etc/default/hotline-12345", timeout=10)
        dsn = dict(
            re.findall(
                r"(connect_timeout|tcp_user_timeout|keepalives_idle|"
                r"target_session_attrs)=(\S+)",
                r.out,
            )
        )
        out["app_dsn"] = dsn
    return out
