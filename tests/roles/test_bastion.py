"""roles/bastion: jump host vs protected target, sshd policy, tlog recording config."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate, Zone
from roles import bastion


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_bastion_zone_from_appliance_edges(estate: Estate) -> None:
    assert bastion.bastion_zone(estate) == Zone.MANAGEMENT


def test_jump_host_and_operators_from_model(estate: Estate, topo: Topology) -> None:
    d = bastion.data_for(estate, topo.host("dc1-bastion"))
    assert d.jump
    assert [a.name for a in d.operators] == [o.name for o in estate.operators]
    assert d.bastions == sorted(h.address for h in topo.with_role("bastion")
                                if h.zone == Zone.MANAGEMENT)


def test_target_accepts_operators_only_from_bastions(estate: Estate, topo: Topology) -> None:
    targets = [h for h in topo.with_role("bastion") if h.zone != Zone.MANAGEMENT]
    assert targets, "the lab profile protects at least one host behind the bastion"
    d = bastion.data_for(estate, targets[0])
    assert not d.jump
    conf = bastion.render("sshd-bastion.conf.j2", d)
    negated = ",".join(f"!{b}" for b in d.bastions)
    assert f"Match Group govcloud-ops Address *,{negated}\n" in conf
    assert "    DenyGroups govcloud-ops" in conf
    assert conf.rstrip().endswith("Match all")  # later config is not caught in the Match


def test_jump_host_forbids_forwarding_around_the_recorder() -> None:
    conf = bastion.render("sshd-bastion.conf.j2", bastion.Data(jump=True))
    block = conf.split("Match Group govcloud-ops")[1]
    for line in ("AllowTcpForwarding no", "AllowStreamLocalForwarding no", "PermitTunnel no"):
        assert line in block
    assert "LogLevel VERBOSE" in conf
    open_conf = bastion.render("sshd-bastion.conf.j2",
                               bastion.Data(jump=True, no_forwarding=False))
    assert "AllowTcpForwarding" not in open_conf


def test_tlog_records_to_syslog_without_keystrokes() -> None:
    conf = json.loads(bastion.render("tlog-rec-session.conf.j2", bastion.Data(jump=True)))
    assert conf["writer"] == "syslog"
    assert conf["log"]["output"] is True
    assert conf["log"]["input"] is False  # passwords typed at prompts stay out of the log
    assert conf["shell"] == "/bin/bash"
    on = json.loads(bastion.render("tlog-rec-session.conf.j2",
                                   bastion.Data(jump=True, record_input=True)))
    assert on["log"]["input"] is True


def test_audit_rules_cover_operator_commands() -> None:
    rules = bastion.render("bastion.rules.j2", bastion.Data(jump=True))
    assert "-S execve -F auid>=1000 -F auid!=unset -k bastion-session" in rules


def test_target_without_bastions_refused() -> None:
    with pytest.raises(ValidationError, match="needs the bastions"):
        bastion.Data(jump=False, bastions=[])
    assert bastion.Data(jump=False, bastions=[], only_via_bastion=False)
