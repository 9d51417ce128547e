"""roles/ids: fail2ban jails from the flags, never banning the lab's own tool address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import ids


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_ignore_only_loopback_and_tool(estate: Estate, topo: Topology) -> None:
    host = topo.host("dc1-waf")
    d = ids.data_for(estate, host)
    tool = topo.tool_addresses[(host.site, host.zone)]
    assert d.ignore == ["127.0.0.1/8", "::1", f"{tool.ip}/32"]
    # the probe host that plays the attacker is not exempt
    assert all(topo.host("dc1-probe").address not in i for i in d.ignore)


def test_jail_defaults_detect_and_block() -> None:
    jail = ids.render("jail.local.j2", ids.Data())
    assert "backend = systemd" in jail
    assert "maxretry = 5" in jail and "findtime = 600" in jail and "bantime = 3600" in jail
    sshd = jail.split("[sshd]")[1].split("[recidive]")[0]
    assert "enabled = true" in sshd
    assert "banaction = %(banaction_allports)s" in sshd  # every port of the attacker
    assert "banaction_allports = nftables-allports" in jail
    assert "bantime.increment = true" in jail
    assert "enabled = true" in jail.split("[recidive]")[1]


def test_flags_switch_jails() -> None:
    jail = ids.render("jail.local.j2", ids.Data(sshd_jail=False, recidive=False,
                                                ban_all_ports=False, bantime_increment=False))
    assert "enabled = true" not in jail
    assert "banaction = %(banaction_allports)s\n" not in jail.split("[recidive]")[0]
    assert "bantime.increment" not in jail


def test_limits_refused() -> None:
    with pytest.raises(ValidationError):
        ids.Data(maxretry=0)
    with pytest.raises(ValidationError):
        ids.Data(bantime_seconds=10)
