"""roles/ips: listeners from the flows, suites from the crypto profile, the rendered proxy,
and the firewall narrowing that makes it inline."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import firewall, ips


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


@pytest.fixture(scope="module")
def data(estate: Estate, topo: Topology) -> ips.Data:
    return ips.data_for(estate, topo.host("dc1-ips"))


def test_listeners_are_the_ports_of_the_ips_flows(data: ips.Data) -> None:
    # egov-wan-ingress (tcp/443) and dedicated-to-extranet (tcp/443, tcp/8080) end in the
    # extranet through an ips; 443 carries TLS
    assert [(li.port, li.tls, li.flows) for li in data.listeners] == [
        (443, True, ["egov-wan-ingress", "dedicated-to-extranet"]),
        (8080, False, ["dedicated-to-extranet"]),
    ]


def test_upstream_is_the_sites_load_balancer_vip(data: ips.Data, topo: Topology) -> None:
    hotline = next(s for s in topo.services if s.name == "hotline")
    assert [(u.name, u.fqdn, u.targets) for u in data.upstreams] == [
        ("hotline", hotline.fqdn, [f"{hotline.vips['region-a-dc1']}:8080"])]
    assert data.address == topo.host("dc1-ips").address


def test_tls_suites_come_from_the_crypto_profile(estate: Estate, data: ips.Data) -> None:
    wanted = []
    for ch in estate.crypto:
        if ch.flow in ("egov-wan-ingress", "dedicated-to-extranet"):
            wanted += [s for s in ch.suites if s not in wanted]
    assert data.tls_suites == wanted
    site = ips.render("ips-site.conf.j2", data)
    assert "ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;" in site
    assert "ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384;" in site
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site


def test_site_listens_on_the_host_address_with_blocking_crs(data: ips.Data) -> None:
    site = ips.render("ips-site.conf.j2", data)
    assert f"listen {data.address}:443 ssl default_server;" in site
    assert f"listen {data.address}:8080 default_server;" in site
    assert site.count("modsecurity on;") == 2
    assert "tag=govcloud_ips" in site  # refusals reach the log audit through syslog
    assert "server_tokens off;" in site
    rules = ips.render("modsecurity-main.conf.j2", data)
    assert "SecRuleEngine On" in rules
    assert "Include /usr/share/modsecurity-crs/rules/*.conf" in rules


def test_flags_remove_their_concern(data: ips.Data) -> None:
    off = data.model_copy(update={"modsecurity": False, "syslog": False, "tls": False})
    site = ips.render("ips-site.conf.j2", off)
    assert "modsecurity" not in site
    assert "syslog:" not in site
    assert "ssl" not in site
    detect = ips.render("modsecurity-main.conf.j2", data.model_copy(update={"blocking": False}))
    assert "SecRuleEngine DetectionOnly" in detect


def test_a_non_tcp_port_cannot_pass_an_http_ips(estate: Estate) -> None:
    from govcloud.model.schema import Port

    flows = [f if f.id != "dedicated-to-extranet" else f.model_copy(
        update={"ports": [*f.ports, Port.parse("udp/53")]}) for f in estate.flows]
    bad = estate.model_copy(update={"flows": flows})
    with pytest.raises(ValueError, match="dedicated-to-extranet: udp/53 cannot pass an HTTP IPS"):
        ips.listeners(bad, "extranet")


def test_firewall_admits_the_ips_flow_only_to_the_ips_hosts(estate: Estate,
                                                           topo: Topology) -> None:
    d = firewall.data_for(estate, topo.router("region-a-dc1"))
    ips_ips = sorted(h.address for h in topo.with_role("ips"))
    assert len(ips_ips) == 2
    rule = next(r for r in d.rules if r.flow == "dedicated-to-extranet")
    assert sorted(rule.destination_addresses or []) == ips_ips
    # every other flow still reaches its whole zone
    assert all(r.destination_addresses is None for r in d.rules if r.flow != rule.flow)
    text = firewall.render(d)
    line = next(ln for ln in text.splitlines() if '"dedicated-to-extranet' in ln)
    assert "@z_extranet" not in line and all(a in line for a in ips_ips)


def test_no_ips_host_means_the_flow_is_not_admitted(estate: Estate, topo: Topology) -> None:
    """Fail closed: without the IPS the flow is dropped, never opened zone-wide."""
    from dataclasses import replace

    bare = replace(topo, hosts=tuple(h for h in topo.hosts if "ips" not in h.roles))
    rules = firewall.matrix_rules(estate, bare)
    rule = next(r for r in rules if r.flow == "dedicated-to-extranet")
    assert rule.destination_addresses == []
    d = firewall.Data(zones={str(z.name): sorted(z.cidrs.values()) for z in estate.zones},
                      rules=rules)
    text = firewall.render(d)
    assert "dedicated-to-extranet: its inline proxy is not deployed" in text
    assert '"dedicated-to-extranet' not in text


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="nft -c needs root")
def test_narrowed_ruleset_passes_nft_check(estate: Estate, topo: Topology, tmp_path) -> None:
    path = tmp_path / "fw.nft"
    path.write_text(firewall.render(firewall.data_for(estate, topo.router("region-a-dc1"))))
    # checked in a throw-away network namespace, as tests/roles/test_firewall.py does
    res = subprocess.run(["unshare", "-n", "nft", "-c", "-f", str(path)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
