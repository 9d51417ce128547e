"""Fault injection the drill runner reuses: silent and link-down cuts, and healing."""

from __future__ import annotations

import pytest

from govcloud.lab.segmentation import CONNECTOR

pytestmark = pytest.mark.lab


def _tcp(lab, source: str, dest: str, port: int = 22, timeout: float = 2.0) -> str:
    import json

    res = lab.exec_on(source, ["/usr/bin/python3", "-c", CONNECTOR,
                               json.dumps([[lab.address(dest), port]]), str(timeout)],
                      check=True)
    return json.loads(res.stdout)[0]


def _ping(lab, source: str, dest: str) -> str:
    res = lab.exec_on(source, f"ping -n -c1 -W2 {lab.address(dest)}")
    return res.stdout + res.stderr


def test_silent_site_cut_and_heal(lab):
    # the routers answer ping on their management legs; ssh to a router is not in the
    # matrix from the extranet, so the probe is router -> router over the link
    assert "1 received" in _ping(lab, "dc1-fw", "dc2-fw")
    lab.cut_site("region-a-dc1")
    try:
        out = _ping(lab, "dc1-fw", "dc2-fw")
        assert "0 received" in out and "unreachable" not in out.lower()  # silent: no ICMP
        assert "0 received" in _ping(lab, "dc1-fw", "dr-fw")
        assert "1 received" in _ping(lab, "dc2-fw", "dr-fw")  # the rest stays connected
        assert lab.cuts()
    finally:
        lab.heal_site("region-a-dc1")
    assert not lab.cuts()
    assert "1 received" in _ping(lab, "dc1-fw", "dc2-fw")


def test_link_down_cut_and_heal(lab):
    from govcloud.lab.engine import LabError

    link = lab.topology.link("region-a-dc2", "region-b-dr")
    lab.cut_link("region-a-dc2", "region-b-dr", silent=False)
    try:
        assert "0 received" in _ping(lab, "dc2-fw", "dr-fw")
        assert "1 received" in _ping(lab, "dc1-fw", "dr-fw")
        # a link that stays cut is reported, bounded, instead of waited on forever
        with pytest.raises(LabError, match=f"link\\(s\\) {link.name} .* still carry no traffic"):
            lab.wait_link([link], timeout=2)
    finally:
        lab.heal_link("region-a-dc2", "region-b-dr")
    # the first packet after the heal gets through: heal_link returns once the link works
    for _ in range(3):
        assert "1 received" in _ping(lab, "dc2-fw", "dr-fw")


def test_exec_on_works_when_a_site_is_cut(lab):
    """exec_on enters the host's namespaces: drills can act on a cut-off site."""
    lab.cut_site("region-a-dc2")
    try:
        assert _tcp(lab, "dc1-pg", "dc2-pg", 22) == "timeout"
        assert lab.exec_on("dc2-pg", "hostname", check=True).stdout.strip() == "dc2-pg"
    finally:
        lab.heal_site("region-a-dc2")


def test_links_are_shaped_to_the_model_bandwidth(lab):
    from govcloud.lab.engine import link_bridge

    for link in lab.topology.links:
        out = lab.fabric_exec(["tc", "qdisc", "show", "dev", f"{link_bridge(link)}-a"]).stdout
        want = int(link.bandwidth_mbps)
        rate = f"{want // 1000}Gbit" if want >= 1000 else f"{want}Mbit"
        assert "tbf" in out and f"rate {rate}" in out, out
