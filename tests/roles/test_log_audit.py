"""roles/log_audit: receiver from the flow matrix, retention from the model (checked)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import log_audit


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_port_senders_retention_from_model(estate: Estate, topo: Topology) -> None:
    d = log_audit.data_for(estate, topo.host("dc1-log"))
    assert d.port == 514
    # every zone has an audit flow into security-management: all 15 zone networks send
    assert d.senders == sorted(c for z in estate.zones for c in z.cidrs.values())
    assert d.retention_days == estate.cloud.audit_retention_days == 180


def test_retention_below_model_floor_refused() -> None:
    with pytest.raises(ValidationError, match="below the model's audit retention"):
        log_audit.Data(retention_days=90, min_retention_days=180)
    assert log_audit.Data(retention_days=365, min_retention_days=180).retention_days == 365


def test_receiver_config() -> None:
    d = log_audit.Data(senders=["10.12.0.0/20"])
    conf = log_audit.render("rsyslog-collector.conf.j2", d)
    assert 'input(type="imtcp" port="514" ruleset="govcloud_remote")' in conf
    assert "$AllowedSender TCP, 10.12.0.0/20" in conf
    assert "/var/log/remote/%HOSTNAME%/" in conf
    off = log_audit.render("rsyslog-collector.conf.j2", d.model_copy(update={"receiver": False}))
    assert "imtcp" not in off


def _exec_lines(unit: str) -> list[list[str]]:
    return [shlex.split(line.split("=", 1)[1]) for line in unit.splitlines()
            if line.startswith("ExecStart=")]


def test_retention_unit_keeps_180_days_and_deletes_older(tmp_path: Path) -> None:
    """Run the unit's own commands over a tree of back-dated files."""
    d = log_audit.Data(remote_dir=str(tmp_path))
    unit = log_audit.render("govcloud-log-retention.service.j2", d)
    host = tmp_path / "dc1-app"
    host.mkdir()
    ages = {"old.log": 200, "edge.log": 181, "kept.log": 179, "recent.log": 3, "today.log": 0}
    now = time.time()
    for name, days in ages.items():
        path = host / name
        path.write_text("x\n")
        os.utime(path, (now - days * 86400 - 60, now - days * 86400 - 60))
    for argv in _exec_lines(unit):
        subprocess.run(argv, check=True, capture_output=True)
    left = sorted(p.name for p in host.iterdir())
    # >180 days gone; younger kept (compressed after a day, mtime preserved by gzip)
    assert left == ["kept.log.gz", "recent.log.gz", "today.log"]
