"""roles/dns: lab names resolve on every host; service names can be repointed."""

from __future__ import annotations

import pytest

from govcloud.lab.dns import repoint, resolve
from roles.dns import hosts_text


def test_hosts_text_is_sorted_and_qualified():
    text = hosts_text({"b": "10.0.0.2", "a": "10.0.0.1"}, "lab.test")
    assert text == "10.0.0.1 a.lab.test a\n10.0.0.2 b.lab.test b\n"


@pytest.mark.lab
@pytest.mark.parametrize("client", ["dc1-pg", "dc2-app", "dr-witness"])
def test_every_lab_name_resolves(lab, client):
    topo = lab.topology
    for name in ("dc1-pg", "dc2-pg", "dr-pg", "dc1-fw"):
        assert resolve(lab, client, f"{name}.{topo.domain}") == topo.address(name)
    assert resolve(lab, client, "dr-log") == topo.address("dr-log")  # search domain


@pytest.mark.lab
def test_no_upstream_resolution(lab):
    assert resolve(lab, "dc1-pg", "deb.debian.org") is None


@pytest.mark.lab
def test_service_name_repoint_and_reset(lab, lab_host):
    topo = lab.topology
    svc = topo.service("hotline")
    assert resolve(lab, "dc2-app", svc.fqdn) == svc.vips[svc.primary]
    try:
        addr = repoint(lab, "hotline", "region-b-dr")
        assert addr == svc.vips["region-b-dr"]
        for client in ("dc1-app", "dc2-app", "dr-witness"):
            assert resolve(lab, client, svc.fqdn) == addr
    finally:
        repoint(lab, "hotline", svc.primary)
    assert resolve(lab, "dc1-app", svc.fqdn) == svc.vips[svc.primary]
    assert lab_host("dc1-log").service("dnsmasq").is_running
