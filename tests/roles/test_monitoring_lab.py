"""Replication lag watched like production, on the running lab (marker ``lab``).

Every site's log-audit host runs Prometheus over the data tier's exporters; under the
model's month-end batch (``estate/dr-tiers.yaml`` ``peak_load``) region B falls behind on
the shaped inter-region link and the off-site lag alert fires, and it clears once the
standby has caught up. Figures are printed, never asserted as times.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from typing import Any

import pytest

from govcloud import datatier
from govcloud.drills import peak
from roles import monitoring

pytestmark = pytest.mark.lab

# GET a Prometheus API path on the host's loopback and print the JSON body
PROM = """import sys, urllib.parse, urllib.request
path, q = sys.argv[1], sys.argv[2:]
url = "http://127.0.0.1:9090" + path
if q:
    url += "?" + urllib.parse.urlencode({"query": q[0]})
print(urllib.request.urlopen(url, timeout=5).read().decode())
"""


def prom(lab: Any, host: str, path: str, query: str = "") -> dict[str, Any]:
    cmd = f"python3 -c {shlex.quote(PROM)} {path}" + (f" {shlex.quote(query)}" if query else "")
    res = lab.exec_on(host, cmd, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["data"]


def firing(lab: Any, host: str, name: str) -> bool:
    alerts = prom(lab, host, "/api/v1/alerts")["alerts"]
    return any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts)


def value(lab: Any, host: str, query: str) -> float | None:
    result = prom(lab, host, "/api/v1/query", query)["result"]
    return float(result[0]["value"][1]) if result else None


def wait_until(check: Any, timeout: float, step: float = 1.0) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(step)
    return None


@pytest.fixture(scope="module")
def prometheus(lab: Any) -> Any:
    """region-a-dc1's monitoring host."""
    hosts = lab.topology.with_role("monitoring", "region-a-dc1")
    assert hosts, "the lab profile has no monitoring host on region-a-dc1"
    return hosts[0]


def test_prometheus_and_exporters_state(lab_host: Any, lab: Any) -> None:
    for h in lab.topology.with_role("monitoring"):
        t = lab_host(h.name)
        assert t.service("prometheus").is_running and t.service("prometheus").is_enabled
        assert t.socket("tcp://127.0.0.1:9090").is_listening
        assert not t.socket("tcp://0.0.0.0:9090").is_listening  # no flow admits anyone
    for h in lab.topology.with_role("pg_exporter"):
        t = lab_host(h.name)
        for svc, port in (("prometheus-postgres-exporter", 9187),
                          ("prometheus-node-exporter", 9100)):
            assert t.service(svc).is_running, (h.name, svc)
            assert t.socket(f"tcp://{h.address}:{port}").is_listening, (h.name, port)
            assert not t.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_every_site_scrapes_every_database_host(lab: Any) -> None:
    """Across the routers (the metrics-scrape flow): each Prometheus sees all exporters up,
    and the off-site standby's lag series exists (region B streams from region A)."""
    members = {h.name for h in lab.topology.with_role("pg_exporter")}
    for h in lab.topology.with_role("monitoring"):
        targets = prom(lab, h.name, "/api/v1/targets")["activeTargets"]

        def up(job: str, targets: list[dict[str, Any]] = targets) -> set[str]:
            return {t["labels"]["member"] for t in targets
                    if t["labels"]["job"] == job and t["health"] == "up"}

        # a fresh Prometheus scrapes within one interval; give it a few
        if up("postgres") != members or up("node") != members:
            time.sleep(12)
            targets[:] = prom(lab, h.name, "/api/v1/targets")["activeTargets"]
        assert up("postgres") == members, (h.name, targets)
        assert up("node") == members, h.name
        lag = value(lab, h.name, monitoring.LAG_SERIES)
        assert lag is not None, f"{h.name}: no {monitoring.LAG_SERIES}"
        print(f"\n{h.name}: {len(members)} postgres + {len(members)} node targets up; "
              f"off-site lag now {lag:.2f}s")


def _primary(lab: Any) -> Any:
    for h in lab.topology.with_role("patroni"):
        res = lab.exec_on(h.name, "runuser -u postgres -- psql -XAtqc "
                                  "'select pg_is_in_recovery()'", timeout=30)
        if res.stdout.strip() == "f":
            return h
    pytest.fail("no writable PostgreSQL member in the lab")


def test_offsite_lag_alert_fires_under_the_batch_and_clears(lab: Any, prometheus: Any) -> None:
    """The model's batch (peak_load.batch) on region A's primary: region B falls further
    behind than the tier's offsite_rpo_seconds (replay lag, or the backlog's time on the
    shaped link) and the alert fires; when region B has caught up, it clears."""
    estate = lab.topology.estate
    batch = estate.peak_load.batch
    tier = datatier.layout(estate, lab.topology.hosts).tier
    primary = _primary(lab)
    host = prometheus.name
    assert not firing(lab, host, monitoring.LAG_ALERT), "the alert fires before any load"

    sql = peak.batch_sql(batch)  # the same batch the drills under peak load run
    done: dict[str, Any] = {}

    def run_batch() -> None:
        t0 = time.monotonic()
        done["res"] = lab.exec_on(primary.name, "runuser -u postgres -- psql -XAtq -d "
                                  f"postgres -c {shlex.quote(sql)}",
                                  timeout=batch.max_seconds + 60)
        done["seconds"] = time.monotonic() - t0

    worker = threading.Thread(target=run_batch)
    t0 = time.monotonic()
    worker.start()
    peak_lag = 0.0
    peak_bytes = 0.0
    peak_backlog = 0.0
    fired_at = None
    try:
        while time.monotonic() - t0 < batch.max_seconds + 120:
            lag = value(lab, host, monitoring.LAG_SERIES) or 0.0
            peak_lag = max(peak_lag, lag)
            peak_bytes = max(peak_bytes, value(lab, host, "govcloud:offsite_replay_lag_bytes")
                             or 0.0)
            peak_backlog = max(peak_backlog, value(lab, host, "govcloud:offsite_backlog_seconds")
                               or 0.0)
            if fired_at is None and firing(lab, host, monitoring.LAG_ALERT):
                fired_at = time.monotonic() - t0
            if fired_at is not None and not worker.is_alive():
                break
            time.sleep(1)
        worker.join(timeout=batch.max_seconds + 90)
        res = done.get("res")
        assert res is not None and res.returncode == 0, res and res.stderr
        ended = time.monotonic() - t0
        cleared = wait_until(lambda: not firing(lab, host, monitoring.LAG_ALERT), 300, 2)
    finally:
        lab.exec_on(primary.name, "runuser -u postgres -- psql -XAtq -d postgres -c "
                                  f"{shlex.quote(peak.drop_sql())}", timeout=60)
    link = datatier.layout(estate, lab.topology.hosts).offsite_links(estate, primary.site)[0]
    print(f"\npeak batch {batch.megabytes} MB on {primary.name} in {done['seconds']:.1f}s; "
          f"off-site link {link.name} {link.bandwidth} Mbit/s; region B replay lag peaked at "
          f"{peak_lag:.1f}s, backlog {peak_bytes / 1e6:.0f} MB = {peak_backlog:.1f}s on the "
          f"link (target {tier.offsite_rpo_seconds}s); "
          f"{monitoring.LAG_ALERT} fired after {fired_at}s, cleared "
          f"{cleared if cleared is None else round(cleared, 1)}s after the batch ended "
          f"(t+{ended:.0f}s)")
    assert fired_at is not None, f"lag peaked at {peak_lag:.1f}s; the alert never fired"
    assert max(peak_lag, peak_backlog) > tier.offsite_rpo_seconds
    assert cleared is not None, "the alert did not clear within 300 s of the batch's end"
