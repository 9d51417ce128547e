"""roles/baseline on the real lab hosts (testinfra over the lab's Ansible inventory)."""

from __future__ import annotations

import re
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


# ------------------------------------------------------------------ hardening, every host
#
# One read of each host (through its namespaces) gathers what every concern below checks,
# right after the first deploy (``lab_first``: before other lab tests install client tools
# or change files on purpose). Session properties (umask, TMPDIR, core limit) need a real
# login, so they go through sshd and PAM with testinfra.

FACTS = r"""
sha() { sha256sum "$1" 2>/dev/null | cut -c1-64; }
echo "issue	$(sha /etc/issue)"
echo "issue_net	$(sha /etc/issue.net)"
echo "sshd_banner	$(sshd -T 2>/dev/null | awk '$1 == "banner" {print $2}')"
keys='kexalgorithms|ciphers|macs|hostkeyalgorithms|maxauthtries|maxsessions|loglevel'
keys="$keys|passwordauthentication|allowtcpforwarding"
sshd -T 2>/dev/null | awk -v k="^($keys)$" '$1 ~ k {print "sshd_" $1 "\t" $2}'
echo "pwquality	$(grep -c '^minlen = 12$' /etc/security/pwquality.conf)"
echo "faillock	$(grep -c 'pam_faillock.so preauth' /etc/pam.d/common-auth)"
aide --config=/etc/aide/govcloud.conf --check >/tmp/aide-first.txt 2>&1; echo "aide_rc	$?"
echo "aide_changes	$(grep -E '^[fdl].*: /' /tmp/aide-first.txt | head -5 | tr '\n' ' ')"
echo "integrity_timer	$(systemctl is-enabled govcloud-integrity-check.timer)"
echo "malware_timer	$(systemctl is-enabled govcloud-malware-scan.timer)"
av=$(govcloud-malware-scan --status); echo "av_status	$av rc=$?"
echo "freshclam	$(systemctl is-enabled clamav-freshclam 2>&1)"
echo "debsums	$(dpkg-query -W -f '${Status}' debsums 2>&1)"
echo "blacklisted	$(modprobe --showconfig 2>/dev/null | grep -c '^install .* /bin/false$')"
echo "usb_storage	$(modprobe --showconfig 2>/dev/null | grep -c '^blacklist usb_storage$')"
echo "iface_redirects	$(ls -d /proc/sys/net/ipv4/conf/*/ | grep -v /lo/ \
  | sed 's#$#accept_redirects#' | xargs cat | sort -u | tr '\n' ' ')"
k=/etc/sysctl.d/60-govcloud-baseline-kernel.conf
echo "core_sysctl_file	$(grep -c '^fs.suid_dumpable = 0$' $k)"
echo "umask_defs	$(awk '$1 == "UMASK" {print $2}' /etc/login.defs)"
echo "rounds	$(awk '$1 == "SHA_CRYPT_MIN_ROUNDS" {print $2}' /etc/login.defs)"
echo "encrypt	$(awk '$1 == "ENCRYPT_METHOD" {print $2}' /etc/login.defs)"
echo "acct	$(systemctl is-active acct)"
/bin/true; sync
echo "lastcomm	$(lastcomm --command true 2>/dev/null | head -1 | cut -c1-10)"
echo "sysstat	$(systemctl is-enabled sysstat-collect.timer) \
$(grep -c '^ENABLED="true"' /etc/default/sysstat)"
echo "apt_uris	$(apt-get indextargets --no-release-info --format '$(REPO_URI)$(RELEASE)' \
  | sort -u | tr '\n' ' ')"
echo "apt_simulate	$(apt-get install -s --no-download aide >/dev/null 2>&1; echo $?)"
echo "auto_upgrade	$(grep -o 'Unattended-Upgrade "[01]"' /etc/apt/apt.conf.d/20auto-upgrades)"
echo "needrestart	$(grep -c "restart} = 'l'" /etc/needrestart/conf.d/govcloud.conf)"
echo "listchanges	$(dpkg-query -W -f '${Status}' apt-listchanges 2>&1)"
"""


def _every_host(lab, fn):  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    names = [h.name for h in lab.topology.hosts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(names, pool.map(fn, names), strict=True))


@pytest.fixture(scope="module")
def facts(lab):  # type: ignore[no-untyped-def]
    def read(name: str) -> dict[str, str]:
        res = lab.exec_on(name, FACTS, timeout=300)
        return dict(line.split("\t", 1) for line in res.stdout.splitlines() if "\t" in line)

    return _every_host(lab, read)


def _bad(facts, key, ok):  # type: ignore[no-untyped-def]
    """Hosts whose fact ``key`` fails ``ok`` (with the value seen)."""
    return {name: f.get(key) for name, f in facts.items() if not ok(f.get(key, ""))}


@pytest.mark.lab_first
def test_every_host_is_clean_against_its_integrity_baseline(facts):
    bad = {n: (f.get("aide_rc"), f.get("aide_changes")) for n, f in facts.items()
           if f.get("aide_rc") != "0"}
    assert not bad, f"AIDE reports changes right after the deploy: {bad}"
    assert not _bad(facts, "integrity_timer", lambda v: v == "enabled")
    assert not _bad(facts, "debsums", lambda v: v == "install ok installed")


@pytest.mark.lab_first
def test_every_host_runs_sshd_and_identity_controls_from_the_model(lab, facts):
    """The SAMPLE hosts above are checked in depth; here every host, from one read."""
    from govcloud.model import load_estate
    from roles import baseline

    estate = load_estate()
    bad = {}
    for name, f in facts.items():
        d = baseline.data_for(estate, lab.topology.host(name))
        want = {"sshd_kexalgorithms": ",".join(d.ssh_kex),
                "sshd_ciphers": ",".join(d.ssh_ciphers), "sshd_macs": ",".join(d.ssh_macs),
                "sshd_hostkeyalgorithms": ",".join(d.ssh_host_key_algorithms),
                "sshd_maxauthtries": str(d.ssh_max_auth_tries),
                "sshd_maxsessions": str(d.ssh_max_sessions), "sshd_loglevel": "VERBOSE",
                "sshd_passwordauthentication": "no", "pwquality": "1", "faillock": "1"}
        if d.ssh_no_forwarding:
            want["sshd_allowtcpforwarding"] = "no"
        diff = {k: (f.get(k), v) for k, v in want.items() if f.get(k) != v}
        if diff:
            bad[name] = diff
    assert not bad, bad


@pytest.mark.lab_first
def test_every_host_shows_the_legal_banner(lab, facts):
    import hashlib

    from govcloud.model import load_estate
    from roles import baseline

    text = baseline.render("banner.j2", _baseline_data("dc1-app"))
    want = hashlib.sha256(text.encode()).hexdigest()
    assert not _bad(facts, "issue", lambda v: v == want)
    assert not _bad(facts, "issue_net", lambda v: v == want)
    assert not _bad(facts, "sshd_banner", lambda v: v == "/etc/issue.net")
    # what an SSH client is shown before it authenticates
    res = subprocess.run(
        ["ssh", "-o", "BatchMode=yes", "-o", "PreferredAuthentications=none",
         "-o", f"UserKnownHostsFile={lab.known_hosts}", f"root@{lab.address('dc1-app')}",
         "true"], capture_output=True, text=True, timeout=30)
    assert load_estate().cloud.login_banner.en.splitlines()[0] in res.stderr


@pytest.mark.lab_first
def test_every_host_has_antimalware_and_says_signatures_are_missing(facts):
    # the lab serves no mirror (estate/lab.yaml): the status says so, exit 3, never "clean"
    assert not _bad(facts, "av_status", lambda v: v.startswith("signatures missing")
                    and v.endswith("rc=3"))
    assert not _bad(facts, "freshclam", lambda v: v == "disabled")
    assert not _bad(facts, "malware_timer", lambda v: v == "enabled")


@pytest.mark.lab_first
def test_every_host_blacklists_unused_modules(facts):
    n = len(_baseline_data("dc1-app").blacklisted_modules)
    assert not _bad(facts, "blacklisted", lambda v: v == str(n))
    assert not _bad(facts, "usb_storage", lambda v: v == "1")


def test_module_refusal_is_not_verifiable_in_a_container(lab):
    res = lab.exec_on("dc1-app", "systemd-detect-virt --container")
    if res.stdout.strip() not in ("", "none"):
        pytest.skip("not verifiable in the lab: containers share the machine's kernel and "
                    "cannot load or refuse kernel modules (the configuration is checked above)")
    assert lab.exec_on("dc1-app", "modprobe usb-storage").returncode != 0


@pytest.mark.lab_first
def test_every_host_filters_its_network_stack(lab, facts):
    from roles.baseline import hardening

    for name in facts:
        host = lab.topology.host(name)
        want = hardening.network_settings(bool(host.forwarding))
        got = lab.exec_on(name, "sysctl -n " + " ".join(want)).stdout.split()
        assert got == list(want.values()), name
    # every leg, not only "all"/"default": the lab sets them before the legs exist
    # (loopback keeps its own value, as on any host: no router's redirect arrives on lo)
    assert not _bad(facts, "iface_redirects", lambda v: v.strip() == "0")


def test_machine_wide_sysctls_are_not_verifiable_in_a_container(lab):
    assert lab.exec_on("dc1-app", "grep -c '^fs.suid_dumpable = 0$' "
                       "/etc/sysctl.d/60-govcloud-baseline-kernel.conf").stdout.strip() == "1"
    res = lab.exec_on("dc1-app", "systemd-detect-virt --container")
    if res.stdout.strip() not in ("", "none"):
        pytest.skip("not verifiable in the lab: fs.suid_dumpable and kernel.* are the "
                    "machine's own sysctls, which a container may not set (written for boot)")
    assert lab.exec_on("dc1-app", "sysctl -n fs.suid_dumpable").stdout.strip() == "0"


@pytest.mark.lab_first
def test_every_host_defaults_accounts_safely(facts):
    assert not _bad(facts, "umask_defs", lambda v: v == "027")
    assert not _bad(facts, "rounds", lambda v: v == "640000")
    assert not _bad(facts, "encrypt", lambda v: v == "SHA512")
    assert not _bad(facts, "core_sysctl_file", lambda v: v == "1")


@pytest.mark.lab_first
def test_every_host_accounts_for_processes_and_resources(facts):
    assert not _bad(facts, "acct", lambda v: v == "active")
    assert not _bad(facts, "lastcomm", lambda v: v.startswith("true"))
    assert not _bad(facts, "sysstat", lambda v: v == "enabled 1")


@pytest.mark.lab_first
def test_every_host_patches_from_the_internal_mirror_only(facts):
    from govcloud.model import load_estate

    mirrors = load_estate().cloud.mirrors
    want = (f"{mirrors.debian_security}/bookworm-security {mirrors.debian}/bookworm "
            f"{mirrors.debian}/bookworm-updates ")
    assert not _bad(facts, "apt_uris", lambda v: v == want)
    # the pre-downloaded packages still install with the mirror's sources in place
    assert not _bad(facts, "apt_simulate", lambda v: v == "0")
    assert not _bad(facts, "auto_upgrade", lambda v: v == 'Unattended-Upgrade "0"')
    assert not _bad(facts, "needrestart", lambda v: v == "1")
    assert not _bad(facts, "listchanges", lambda v: v == "install ok installed")


@pytest.mark.lab_first
def test_login_sessions_get_umask_private_tmp_and_no_core_dumps(lab, lab_host):
    def session(name: str) -> str:
        return lab_host(name).check_output("umask; echo $TMPDIR; ulimit -Hc")

    got = _every_host(lab, session)
    bad = {n: v for n, v in got.items() if v.split() != ["0027", "/tmp/user/0", "0"]}
    assert not bad, bad


def test_a_file_changed_by_hand_is_reported_to_the_log_audit(lab):
    """The daily check (the real unit) reports an added and a changed file, AIDE and
    debsums both, and the report reaches the site's log-audit host; once the host is put
    back and re-sealed (as an operator would after investigating) it reports clean."""
    import time
    import uuid

    name = "dc1-app"
    site = lab.topology.host(name).site
    log_host = lab.topology.with_role("log_audit", site)[0].name
    tag = uuid.uuid4().hex[:8]
    implant = f"/usr/local/sbin/implant-{tag}"
    # earlier lab tests install client tools here: accept the host as it is now (an
    # operator's re-seal), so the check below reports exactly the hand-made change
    lab.exec_on(name, "govcloud-integrity-check --seal", check=True)
    lab.exec_on(name, f"cp -p /usr/bin/tac /root/tac.orig && printf '\\0' >> /usr/bin/tac "
                      f"&& echo {tag} > {implant}", check=True)
    try:
        since = lab.exec_on(name, "date +%s").stdout.strip()
        res = lab.exec_on(name, "systemctl start govcloud-integrity-check.service")
        assert res.returncode != 0  # the unit fails: something changed
        log = lab.exec_on(name, f"journalctl -t govcloud-integrity --no-pager --since @{since}"
                          ).stdout
        assert f"integrity=aide action=added file={implant}" in log
        assert "integrity=aide action=changed file=/usr/bin/tac" in log
        assert "integrity=debsums action=changed file=/usr/bin/tac" in log
        assert "integrity verdict: aide=changed added=1 removed=0 changed=" in log
        # nothing else: the file and the directories whose times moved (the overlay's
        # copy-up of a file from the image also touches its directory)
        changed = set(re.findall(r"integrity=aide action=changed file=(\S+)", log))
        assert changed <= {"/usr/bin/tac", "/usr/bin", "/usr/local/sbin"}, changed
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if lab.exec_on(log_host, f"grep -rl implant-{tag} /var/log/remote/{name}/"
                           ).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail(f"the integrity report never reached {log_host}")
    finally:
        lab.exec_on(name, f"cp -p /root/tac.orig /usr/bin/tac && rm -f {implant} "
                          "/root/tac.orig && govcloud-integrity-check --seal >/dev/null && "
                          "systemctl reset-failed govcloud-integrity-check.service",
                    check=True)
    res = lab.exec_on(name, "govcloud-integrity-check --packages")
    assert res.returncode == 0, res.stdout
    assert "integrity verdict: aide=clean added=0 removed=0 changed=0 debsums=clean" in res.stdout


EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_the_scheduled_scan_finds_the_eicar_file_and_names_its_signatures(lab):
    name = "dc1-app"
    lab.exec_on(name, "mkdir -p /home/uploads && cat > /home/uploads/eicar.txt",
                input=EICAR, check=True)
    try:
        res = lab.exec_on(name, "systemctl start govcloud-malware-scan.service")
        assert res.returncode != 0  # found: the unit fails
        log = lab.exec_on(name, "journalctl -t govcloud-malware-scan --no-pager -n 50").stdout
        assert ("malware-scan action=found file=/home/uploads/eicar.txt "
                "signature=govcloud.Local.EICAR-Test-File.UNOFFICIAL") in log
        # the verdict never claims more than the signatures it had
        assert "infected=1 signatures missing" in log
    finally:
        lab.exec_on(name, "rm -rf /home/uploads && "
                          "systemctl reset-failed govcloud-malware-scan.service")


def test_audit_rules_loaded_is_not_verifiable_in_a_container(lab):
    res = lab.exec_on("dc1-app", "systemd-detect-virt --container")
    if res.stdout.strip() not in ("", "none"):
        pytest.skip("not verifiable in the lab: the kernel audit interface exists only in the "
                    "machine's initial namespaces; the rules are compiled and checked above")
    assert "-k privileged" in lab.exec_on("dc1-app", "auditctl -l").stdout
