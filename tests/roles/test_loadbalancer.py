"""roles/loadbalancer: VIP pair per site from the topology, HAProxy and keepalived config."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import loadbalancer as lb


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_pair_shares_the_site_vip(estate: Estate, topo: Topology) -> None:
    one = lb.data_for(estate, topo.host("dc1-lb1"))
    two = lb.data_for(estate, topo.host("dc1-lb2"))
    assert one.priority > two.priority  # lb1 is the master
    assert one.peers == [two.address] and two.peers == [one.address]
    assert one.frontends == two.frontends
    (fe,) = one.frontends
    assert fe.name == "hotline"
    assert fe.vip == topo.service("hotline").vips[topo.host("dc1-lb1").site]
    assert ipaddress.ip_address(fe.vip) in ipaddress.ip_network(
        estate.zone("extranet").cidrs[topo.host("dc1-lb1").site])
    # backends: the site's app hosts on the hotline api component's port (model: 8080)
    assert fe.port == 8080
    assert fe.backends == [f"{topo.host('dc1-app').address}:8080"]


def test_sites_use_different_vrids(estate: Estate, topo: Topology) -> None:
    dc1 = lb.data_for(estate, topo.host("dc1-lb1")).frontends[0]
    dc2 = lb.data_for(estate, topo.host("dc2-lb1")).frontends[0]
    assert dc1.vrid != dc2.vrid
    assert dc1.vip != dc2.vip


def test_keepalived_unicast_and_tracking(estate: Estate, topo: Topology) -> None:
    d = lb.data_for(estate, topo.host("dc1-lb2"))
    conf = lb.render("keepalived.conf.j2", d)
    assert f"unicast_src_ip {d.address}" in conf
    assert f"        {d.peers[0]}\n" in conf
    assert f"{d.frontends[0].vip}/20 dev z-ext" in conf
    assert "state BACKUP" in conf
    assert "track_script" in conf and "chk_haproxy" in conf
    untracked = lb.render("keepalived.conf.j2", d.model_copy(update={"track_haproxy": False}))
    assert "chk_haproxy" not in untracked


def test_haproxy_binds_vip_with_health_checks(estate: Estate, topo: Topology) -> None:
    d = lb.data_for(estate, topo.host("dc1-lb1"))
    cfg = lb.render("haproxy.cfg.j2", d)
    fe = d.frontends[0]
    assert f"bind {fe.vip}:{fe.port} transparent" in cfg
    assert "option httpchk GET /health" in cfg
    assert f"server hotline-1 {fe.backends[0]} check" in cfg
    assert "level operator" in cfg  # the stats socket cannot change the running config
    plain = lb.render("haproxy.cfg.j2", d.model_copy(update={"health_checks": False}))
    assert "httpchk" not in plain and " check" not in plain


def test_bad_vip_refused() -> None:
    with pytest.raises(ValidationError):
        lb.Frontend(name="x", vip="10.0.0.300", prefixlen=24, port=80, backends=[], vrid=1)


def test_unknown_service_is_an_error(estate: Estate) -> None:
    with pytest.raises(LookupError, match="no system"):
        lb.service_component(estate, "no-such-service", "extranet")
