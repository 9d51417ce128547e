"""roles/anti_ddos: the ruleset from the model (no host needed), flag by flag."""

from __future__ import annotations

import pytest

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import anti_ddos

NFT = "anti-ddos.nft.j2"


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


@pytest.fixture(scope="module")
def data(estate: Estate, topo: Topology) -> anti_ddos.Data:
    return anti_ddos.data_for(estate, topo.host("dc1-waf"))


def test_ports_leg_and_thresholds_come_from_the_model(estate: Estate, topo: Topology,
                                                      data: anti_ddos.Data) -> None:
    # public-web-ingress names anti-ddos and ends in the internet zone: tcp/80, tcp/443
    assert data.ports == [80, 443]
    leg = next(leg for leg in topo.host("dc1-waf").legs if str(leg.zone) == "internet")
    assert data.ifname == leg.ifname
    assert data.new_connections_per_second == estate.anti_ddos.new_connections_per_second
    assert data.offender_seconds == estate.anti_ddos.offender_seconds


def test_secure_defaults_render_every_defence(data: anti_ddos.Data) -> None:
    text = anti_ddos.render(NFT, data)
    for want in ("tcp flags syn notrack", "synproxy mss 1460", "ct count over 64",
                 "limit rate over 20/second burst 40 packets",
                 "limit rate over 2000/second burst 4000 packets",
                 "timeout 600s", "add @offenders { ip saddr }",
                 "ip saddr @offenders counter name offenders_dropped drop"):
        assert want in text, want
    # the table is replaced atomically on reload (idempotent: nft -f twice is the same)
    assert "table inet govcloud_antiddos\ndelete table inet govcloud_antiddos\n" in text


@pytest.mark.parametrize(("flag", "gone"), [
    ("synproxy", ("synproxy", "notrack", "syn_proxied", "invalid_dropped", "prerouting",
                  "SYNs are not tracked", "cookie handshake")),
    ("connection_rate", ("connection_rate",)),
    ("connection_limit", ("ct count over", "connection_limit_exceeded", "connection_count",
                          "type ipv4_addr; flags dynamic;")),
    ("packet_rate", ("packet_rate",)),
    ("offenders", ("offenders", "timeout 600s", "sources over a rate")),
])
def test_each_flag_off_removes_exactly_its_defence(data: anti_ddos.Data, flag: str,
                                                   gone: tuple[str, ...]) -> None:
    on = anti_ddos.render(NFT, data)
    off = anti_ddos.render(NFT, data.model_copy(update={flag: False}))
    for text in gone:
        assert text in on and text not in off, text
    kept = {line for line in on.splitlines() if not any(t in line for t in gone)}
    assert kept <= set(off.splitlines()) | {""}


def test_only_the_protected_ports_on_the_ingress_leg(data: anti_ddos.Data) -> None:
    text = anti_ddos.render(NFT, data)
    assert f'iifname != "{data.ifname}" accept' in text
    rules = [line.strip() for line in text.splitlines()
             if line.rstrip().endswith((" drop", "tcp reset"))]
    assert rules and all("tcp dport { 80, 443 }" in line for line in rules), rules
    # new connections are metered where synproxy opens them (lo) or, without it, on the leg
    assert all(f'iifname {{ "{data.ifname}", "lo" }}' in line for line in rules
               if "ct state new" in line)


def test_synproxy_needs_strict_tcp_tracking() -> None:
    from govcloud.lab.engine import namespace_sysctls

    assert anti_ddos.kernel_settings() == {"net.netfilter.nf_conntrack_tcp_loose": "0"}
    assert namespace_sysctls(["anti_ddos"]) == anti_ddos.kernel_settings()
