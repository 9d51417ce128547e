"""roles/firewall: the generated nftables ruleset, unit-checked and on the real routers."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from roles.firewall import allowed, data_for, matrix_rules, render


class _Host:  # data_for only needs the estate for the firewall
    pass


def test_rules_cover_every_interactive_zone_flow(estate):
    rules = matrix_rules(estate)
    ids = {r.flow for r in rules}
    for f in estate.zone_flows():
        if f.mode == "ferry":
            assert f.id not in ids, "ferry flows are the gatekeeper's, not the router's"
        else:
            assert f.id in ids


def test_bidirectional_flow_opens_both_ways(estate):
    m = allowed(estate)
    repl = next(f for f in estate.zone_flows() if f.direction == "bidirectional")
    ports = {("tcp", p.port) for p in repl.ports}
    assert ports <= m[(repl.source, repl.destination)]
    assert ports <= m[(repl.destination, repl.source)]


def test_internet_never_reaches_extranet_through_the_router(estate):
    assert ("internet", "extranet") not in {(str(a), str(b)) for a, b in allowed(estate)}


def test_render_default_drop_with_logged_drops(estate):
    text = render(data_for(estate, _Host()))
    assert "chain forward {\n    type filter hook forward priority filter; policy drop;" in text
    assert 'log prefix "govcloud-drop forward: "' in text
    assert "flush ruleset" not in text  # never touches other tables
    for zone in estate.zones:
        for cidr in zone.cidrs.values():
            assert cidr in text


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="nft -c needs root")
def test_rendered_ruleset_passes_nft_check(estate, tmp_path):
    path = tmp_path / "nftables.conf"
    path.write_text(render(data_for(estate, _Host())))
    # check in a throw-away network namespace: nothing is loaded anywhere
    res = subprocess.run(["unshare", "-n", "nft", "-c", "-f", str(path)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.lab
@pytest.mark.parametrize("name", ["dc1-fw", "dc2-fw", "dr-fw"])
def test_ruleset_loaded_on_router(lab, lab_host, estate, name):
    h = lab_host(name)
    assert h.service("nftables").is_enabled
    live = h.check_output("nft list table inet govcloud")
    assert "policy drop" in live
    assert live.count("ct state new counter") == len(matrix_rules(estate))
    assert h.run("nft -c -f /etc/nftables.conf").rc == 0
    assert h.check_output("sysctl -n net.ipv4.ip_forward") == "1"


@pytest.mark.lab
def test_gatekeeper_does_not_forward(lab_host):
    assert lab_host("dc1-gk").check_output("sysctl -n net.ipv4.ip_forward") == "0"
