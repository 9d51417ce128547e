"""roles/db_audit: pgaudit settings, drop-in, flags, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import db_audit


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_every_pg_host_gets_the_audit_defaults(estate: Estate, topo: Topology) -> None:
    hosts = topo.with_role("db_audit")
    assert hosts and all(h.has_role("patroni") or h.has_role("postgres") for h in hosts)
    for h in hosts:
        d = db_audit.data_for(estate, h)
        # Debian conf.d or Patroni is told apart on the host when the deploy runs
        assert d == db_audit.Data() and d.manager == "auto"
        assert d.conf_dir == "/etc/postgresql/15/main/conf.d"


def test_settings_load_pgaudit_and_ship_to_syslog() -> None:
    s = db_audit.settings(db_audit.Data())
    assert s["shared_preload_libraries"] == "pgaudit"
    assert s["pgaudit.log"] == "ddl,role,write,misc_set"
    assert s["pgaudit.log_parameter"] == "off"  # bind values may be personal data
    assert s["pgaudit.log_relation"] == "on"
    assert s["log_destination"] == "stderr,syslog"
    assert s["syslog_facility"] == "LOCAL0"


def test_dropin_renders_quoted_settings() -> None:
    conf = db_audit.render("pgaudit.conf.j2", db_audit.Data(extra_preload=["pg_stat_statements"]))
    assert "shared_preload_libraries = 'pg_stat_statements,pgaudit'\n" in conf
    assert "pgaudit.log = 'ddl,role,write,misc_set'\n" in conf


def test_flags() -> None:
    assert db_audit.settings(db_audit.Data(audit=False)) == {}
    quiet = db_audit.settings(db_audit.Data(to_syslog=False))
    assert "log_destination" not in quiet and quiet["shared_preload_libraries"] == "pgaudit"


def test_bad_classes_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown pgaudit\.log class"):
        db_audit.Data(log_classes=["ddl", "everything"])
    with pytest.raises(ValidationError, match="nothing would be audited"):
        db_audit.Data(log_classes=[])
    assert db_audit.Data(log_classes=["all", "-misc"]).log_classes == ["all", "-misc"]
