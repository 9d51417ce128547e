"""Segmentation proven by packets: the zone matrix the routers enforce equals the model's."""

from __future__ import annotations

import pytest

from govcloud.lab.segmentation import expected, observe, pairs, probe_ports, render
from govcloud.model import Zone

pytestmark = pytest.mark.lab


def test_zone_matrix_matches_the_model(lab, estate, capsys):
    topo = lab.topology
    todo = pairs(topo, "region-a-dc1")
    ports = probe_ports(estate)
    want = expected(estate, todo, topo)
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
    """A refused probe (internet zone -> extranet ssh) raises the logged-drop counter."""
    import json

    from govcloud.lab.segmentation import CONNECTOR, representatives

    def dropped() -> int:
        res = lab.exec_on("dc1-fw", "nft list chain inet govcloud forward", check=True)
        tail = [line for line in res.stdout.splitlines() if "govcloud-drop forward" in line]
        assert tail, res.stdout
        return int(tail[0].split("packets")[1].split()[0])

    reps = representatives(lab.topology, "region-a-dc1")
    src, dst = reps[Zone.INTERNET], reps[Zone.EXTRANET]
    before = dropped()
    res = lab.exec_on(src.name, ["/usr/bin/python3", "-c", CONNECTOR,
                                 json.dumps([[dst.address, 22]]), "2"], check=True)
    assert json.loads(res.stdout) == ["timeout"]
    assert dropped() > before
