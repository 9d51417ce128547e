"""The data-tier roles render the layout the DR design needs, from the model alone.

Hosts are stand-ins shaped like the lab topology's (name, site, roles, address); the
rendered Patroni/etcd/pgBackRest/app configuration is parsed back and checked for the
properties the drills depend on (LAB-NOTES traps included).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml

from govcloud import datatier
from govcloud.model import SiteName

ROLES = Path(__file__).resolve().parents[2] / "roles"
PW = {"superuser": "s", "replication": "r", "app": "a"}


@pytest.fixture()
def hosts():
    spec = [
        ("dc1-pg", SiteName.DC1, ("baseline", "etcd", "patroni", "pgbackrest"), "10.1.0.11"),
        ("dc2-pg", SiteName.DC2, ("baseline", "etcd", "patroni", "pgbackrest"), "10.2.0.11"),
        ("dr-pg", SiteName.DR, ("baseline", "etcd", "patroni", "pgbackrest"), "10.3.0.11"),
        ("dr-witness", SiteName.DR, ("baseline", "etcd", "pgbackrest"), "10.3.0.12"),
        ("dc1-app", SiteName.DC1, ("baseline", "app"), "10.1.0.12"),
        ("dc2-app", SiteName.DC2, ("baseline", "app"), "10.2.0.12"),
        ("dr-app", SiteName.DR, ("baseline", "app"), "10.3.0.13"),
    ]
    out = [SimpleNamespace(name=n, site=s, roles=r, address=a) for n, s, r, a in spec]
    topo = SimpleNamespace(hosts=out)
    for h in out:
        h.topology = topo
    return {h.name: h for h in out}


def render(role: str, template: str, **kw) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLES / role / "templates"))
    return env.get_template(template).render(**kw)


def test_layout_quorum_survives_one_dc_and_region_b_has_its_own_dcs(estate, hosts) -> None:
    t = datatier.layout(estate, hosts.values())
    assert [h.name for h in t.primary_region_members] == ["dc1-pg", "dc2-pg"]
    assert [h.name for h in t.dr_members] == ["dr-pg"]
    # region A's etcd: one per DC and a witness in region B -> losing a DC keeps 2 of 3
    assert [h.name for h in t.etcd_a] == ["dc1-pg", "dc2-pg", "dr-witness"]
    assert {h.site for h in t.etcd_a} == set(SiteName)
    assert [h.name for h in t.etcd_b] == ["dr-pg"]
    assert [h.name for h in t.repo] == ["dr-witness"]
    assert t.tier.name == "dual-active"
    # the database zone's CIDRs on every site, straight from zones.yaml
    db_zone = estate.zone("extranet")
    assert t.db_zone_cidrs == [db_zone.cidrs[s] for s in SiteName]


def test_patroni_region_a_is_synchronous_with_tuned_timings(estate, hosts) -> None:
    from roles import patroni

    d = patroni.data_for(estate, hosts["dc1-pg"])
    cfg = yaml.safe_load(render("patroni", "patroni.yml.j2", d=d, pw=PW))
    dcs = cfg["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True and dcs["synchronous_mode_strict"] is False
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (9, 1, 4)
    assert "standby_cluster" not in dcs
    assert cfg["etcd"]["hosts"] == "10.1.0.11:2379,10.2.0.11:2379,10.3.0.12:2379"
    assert dcs["postgresql"]["use_pg_rewind"] is True
    # pg_rewind's decision needs Patroni's local replication connection (the DC1-loss drill)
    assert "host replication replicator 127.0.0.1/32 scram-sha-256" in cfg["postgresql"]["pg_hba"]
    assert "archive-push" in dcs["postgresql"]["parameters"]["archive_command"]
    assert cfg["postgresql"]["connect_address"] == "10.1.0.11:5432"
    assert cfg["postgresql"]["parameters"]["unix_socket_directories"] == "/var/run/postgresql"
    # no statement_timeout anywhere (LAB-NOTES: it acknowledges local-only commits)
    assert "statement_timeout" not in yaml.safe_dump(cfg)


def test_patroni_region_b_is_a_standby_cluster_on_its_own_etcd(estate, hosts) -> None:
    from roles import patroni

    d = patroni.data_for(estate, hosts["dr-pg"])
    cfg = yaml.safe_load(render("patroni", "patroni.yml.j2", d=d, pw=PW))
    sc = cfg["bootstrap"]["dcs"]["standby_cluster"]
    assert sc["host"] == "10.1.0.11,10.2.0.11"
    assert cfg["etcd"]["hosts"] == "10.3.0.11:2379"
    # a dead walreceiver connection must be noticed in seconds, not 60 s
    assert cfg["bootstrap"]["dcs"]["postgresql"]["parameters"]["wal_receiver_timeout"] == "5s"


def test_pgaudit_settings_from_db_audit_reach_patroni(estate, hosts) -> None:
    from roles import db_audit, patroni

    h = hosts["dc1-pg"]
    h.roles = (*h.roles, "db_audit")
    h.has_role = lambda r: r in h.roles
    d = patroni.data_for(estate, h)
    assert "pgaudit" in d.parameters["shared_preload_libraries"]
    assert set(db_audit.PACKAGES) <= set(d.extra_packages)
    cfg = yaml.safe_load(render("patroni", "patroni.yml.j2", d=d, pw=PW))
    assert cfg["postgresql"]["parameters"]["pgaudit.log"] == d.parameters["pgaudit.log"]


def test_post_bootstrap_creates_roles_with_local_commit(estate, hosts) -> None:
    from roles import patroni

    d = patroni.data_for(estate, hosts["dc1-pg"])
    sh = render("patroni", "post_bootstrap.sh.j2", d=d, pw=PW)
    assert sh.index("SET synchronous_commit = local") < sh.index("CREATE ROLE hotline")
    assert "WHERE NOT EXISTS" in sh  # re-runnable


def test_etcd_members_and_pre_vote(estate, hosts) -> None:
    from roles import etcd

    a = etcd.data_for(estate, hosts["dr-witness"])
    b = etcd.data_for(estate, hosts["dr-pg"])
    assert set(a.cluster) == {"dc1-pg", "dc2-pg", "dr-witness"}
    assert set(b.cluster) == {"dr-pg"}
    assert a.token != b.token
    text = render("etcd", "etcd.default.j2", d=a)
    assert 'ETCD_PRE_VOTE="true"' in text
    assert 'ETCD_ENABLE_V2="true"' in text  # Patroni 3.0.2 uses the v2 path (etcd3 bug)
    assert "dc1-pg=http://10.1.0.11:2380" in text and 'ETCD_NAME="dr-witness"' in text


def test_app_reaches_local_dc_first_without_statement_timeout(estate, hosts) -> None:
    from roles import app

    d2 = app.data_for(estate, hosts["dc2-app"])
    assert d2.db_hosts == ["10.2.0.11", "10.1.0.11"]
    dsn = d2.dsn("pw")
    assert "target_session_attrs=read-write" in dsn and "tcp_user_timeout=" in dsn
    assert "statement_timeout" not in dsn
    assert "application_name=hotline-12345@region-a-dc2" in dsn
    assert app.data_for(estate, hosts["dr-app"]).db_hosts == ["10.3.0.11"]
    # the service port is the api component's port in the department file
    dept = next(d for d in estate.departments if d.name == "data-bureau")
    api = next(c for s in dept.systems if s.name == "hotline-12345" for c in s.components
               if c.kind == "api")
    assert d2.port == api.port


def test_pgbackrest_repository_in_region_b_with_tier_schedule(estate, hosts) -> None:
    from roles import pgbackrest

    db = pgbackrest.data_for(estate, hosts["dc1-pg"])
    repo = pgbackrest.data_for(estate, hosts["dr-witness"])
    assert (db.side, repo.side) == ("db", "repo")
    assert db.repo_host == "10.3.0.12"
    assert repo.backup_cron == estate.tier("dual-active").backup_schedule
    conf = render("pgbackrest", "pgbackrest-repo.conf.j2", d=repo, repo_user="pgbackrest",
                  repo_path="/var/lib/pgbackrest")
    assert "pg1-host=10.1.0.11" in conf and "pg3-host=10.3.0.11" in conf


def test_patroni_timings_obey_patronis_rule() -> None:
    from pydantic import ValidationError

    from roles import patroni

    with pytest.raises(ValidationError, match=r"loop_wait \+ 2\*retry_timeout must be <= ttl"):
        patroni.Timings(ttl=8, loop_wait=1, retry_timeout=4)


def test_patroni_dcs_drift_is_reconciled_not_bootstrapped_only(estate, hosts) -> None:
    """bootstrap.dcs is read once; a running cluster gets model changes via edit-config."""
    from roles import patroni

    d = patroni.data_for(estate, hosts["dc1-pg"])
    live = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4, "synchronous_mode": True,
            "synchronous_mode_strict": False, "standby_cluster": None}
    assert patroni.dcs_drift(live, d) == {"ttl": 9, "loop_wait": 1}
    assert patroni.dcs_drift({**live, "ttl": 9, "loop_wait": 1}, d) == {}
    assert patroni.dcs_drift({}, d) == {}  # Patroni not answering yet: bootstrap applies
    cmd = patroni.edit_config_command(d)
    assert cmd.startswith("patronictl -c /etc/patroni/15-main.yml edit-config --force")
    assert "-s ttl=9 -s loop_wait=1 -s retry_timeout=4" in cmd
    assert "-s synchronous_mode=true -s synchronous_mode_strict=false" in cmd
    # a promoted region B (standby_cluster removed) is a DR decision a deploy keeps
    b = patroni.data_for(estate, hosts["dr-pg"])
    assert "standby_cluster" not in patroni.edit_config_command(b)


def test_patroni_hosts_give_up_on_a_silent_upstream_quickly(estate, hosts) -> None:
    """The walreceiver ignores connect_timeout: the kernel's SYN retries bound it instead,
    set by the role (sysctl.d) and, in the lab, from outside through the same function."""
    from govcloud.lab.engine import namespace_sysctls
    from roles import patroni

    d = patroni.data_for(estate, hosts["dr-pg"])
    assert patroni.kernel_settings(d) == {"net.ipv4.tcp_syn_retries": "2"}
    assert namespace_sysctls(["patroni"]) == patroni.kernel_settings()
    assert namespace_sysctls(["waf"]) == {}
