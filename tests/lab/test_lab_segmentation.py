"""Segmentation proven by packets: the zone matrix the routers enforce equals the model's."""

from __future__ import annotations

import pytest

from govcloud.lab.segmentation import expected, observe, pairs, probe_ports, render

pytestmark = pytest.mark.lab


def test_zone_matrix_matches_the_model(lab, estate, capsys):
    topo = lab.topology
    todo = pairs(topo, "region-a-dc1")
    ports = probe_ports(estate)
    want = expected(estate, todo)
    got = observe(lab, todo, ports)
    with capsys.disabled():
        print(f"\nsegmentation matrix (TCP ports {ports}; ferry flows ride the gatekeeper, "
              "UDP not probed):")
        print(render(got, want))
    opened = {p: {port for port, r in res.items() if r == "open"} for p, res in got.items()}
    assert opened == want
    # something must be allowed and something refused, or the check proves nothing
    assert any(want.values()) and any(not v for v in want.values())
    # what the model refuses is dropped silently by the firewall (no listener is missing:
    # observe() checked every one from the fabric first)
    blocked = {r for p, res in got.items() for port, r in res.items() if port not in want[p]}
    assert blocked == {"timeout"}


def test_drops_are_counted_and_logged_on_the_router(lab):
    res = lab.exec_on("dc1-fw", "nft list chain inet govcloud forward", check=True)
    tail = [line for line in res.stdout.splitlines() if "govcloud-drop forward" in line]
    assert tail, res.stdout
    packets = int(tail[0].split("packets")[1].split()[0])
    assert packets > 0
