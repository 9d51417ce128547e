"""roles/waf: data from the model, rendered ModSecurity/nginx config, flags."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import waf


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_data_from_model(estate: Estate, topo: Topology) -> None:
    d = waf.data_for(estate, topo.host("dc1-waf"))
    # port: public-web-ingress (public-internet -> internet through a waf) carries tcp/80
    assert d.listen_port == 80
    # front end: hotline-12345's internet-zone web component (port 8443), served locally
    assert d.frontend_port == 8443
    assert d.portal_title == "12345政务服务便民热线"
    assert d.upstreams() == ["127.0.0.1:8443"]


def test_defaults_are_blocking_crs() -> None:
    d = waf.Data()
    assert d.modsecurity and d.blocking and d.audit_log and d.hide_version
    rules = waf.render("modsecurity-main.conf.j2", d)
    assert "SecRuleEngine On" in rules
    assert "DetectionOnly" not in rules
    assert "Include /usr/share/modsecurity-crs/rules/*.conf" in rules
    assert "tx.paranoia_level=1" in rules
    assert "tx.inbound_anomaly_score_threshold=5" in rules
    # the engine's setting comes after Debian's DetectionOnly default, so it wins
    assert rules.index("Include /etc/nginx/modsecurity.conf") < rules.index("SecRuleEngine On")


def test_detection_only_flag() -> None:
    rules = waf.render("modsecurity-main.conf.j2", waf.Data(blocking=False))
    assert "SecRuleEngine DetectionOnly" in rules


def test_site_proxies_through_modsecurity() -> None:
    site = waf.render("waf-site.conf.j2", waf.Data())
    assert "listen 80 default_server;" in site
    assert "modsecurity on;" in site
    assert "modsecurity_rules_file /etc/nginx/modsecurity/govcloud-main.conf;" in site
    assert "server 127.0.0.1:8443" in site
    assert "listen 127.0.0.1:8443;" in site  # the front end is not reachable around the WAF
    assert "server_tokens off;" in site
    off = waf.render("waf-site.conf.j2", waf.Data(modsecurity=False, security_headers=False))
    assert "modsecurity" not in off
    assert "X-Frame-Options" not in off


def test_remote_backends_replace_local_frontend() -> None:
    d = waf.Data(backends=["10.11.0.21:8443", "10.11.0.22:8443"])
    site = waf.render("waf-site.conf.j2", d)
    assert "server 10.11.0.21:8443" in site and "server 10.11.0.22:8443" in site
    assert "127.0.0.1" not in site


def test_bad_values_refused() -> None:
    with pytest.raises(ValidationError):
        waf.Data(paranoia_level=5)
    with pytest.raises(ValidationError):
        waf.Data(listen_port=0)


def test_no_waf_flow_is_an_error(estate: Estate) -> None:
    flows = [f for f in estate.flows if "waf" not in [str(c) for c in f.chain]]
    with pytest.raises(LookupError, match="traverses a waf"):
        waf.ingress_port(estate.model_copy(update={"flows": flows}))
