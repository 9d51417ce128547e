"""roles/baseline: sshd drop-in rendered from the model (no host needed), flag by flag."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import baseline

SSHD = "sshd-baseline.conf.j2"


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def _lines(d: baseline.Data) -> set[str]:
    return {line for line in baseline.render(SSHD, d).splitlines()
            if line and not line.startswith("#")}


def test_algorithms_come_from_the_crypto_profile_channel_reaching_the_zone(
    estate: Estate, topo: Topology
) -> None:
    # extranet hosts are reached by bastion-to-hosts-ssh: aes256-gcm only
    pg = _lines(baseline.data_for(estate, topo.host("dc1-pg")))
    assert "Ciphers aes256-gcm@openssh.com" in pg
    assert "MACs hmac-sha2-512-etm@openssh.com" in pg
    # the RFC name and libssh's name of the same exchange (paramiko knows only the latter)
    assert "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org" in pg
    assert "HostKeyAlgorithms ssh-ed25519" in pg
    # management hosts are reached by ops-ssh, which also allows chacha20-poly1305
    bastion = _lines(baseline.data_for(estate, topo.host("dc1-bastion")))
    assert "Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com" in bastion


def test_suites_sort_into_kex_cipher_and_mac(estate: Estate) -> None:
    from govcloud.model import Zone

    algs = baseline.ssh_algorithms(estate, Zone.MANAGEMENT)
    suites = {s for c in estate.crypto if c.name == "ops-ssh" for s in c.suites}
    listed = set(algs["ssh_kex"]) | set(algs["ssh_ciphers"]) | set(algs["ssh_macs"])
    assert suites <= listed  # nothing of the profile is dropped
    assert not set(algs["ssh_kex"]) & set(algs["ssh_ciphers"])


def test_secure_defaults_are_dev_sec_level() -> None:
    lines = _lines(baseline.Data(hostname="h"))
    for want in ("PasswordAuthentication no", "PermitUserEnvironment no", "Compression no",
                 "MaxAuthTries 4", "MaxSessions 10", "LogLevel VERBOSE",
                 "AllowAgentForwarding no", "AllowTcpForwarding no", "X11Forwarding no",
                 "PermitTunnel no", "TCPKeepAlive no", "ClientAliveCountMax 2",
                 "HostbasedAuthentication no", "IgnoreRhosts yes"):
        assert want in lines, want


@pytest.mark.parametrize(("flag", "gone"), [
    ("ssh_crypto", ("KexAlgorithms", "Ciphers", "MACs", "HostKeyAlgorithms")),
    ("ssh_limits", ("MaxAuthTries", "MaxSessions", "MaxStartups")),
    ("ssh_verbose_log", ("LogLevel",)),
    ("ssh_no_forwarding", ("AllowAgentForwarding", "AllowTcpForwarding",
                           "AllowStreamLocalForwarding", "PermitTunnel", "GatewayPorts")),
    ("ssh_idle_timeout", ("ClientAliveInterval", "ClientAliveCountMax", "TCPKeepAlive")),
])
def test_each_flag_off_removes_exactly_its_concern(flag: str, gone: tuple[str, ...]) -> None:
    on = _lines(baseline.Data(hostname="h"))
    off = _lines(baseline.Data(hostname="h", **{flag: False}))
    removed = {line.split()[0] for line in on - off}
    assert removed == set(gone)
    assert off < on


def test_the_bastion_decides_its_own_forwarding(estate: Estate, topo: Topology) -> None:
    assert baseline.data_for(estate, topo.host("dc1-bastion")).ssh_no_forwarding is False
    assert baseline.data_for(estate, topo.host("dc1-pg")).ssh_no_forwarding is True


@pytest.mark.parametrize("bad", [{"ssh_ciphers": []}, {"ssh_max_auth_tries": 0},
                                 {"ssh_moduli_min_bits": 1024}])
def test_bad_values_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        baseline.Data(hostname="h", **bad)
