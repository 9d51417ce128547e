"""policies/appliances.py and Estate.flows_of/edges_of: one truth for where appliances sit
and a plain statement of which the lab deploys."""

from __future__ import annotations

from govcloud.model import ApplianceKind, Estate, External, Zone
from policies.appliances import appliance_rows, placements, undeployed_kinds


def _appliance(estate: Estate, name: str):  # type: ignore[no-untyped-def]
    return next(a for a in estate.appliances if a.name == name)


def test_inline_appliances_sit_where_the_chains_name_them(estate: Estate) -> None:
    for a in estate.appliances:
        if a.kind.passive:
            continue
        named = {(f.source, f.destination) for f in estate.flows if a.kind in f.chain}
        assert set(estate.edges_of(a)) == named, a.name
    ips = _appliance(estate, "dc1-ips")
    assert estate.edges_of(ips) == [(Zone.DEDICATED, Zone.EXTRANET),
                                    (External.EGOV_WAN, Zone.EXTRANET)]


def test_passive_appliances_sit_where_they_observe(estate: Estate) -> None:
    db = _appliance(estate, "dc1-db-audit")
    assert db.kind.passive and [f.id for f in estate.flows_of(db)] == ["management-to-extranet"]
    log = _appliance(estate, "dc1-log-audit")
    # the log audit observes every flow that reaches the security-management zone's collector
    assert {e[1] for e in estate.edges_of(log)} == {Zone.SECURITY_MANAGEMENT}
    assert not any(k.passive for f in estate.flows for k in f.chain)


def test_each_deployed_appliance_names_its_lab_hosts(estate: Estate) -> None:
    by_name = {p.appliance.name: p for p in placements(estate)}
    assert by_name["dc1-waf"].hosts == ("dc1-waf",)
    assert by_name["dc1-ids"].hosts == ("dc1-waf",)  # fail2ban runs on the WAF hosts
    assert by_name["dc1-load-balancer"].hosts == ("dc1-lb1", "dc1-lb2")
    # the log hosts run the bastion role as protected targets: they are not the bastion
    assert by_name["dc1-bastion"].hosts == ("dc1-bastion",)
    assert by_name["dr-waf"].hosts == ()  # region B has no WAF host in the lab
    assert by_name["dc1-ips"].hosts == ("dc1-ips",)
    assert by_name["dr-ips"].hosts == ()  # nor an IPS host


def test_no_silent_promise(estate: Estate) -> None:
    """An appliance kind no role stands in for says so in its stand_in text; a deployed
    kind's text does not claim it is missing."""
    missing = set(undeployed_kinds())
    assert missing == {ApplianceKind.BEHAVIOUR_AUDIT, ApplianceKind.VPN_GATEWAY}
    for a in estate.appliances:
        assert a.stand_in.startswith("not deployed") == (a.kind in missing), a.name


def test_the_report_rows_say_not_deployed_plainly(estate: Estate) -> None:
    rows = {r[0]: r for r in appliance_rows(estate)}
    assert rows["dc1-anti-ddos"][5] == "dc1-waf"  # nftables in front of the WAF
    assert rows["dr-anti-ddos"][5] == "**not deployed**"  # region B has no WAF host
    assert rows["dc1-behaviour-audit"][3] == "**no flow names it**"
    assert rows["dc1-db-audit"][3] == "observes management-to-extranet"
    assert rows["dc1-waf"][3] == "in chain of public-web-ingress"
