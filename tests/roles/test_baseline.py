"""roles/baseline on the real lab hosts (testinfra over the lab's Ansible inventory)."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = pytest.mark.lab

# one host of each kind and site: the router, an extranet host, the log/DNS host, DR
SAMPLE = ["dc1-fw", "dc1-pg", "dc2-log", "dr-witness"]


def _baseline_data(name: str):  # type: ignore[no-untyped-def]
    """What roles/baseline deploys on ``name``, from the model (the test's expectation)."""
    from govcloud.lab import build_topology
    from govcloud.lab.profile import load_profile
    from govcloud.model import load_estate
    from roles import baseline

    estate = load_estate()
    return baseline.data_for(estate, build_topology(estate, load_profile(estate)).host(name))


@pytest.mark.parametrize("name", SAMPLE)
def test_identity_controls(lab_host, name):
    h = lab_host(name)
    assert h.package("libpam-pwquality").is_installed
    pw = h.file("/etc/security/pwquality.conf").content_string
    assert "minlen = 12" in pw and "minclass = 3" in pw
    defs = h.file("/etc/login.defs").content_string
    assert "\nPASS_MAX_DAYS\t90" in defs
    assert "pam_faillock.so" in h.file("/etc/pam.d/common-auth").content_string
    assert "deny = 5" in h.file("/etc/security/faillock.conf").content_string


@pytest.mark.parametrize("name", SAMPLE)
def test_sshd_effective_config(lab_host, name):
    h = lab_host(name)
    cfg = dict(
        line.split(" ", 1) for line in h.check_output("sshd -T").splitlines() if " " in line
    )
    assert cfg["passwordauthentication"] == "no"
    assert cfg["kbdinteractiveauthentication"] == "no"
    assert cfg["permitrootlogin"] == "without-password"
    assert cfg["clientaliveinterval"] == "300"
    # dev-sec ssh-hardening level, the algorithm lists from estate/crypto.yaml
    want = _baseline_data(name)
    assert cfg["kexalgorithms"] == ",".join(want.ssh_kex)
    assert cfg["ciphers"] == ",".join(want.ssh_ciphers)
    assert cfg["macs"] == ",".join(want.ssh_macs)
    assert cfg["hostkeyalgorithms"] == ",".join(want.ssh_host_key_algorithms)
    for key, value in (("maxauthtries", "4"), ("maxsessions", "10"), ("loglevel", "VERBOSE"),
                       ("compression", "no"), ("permituserenvironment", "no"),
                       ("tcpkeepalive", "no"), ("clientalivecountmax", "2"),
                       ("x11forwarding", "no")):
        assert cfg[key] == value, key
    if want.ssh_no_forwarding:  # hosts with the bastion role decide forwarding themselves
        for key in ("allowtcpforwarding", "allowagentforwarding", "allowstreamlocalforwarding",
                    "permittunnel"):
            assert cfg[key] == "no", key
    # no Diffie-Hellman group-exchange modulus under 3072 bits is left (moduli(5): size - 1)
    weak = h.check_output("awk '!/^#/ && NF >= 7 && $5 < 3071' /etc/ssh/moduli | wc -l")
    assert weak.strip() == "0"
    assert h.service("ssh").is_running
    assert "TMOUT=600" in h.file("/etc/profile.d/zz-govcloud-tmout.sh").content_string


def test_password_login_is_refused(lab):
    """A real SSH password attempt from the fabric: the server offers publickey only."""
    addr = lab.address("dc1-bastion")
    res = subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
         "-o", "PreferredAuthentications=password,keyboard-interactive",
         "-o", f"UserKnownHostsFile={lab.known_hosts}", f"root@{addr}", "true"],
        capture_output=True, text=True, timeout=30)
    assert res.returncode == 255
    assert "Permission denied (publickey)" in res.stderr


@pytest.mark.parametrize("name", SAMPLE)
def test_audit_rules(lab_host, name):
    h = lab_host(name)
    assert h.package("auditd").is_installed
    rules = h.file("/etc/audit/rules.d/50-govcloud.rules").content_string
    assert "-k privileged" in rules and "-w /etc/shadow -p wa -k identity" in rules
    # compiled by augenrules into the file auditd loads at boot
    assert "-k privileged" in h.file("/etc/audit/audit.rules").content_string


def test_time_from_the_site_source(lab, lab_host):
    topo = lab.topology
    for name in ("dc1-pg", "dr-witness"):
        h = lab_host(name)
        assert h.service("chrony").is_running
        source = topo.with_role("dns", topo.host(name).site)[0].address
        assert f"server {source} " in h.file("/etc/chrony/chrony.conf").content_string
        out = h.check_output("chronyc -n sources")
        assert source in out
    server = lab_host(topo.with_role("dns", "region-a-dc1")[0].name)
    assert server.service("chrony").is_running
    assert "local stratum 8" in server.file("/etc/chrony/chrony.conf").content_string


def test_logs_forwarded_to_the_site_log_host(lab, lab_host):
    topo = lab.topology
    h = lab_host("dc2-pg")
    target = topo.with_role("log_audit", "region-a-dc2")[0].address
    conf = h.file("/etc/rsyslog.d/60-govcloud-forward.conf").content_string
    assert f'target="{target}"' in conf and 'port="514"' in conf and 'protocol="tcp"' in conf
    assert h.service("rsyslog").is_running


@pytest.mark.parametrize("name", SAMPLE)
def test_resolver_is_the_lab_dns(lab, lab_host, name):
    h = lab_host(name)
    resolv = h.file("/etc/resolv.conf").content_string
    site = lab.topology.host(name).site
    dns = [x.address for x in lab.topology.with_role("dns", site)]
    assert [line.split()[1] for line in resolv.splitlines()
            if line.startswith("nameserver")] == dns
