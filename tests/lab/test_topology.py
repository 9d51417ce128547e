"""Topology derivation and address allocation (fast, no root)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from govcloud.lab.profile import load_profile
from govcloud.lab.topology import build_topology, load_topology
from govcloud.model import EstateError, SiteName, Zone


@pytest.fixture(scope="module")
def topo(estate):
    return load_topology(estate)


def test_hosts_named_after_site_short_and_function(topo):
    names = {h.name for h in topo.hosts}
    assert {"dc1-fw", "dc2-fw", "dr-fw", "dc1-pg", "dc2-pg", "dr-pg", "dr-witness"} <= names
    for h in topo.hosts:
        assert h.name == f"{h.site_short}-{h.function}"


def test_every_address_inside_its_zone_cidr_on_its_site(topo, estate):
    for h in topo.hosts:
        for leg in h.legs:
            net = estate.zone(leg.zone).network(h.site)
            assert leg.address.network == net, (h.name, leg)


def test_addresses_unique_and_deterministic(topo, estate):
    addrs = [leg.ip for h in topo.hosts for leg in h.legs]
    assert len(addrs) == len(set(addrs))
    again = load_topology(estate)
    assert [(h.name, h.legs) for h in again.hosts] == [(h.name, h.legs) for h in topo.hosts]


def test_router_is_first_address_of_every_zone_and_gateway(topo, estate):
    for site in SiteName:
        fw = topo.router(site)
        assert {leg.zone for leg in fw.legs} == set(Zone)
        for leg in fw.legs:
            assert leg.address.ip == estate.zone(leg.zone).network(site).network_address + 1
        for h in topo.hosts_on(site):
            if not h.router:
                assert h.gateway == fw.leg(h.zone).ip


def test_hosts_count_from_offset_in_profile_order(topo, estate):
    net = estate.zone(Zone.EXTRANET).network(SiteName.DC1)
    extranet_dc1 = [h for h in topo.hosts_on(SiteName.DC1) if h.leg(Zone.EXTRANET) and not h.router]
    got = [h.leg(Zone.EXTRANET).address.ip for h in extranet_dc1]
    assert got == [net.network_address + 11 + i for i in range(len(got))]


def test_gatekeeper_has_two_legs_and_no_forwarding(topo):
    gk = topo.host("dc1-gk")
    assert {leg.zone for leg in gk.legs} == {Zone.INTERNET, Zone.EXTRANET}
    assert gk.forwarding is False


def test_router_routes_cover_every_remote_zone(topo, estate):
    fw = topo.router(SiteName.DC1)
    dests = {d for d, _ in fw.routes}
    for z in estate.zones:
        for site in (SiteName.DC2, SiteName.DR):
            assert z.cidrs[site] in dests
        assert z.cidrs[SiteName.DC1] not in dests


def test_links_follow_the_estate_with_bandwidth(topo, estate):
    assert [li.name for li in topo.links] == [li.name for li in estate.links]
    for lp, li in zip(topo.links, estate.links, strict=True):
        assert lp.bandwidth_mbps == li.bandwidth
        assert lp.a_addr.network == lp.b_addr.network


def test_tool_and_vip_addresses_do_not_collide_with_hosts(topo):
    hosts = {leg.ip for h in topo.hosts for leg in h.legs}
    tools = {str(a.ip) for a in topo.tool_addresses.values()}
    vips = {v for s in topo.services for v in s.vips.values()}
    assert not hosts & tools and not hosts & vips and not tools & vips
    assert topo.records()["hotline"] == topo.service("hotline").vips[SiteName.DC1]


def test_unknown_host_lookup_names_the_known_ones(topo):
    with pytest.raises(KeyError, match="dc1-fw"):
        topo.host("dc9-nope")


def _write(estate_copy: Path, doc: dict) -> None:
    (estate_copy / "lab.yaml").write_text(yaml.safe_dump(doc))


def _doc(estate_copy: Path) -> dict:
    return yaml.safe_load((estate_copy / "lab.yaml").read_text())


def test_profile_transit_overlap_is_refused(estate_copy):
    from govcloud.model import load_estate

    doc = _doc(estate_copy)
    doc["transit"] = "10.12.0.0/24"
    _write(estate_copy, doc)
    with pytest.raises(EstateError) as exc:
        load_profile(load_estate(estate_copy))
    assert any(p.rule == "cidr-overlap" and p.file == "lab.yaml" and p.field == "transit"
               for p in exc.value.problems)


def test_profile_unknown_zone_and_role_and_duplicate(estate_copy):
    from govcloud.model import load_estate

    doc = _doc(estate_copy)
    doc["hosts"].append({"function": "x", "zone": "dmz", "sites": ["region-a-dc1"],
                         "roles": ["baseline"]})
    doc["hosts"].append({"function": "pg", "zone": "extranet", "sites": ["region-a-dc1"],
                         "roles": ["nosuchrole"]})
    _write(estate_copy, doc)
    with pytest.raises(EstateError) as exc:
        load_profile(load_estate(estate_copy))
    rules = exc.value.rules()
    assert "unknown-zone" in rules
    doc["hosts"].pop(-2)
    _write(estate_copy, doc)
    with pytest.raises(EstateError) as exc:
        load_profile(load_estate(estate_copy))
    assert {"unknown-role", "duplicate-name"} <= exc.value.rules()


def test_profile_needs_one_router_per_site(estate_copy):
    from govcloud.model import load_estate

    doc = _doc(estate_copy)
    doc["hosts"][0]["sites"] = ["region-a-dc1"]
    _write(estate_copy, doc)
    with pytest.raises(EstateError) as exc:
        load_profile(load_estate(estate_copy))
    assert "lab-router" in exc.value.rules()


def test_adding_a_host_in_the_profile_only(estate_copy):
    from govcloud.model import load_estate

    doc = _doc(estate_copy)
    doc["hosts"].append({"function": "ids", "zone": "security-management",
                         "sites": ["region-a-dc2"], "roles": ["baseline", "ids"]})
    _write(estate_copy, doc)
    est = load_estate(estate_copy)
    topo = build_topology(est, load_profile(est))
    ids = topo.host("dc2-ids")
    assert ipaddress.ip_address(ids.address) in est.zone("security-management").network(
        SiteName.DC2)


def test_appliance_roles_need_the_appliance_on_the_site(estate):
    """A lab host may only stand in for an appliance the estate has on that site."""
    from govcloud.lab.profile import check_profile
    from govcloud.model import ApplianceKind

    profile = load_profile(estate)
    assert check_profile(profile, estate) == []
    fewer = estate.model_copy(update={"appliances": [
        a for a in estate.appliances
        if not (a.kind == ApplianceKind.WAF and a.site == SiteName.DC2)]})
    problems = check_profile(profile, fewer)
    assert {p.rule for p in problems} == {"lab-appliance-missing"}
    assert all("region-a-dc2" in p.message and p.file == "lab.yaml" for p in problems)
