"""roles/monitoring and roles/pg_exporter: targets, off-site standbys and thresholds from
the model; rendered Prometheus configuration, rules and exporter settings; flags."""

from __future__ import annotations

import pytest
import yaml

from govcloud import datatier
from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import firewall, monitoring, pg_exporter


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


@pytest.fixture(scope="module")
def data(estate: Estate, topo: Topology) -> monitoring.Data:
    return monitoring.data_for(estate, topo.host("dc1-log"))


def test_threshold_and_standbys_come_from_the_dr_tier(estate: Estate, topo: Topology,
                                                      data: monitoring.Data) -> None:
    system = datatier.hotline(estate)
    tier = estate.tier(system.dr_tier)
    assert data.offsite_rpo_seconds == tier.offsite_rpo_seconds == 5
    assert data.tier == "dual-active"
    # the standbys on the DR site, by Patroni member name (= application_name)
    dr = [h.name for h in topo.with_role("patroni", "region-b-dr")]
    assert data.offsite_standbys == dr == ["dr-pg"]
    assert sorted(t.name for t in data.targets) == sorted(
        h.name for h in topo.with_role("patroni"))


def test_rules_alert_above_the_offsite_rpo(data: monitoring.Data) -> None:
    doc = yaml.safe_load(monitoring.render("govcloud-rules.yml.j2", data))
    rules = {r.get("record") or r["alert"]: r for r in doc["groups"][0]["rules"]}
    assert rules[monitoring.LAG_SERIES]["expr"] == (
        'max by (cluster) (govcloud_replication_replay_lag_seconds{standby=~"dr-pg"})')
    # 100 Mbit/s (estate/sites.yaml dc1-dr, dc2-dr) = 12.5 MB/s
    assert data.offsite_link_bytes_per_second == 12_500_000
    assert rules["govcloud:offsite_backlog_seconds"]["expr"] == (
        "govcloud:offsite_replay_lag_bytes / 12500000")
    alert = rules[monitoring.LAG_ALERT]
    assert alert["expr"] == (f"{monitoring.LAG_SERIES} > 5 or "
                             "govcloud:offsite_backlog_seconds > 5")
    assert alert["labels"] == {"severity": "critical", "system": "hotline-12345",
                               "tier": "dual-active"}
    assert "{{ $value | humanize }}" in alert["annotations"]["summary"]
    assert "absent(" in rules["OffsiteStandbyNotStreaming"]["expr"]
    quiet = yaml.safe_load(monitoring.render(
        "govcloud-rules.yml.j2", data.model_copy(update={"alerts": False})))
    assert all("alert" not in r for r in quiet["groups"][0]["rules"])


def test_scrape_config_targets_every_member(data: monitoring.Data, topo: Topology) -> None:
    doc = yaml.safe_load(monitoring.render("prometheus.yml.j2", data))
    assert doc["rule_files"] == [monitoring.RULES]
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    pg = [(c["targets"][0], c["labels"]["member"]) for c in jobs["postgres"]["static_configs"]]
    assert pg == [(f"{h.address}:9187", h.name) for h in topo.with_role("patroni")]
    assert len(jobs["node"]["static_configs"]) == len(pg)
    no_node = yaml.safe_load(monitoring.render(
        "prometheus.yml.j2", data.model_copy(update={"node_metrics": False})))
    assert [j["job_name"] for j in no_node["scrape_configs"]] == ["postgres"]


def test_prometheus_listens_on_loopback_by_default(data: monitoring.Data) -> None:
    assert "--web.listen-address=127.0.0.1:9090" in monitoring.render(
        "prometheus-defaults.j2", data)
    opened = data.model_copy(update={"local_only": False})
    assert "--web.listen-address=0.0.0.0:9090" in monitoring.render(
        "prometheus-defaults.j2", opened)


def test_exporters_listen_on_the_zone_leg_on_the_flows_ports(estate: Estate,
                                                             topo: Topology) -> None:
    host = topo.host("dc1-pg")
    d = pg_exporter.data_for(estate, host)
    assert pg_exporter.scrape_ports(estate) == [9100, 9187]
    env = pg_exporter.render("prometheus-postgres-exporter.j2", d)
    assert f"--web.listen-address={host.address}:9187" in env
    dsn = next(ln for ln in env.splitlines() if ln.startswith("DATA_SOURCE_NAME="))
    assert "user=prometheus" in dsn and "password" not in dsn
    assert f"--web.listen-address={host.address}:9100" in pg_exporter.render(
        "prometheus-node-exporter.j2", d)
    wide = d.model_copy(update={"listen_on_zone_leg": False})
    assert "0.0.0.0:9100" in pg_exporter.render("prometheus-node-exporter.j2", wide)


def test_replication_query_publishes_lag_per_standby() -> None:
    doc = yaml.safe_load(pg_exporter.render("postgres-queries.yaml.j2",
                                            pg_exporter.Data(address="10.0.0.1")))
    q = doc["govcloud_replication"]
    cols = {next(iter(m)): m[next(iter(m))]["usage"] for m in q["metrics"]}
    assert cols == {"standby": "LABEL", "replay_lag_seconds": "GAUGE",
                    "replay_lag_bytes": "GAUGE", "synchronous": "GAUGE"}
    assert "FROM pg_stat_replication" in q["query"]


def test_exporter_ports_disagreeing_with_the_flow_are_refused(estate: Estate,
                                                              topo: Topology) -> None:
    from govcloud.model.schema import Port

    flows = [f if f.id != pg_exporter.SCRAPE_FLOW else f.model_copy(
        update={"ports": [Port.parse("tcp/9187")]}) for f in estate.flows]
    bad = estate.model_copy(update={"flows": flows})
    with pytest.raises(ValueError, match=r"flow metrics-scrape admits tcp \[9187\]"):
        pg_exporter.data_for(bad, topo.host("dc1-pg"))


def test_the_router_admits_the_scrape_and_nothing_more(estate: Estate) -> None:
    """security-management -> extranet carries only the scrape ports (and nothing else
    starts in the security-management zone toward the extranet)."""
    got = firewall.allowed(estate)[("security-management", "extranet")]
    assert got == {("tcp", 9187), ("tcp", 9100)}
