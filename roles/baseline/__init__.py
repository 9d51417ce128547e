"""baseline — 等保2.0 (GB/T 22239-2019) level-3 host controls every host gets.

Concerns, each behind its own flag (secure default = on):

- identity: password quality (pam_pwquality), password expiry (login.defs), login-failure
  lockout (pam_faillock) — 身份鉴别;
- remote access: SSH keys only, no root password login, idle timeout (sshd
  ClientAlive* and a shell ``TMOUT``) — 身份鉴别 / 访问控制;
- sshd to dev-sec ssh-hardening's level, each a flag: explicit key-exchange, cipher,
  MAC and host-key lists from ``estate/crypto.yaml`` (the ssh channel that reaches the
  host's zone; 密评: where SM algorithms are wanted the crypto-sm waiver says OpenSSH has
  none), limits (``MaxAuthTries``, ``MaxSessions``), ``LogLevel VERBOSE`` (key
  fingerprints in the log audit), no agent/TCP/X11/tunnel forwarding except on hosts
  whose ``bastion`` role decides forwarding itself, no compression, no user
  environment, and Diffie-Hellman moduli below 3072 bits removed — 入侵防范 / 数据保密性;
- audit: auditd rules for privileged commands and identity files — 安全审计;
- time: chrony synchronised to the site's time source (the lab's ``dns`` host), so
  audit records from every host line up — 安全审计 (time stamps);
- log forwarding: rsyslog over TCP/514 to the site's log-audit host (集中审计);
- the hardening concerns of :mod:`roles.baseline.hardening`, each a flag: legal banner,
  file integrity (AIDE, debsums; the baseline sealed by :func:`seal`, the last step of
  every deploy), anti-malware (ClamAV), kernel (module blacklist, core dumps, sysctls),
  accounts (umask, hashing rounds, pam_tmpdir, acct, sysstat) and patch sources (APT on
  the internal mirror, unattended security upgrades) — 入侵防范 / 恶意代码防范 /
  数据完整性 / 剩余信息保护.

Peers (time source, log host, name servers) come from the topology the host belongs to,
which is derived from the estate model; nothing here names an address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import Estate, Zone
from roles._render import render as _render
from roles.baseline import hardening
from roles.baseline.hardening import CONCERN_PACKAGES

BASE_PACKAGES = ("libpam-pwquality", "auditd", "chrony", "rsyslog", "openssh-server")
# what the lab image pre-downloads: the base set and every concern's (hardening.py)
PACKAGES = (*BASE_PACKAGES, *(p for ps in CONCERN_PACKAGES.values() for p in ps))
SERVICES = ("ssh", "chrony", "rsyslog")
TEMPLATES = Path(__file__).parent / "templates"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/10-baseline.conf"
MODULI = "/etc/ssh/moduli"
# crypto.yaml names key exchanges as the RFC does; OpenSSH also answers to the
# pre-standard libssh name of the same algorithm, which older clients (paramiko, which
# the lab's pyinfra deploys with) know only by that name.
KEX_ALIASES = {"curve25519-sha256": "curve25519-sha256@libssh.org"}
# how crypto.yaml's ssh suites sort into sshd's lists
_SSH_KEX = ("curve25519", "sntrup", "mlkem", "ecdh-sha2", "diffie-hellman")
_SSH_MAC = ("hmac-", "umac-")
_SSH_HOSTKEY = ("ssh-", "ecdsa-sha2", "rsa-sha2")


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hostname: str
    # identity
    password_quality: bool = True
    pw_minlen: int = Field(default=12, ge=8)
    pw_minclass: int = Field(default=3, ge=1, le=4)
    password_expiry: bool = True
    pass_max_days: int = Field(default=90, ge=1)
    pass_min_days: int = Field(default=1, ge=0)
    pass_warn_age: int = Field(default=7, ge=0)
    login_lockout: bool = True
    lockout_deny: int = Field(default=5, ge=1)
    lockout_unlock_seconds: int = Field(default=900, ge=60)
    # remote access
    ssh_hardening: bool = True
    ssh_idle_timeout: bool = True
    idle_timeout_seconds: int = Field(default=600, ge=60)
    # sshd crypto (defaults: the sample profile's ops-ssh channel)
    ssh_crypto: bool = True
    ssh_kex: list[str] = Field(default=["curve25519-sha256", "curve25519-sha256@libssh.org"],
                               min_length=1)
    ssh_ciphers: list[str] = Field(default=["aes256-gcm@openssh.com",
                                            "chacha20-poly1305@openssh.com"], min_length=1)
    ssh_macs: list[str] = Field(default=["hmac-sha2-512-etm@openssh.com"], min_length=1)
    ssh_host_key_algorithms: list[str] = Field(default=["ssh-ed25519"], min_length=1)
    # sshd limits and logging
    ssh_limits: bool = True
    ssh_max_auth_tries: int = Field(default=4, ge=1, le=6)
    ssh_max_sessions: int = Field(default=10, ge=1, le=64)
    ssh_verbose_log: bool = True
    # no agent/TCP/X11/tunnel forwarding (off where the bastion role decides it)
    ssh_no_forwarding: bool = True
    # Diffie-Hellman group-exchange moduli of at least this many bits only
    ssh_strong_moduli: bool = True
    ssh_moduli_min_bits: int = Field(default=3072, ge=2048)
    # legal warning before login (/etc/issue, /etc/issue.net, sshd Banner); cloud.yaml text
    login_banner: bool = True
    banner_zh: str = ""
    banner_en: str = ""
    # audit
    audit_rules: bool = True
    # file integrity (数据完整性 / 入侵防范): AIDE over the watched trees, a daily check
    # whose report goes to the log audit; debsums verifies packaged files against dpkg
    file_integrity: bool = True
    integrity_watch: dict[str, list[str]] = Field(
        default={
            # binaries and what starts them
            "binaries": ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
                         "/usr/lib/systemd/system"],
            # configuration, the roles' files included (every role writes under /etc)
            "configuration": ["/etc"],
        },
        description="what AIDE watches: group -> trees (content hash, owner, mode, times)")
    integrity_ignore: list[str] = Field(
        default=["/etc/mtab", "/etc/adjtime", "/etc/ld.so.cache", "/etc/aide/govcloud.db"],
        description="paths the system itself rewrites in normal operation")
    integrity_check_time: str = "*-*-* 04:10:00"
    package_verification: bool = True
    # anti-malware (恶意代码防范): ClamAV, scheduled scans, signatures from the mirror only
    antimalware: bool = True
    malware_scan_paths: list[str] = Field(
        default=["/home", "/root", "/srv", "/tmp", "/var/tmp"],
        description="upload, ferry and home trees scanned on schedule")
    malware_scan_time: str = "*-*-* 03:30:00"
    signature_mirror: str = "http://mirror.govcloud.example.cn/clamav"
    signature_updates: bool = Field(
        default=True, description="freshclam runs against signature_mirror (off: no mirror)")
    # kernel and account hygiene
    module_blacklist: bool = True
    blacklisted_modules: list[str] = Field(default=[
        # filesystems no server here mounts
        "cramfs", "freevxfs", "jffs2", "hfs", "hfsplus", "squashfs", "udf",
        # removable media and buses
        "usb-storage", "firewire-core", "firewire-ohci", "firewire-sbp2", "thunderbolt",
        # network protocols no service here speaks
        "dccp", "sctp", "rds", "tipc", "n-hdlc", "ax25", "netrom", "x25", "rose", "decnet",
        "econet", "af_802154", "ipx", "appletalk", "psnap", "p8023", "p8022", "can", "atm",
    ])
    no_core_dumps: bool = True
    kernel_hardening: bool = True
    network_hardening: bool = True
    router: bool = Field(default=False, description="routes between zones: keeps forwarding "
                         "and loose reverse-path filtering")
    umask: bool = True
    umask_value: str = Field(default="027", pattern=r"^0[0-7]{2}$")
    password_hashing: bool = True
    sha_crypt_rounds: int = Field(default=640000, ge=5000)
    tmpdir_per_user: bool = True
    process_accounting: bool = True
    resource_accounting: bool = True
    # patch sources (入侵防范: known vulnerabilities patched from the internal mirror)
    apt_sources: bool = True
    apt_mirror: str = "http://mirror.govcloud.example.cn/debian"
    apt_security_mirror: str = "http://mirror.govcloud.example.cn/debian-security"
    apt_suite: str = "bookworm"
    security_upgrades: bool = True
    security_upgrades_enabled: bool = Field(
        default=True, description="unattended-upgrades runs (off where no mirror is served)")
    apt_tools: bool = True
    # time
    time_sync: bool = True
    time_servers: list[str] = []
    time_serve_to: list[str] = Field(default=[], description="CIDRs this host serves time to")
    # logs
    log_forwarding: bool = True
    log_targets: list[str] = []
    # names
    resolver: bool = True
    nameservers: list[str] = []
    search_domain: str = ""


def data_for(estate: Estate, host: Any) -> Data:
    """Peers of ``host`` on its site: time source and name server (the site's ``dns``
    host), central log collector (the site's ``log_audit`` host)."""
    topo = host.topology

    def peers(role: str) -> list[str]:
        local = [h for h in topo.with_role(role, host.site) if h.name != host.name]
        return [h.address for h in local]

    serves_time = host.has_role("dns")
    cloud = estate.cloud
    mirror = bool(topo.profile.mirror)
    return Data(
        hostname=host.name,
        banner_zh=cloud.login_banner.zh,
        banner_en=cloud.login_banner.en,
        signature_mirror=cloud.mirrors.clamav,
        signature_updates=mirror,
        apt_mirror=cloud.mirrors.debian,
        apt_security_mirror=cloud.mirrors.debian_security,
        security_upgrades_enabled=mirror,
        router=bool(host.forwarding),
        **ssh_algorithms(estate, host.zone),
        # the bastion role writes its own forwarding policy (jump host, protected target)
        ssh_no_forwarding=not host.has_role("bastion"),
        time_servers=[] if serves_time else peers("dns"),
        time_serve_to=(
            sorted(c for z in estate.zones for c in z.cidrs.values()) if serves_time else []
        ),
        log_targets=[] if host.has_role("log_audit") else peers("log_audit"),
        nameservers=[h.address for h in topo.with_role("dns", host.site)],
        search_domain=topo.domain,
    )


def ssh_algorithms(estate: Estate, zone: Zone | None) -> dict[str, list[str]]:
    """sshd's algorithm lists from the crypto profile's ssh channel(s) reaching ``zone``.

    A channel reaches a zone when its flow ends there (ops-ssh: egov-wan -> management;
    bastion-to-hosts-ssh: management -> extranet); a host in a zone no ssh channel names
    (or a router, in every zone) accepts what any ssh channel of the profile uses.
    """
    flows = {f.id: f for f in estate.flows}
    channels = [c for c in estate.crypto if str(c.kind) == "ssh"]
    mine = [c for c in channels if c.flow in flows and flows[c.flow].destination == zone]
    suites = [s for c in (mine or channels) for s in c.suites]
    auth = [a for c in (mine or channels) for a in c.configured.get("authentication", [])]

    def pick(prefixes: tuple[str, ...], items: list[str]) -> list[str]:
        return list(dict.fromkeys(i for i in items if i.startswith(prefixes)))

    named_kex = pick(_SSH_KEX, suites)
    kex = [k for x in named_kex for k in (x, KEX_ALIASES.get(x)) if k]
    macs = pick(_SSH_MAC, suites)
    # what is neither a key exchange, a MAC nor a host-key algorithm is a cipher
    ciphers = [x for x in dict.fromkeys(suites)
               if x not in named_kex and x not in macs and not x.startswith(_SSH_HOSTKEY)]
    out: dict[str, list[str]] = {}
    for key, values in (("ssh_kex", list(dict.fromkeys(kex))), ("ssh_ciphers", ciphers),
                        ("ssh_macs", macs),
                        ("ssh_host_key_algorithms", pick(_SSH_HOSTKEY, auth))):
        if values:
            out[key] = values
    return out


def render(name: str, data: Data, **extra: Any) -> str:
    """A rendered template of this role (unit tests use the same function)."""
    return _render(__file__, name, d=data, **extra)


def _load(data: Data | None) -> Data:
    from pyinfra import host

    return data or Data.model_validate(host.data.get("baseline"))


@deploy("baseline")
def apply(data: Data | None = None) -> None:
    """Apply every enabled concern; reads ``host.data.baseline`` when ``data`` is None."""
    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = _load(data)
    apt.packages(name="baseline packages", packages=list(BASE_PACKAGES), update=False,
                 no_recommends=True)
    # patch sources first: the mirror every later install and upgrade comes from
    hardening.patch_sources(d)
    if d.login_banner:
        hardening.banners(d)

    if d.password_quality:
        files.template(name="password quality (pwquality.conf)",
                       src=str(TEMPLATES / "pwquality.conf.j2"),
                       dest="/etc/security/pwquality.conf", mode="644", d=d)
    if d.password_expiry:
        for key, value in (("PASS_MAX_DAYS", d.pass_max_days), ("PASS_MIN_DAYS", d.pass_min_days),
                           ("PASS_WARN_AGE", d.pass_warn_age)):
            hardening.login_defs(key, value)
    if d.login_lockout:
        files.template(name="login lockout (faillock.conf)",
                       src=str(TEMPLATES / "faillock.conf.j2"),
                       dest="/etc/security/faillock.conf", mode="644", d=d)
        prof = files.put(name="pam-auth-update profile: faillock",
                         src=str(TEMPLATES / "pam-faillock"),
                         dest="/usr/share/pam-configs/govcloud-faillock", mode="644")
        notify = files.put(name="pam-auth-update profile: faillock preauth",
                           src=str(TEMPLATES / "pam-faillock-preauth"),
                           dest="/usr/share/pam-configs/govcloud-faillock-preauth", mode="644")
        server.shell(name="enable pam_faillock",
                     commands=["pam-auth-update --package --enable govcloud-faillock "
                               "govcloud-faillock-preauth"],
                     _if=lambda: prof.did_change() or notify.did_change())

    if d.ssh_hardening:
        from io import StringIO

        sshd = files.put(name="sshd: keys only, crypto, limits, forwarding, idle timeout",
                         src=StringIO(render("sshd-baseline.conf.j2", d)), dest=SSHD_DROPIN,
                         mode="644")
        weak = None
        if d.ssh_strong_moduli:
            # one concern, one step: keep only group-exchange moduli of the required size
            # (the count is a fact read before the run, so a clean file changes nothing)
            bits = d.ssh_moduli_min_bits - 1  # moduli(5) records size - 1
            count = host.get_fact(Command, command=(
                f"awk '!/^#/ && NF >= 7 && $5 < {bits}' {MODULI} 2>/dev/null | wc -l"))
            weak = server.shell(
                name=f"sshd: remove DH moduli under {d.ssh_moduli_min_bits} bits",
                commands=[f"awk '/^#/ || $5 >= {bits}' {MODULI} > {MODULI}.govcloud && "
                          f"mv {MODULI}.govcloud {MODULI}"],
                _if=lambda: count.strip() not in ("", "0"))

        def changed() -> bool:
            return sshd.did_change() or (weak is not None and weak.did_change())

        server.shell(name="sshd -t (validate before reload)", commands=["sshd -t"],
                     _if=changed)
        systemd.service(name="reload sshd", service="ssh", running=True, reloaded=True,
                        _if=changed)
    if d.ssh_idle_timeout:
        files.template(name="shell idle timeout (TMOUT)", src=str(TEMPLATES / "tmout.sh.j2"),
                       dest="/etc/profile.d/zz-govcloud-tmout.sh", mode="644", d=d)

    if d.audit_rules:
        rules = files.template(name="auditd rules: privileged commands, identity files",
                               src=str(TEMPLATES / "audit.rules.j2"),
                               dest="/etc/audit/rules.d/50-govcloud.rules", mode="640", d=d)
        # the kernel audit interface exists only in the machine's initial namespaces:
        # inside a container the rules are compiled (augenrules) and checked, not loaded.
        # Compile whenever the compiled file lacks our rules, not only when the source
        # changed: a run interrupted between the two steps heals on the next run.
        virt = host.get_fact(Command, command="systemd-detect-virt --container || true")
        compiled = host.get_fact(
            Command, command="grep -c -- '-k privileged' /etc/audit/audit.rules || true")
        server.shell(name="compile audit rules (augenrules)",
                     commands=["augenrules", "grep -q -- '-k privileged' /etc/audit/audit.rules"],
                     _if=lambda: rules.did_change() or compiled.strip() in ("", "0"))
        if virt.strip() in ("", "none"):
            systemd.service(name="auditd running, rules loaded", service="auditd",
                            running=True, enabled=True, restarted=True, _if=rules.did_change)
            systemd.service(name="auditd running", service="auditd", running=True,
                            enabled=True)

    if d.file_integrity:
        hardening.integrity(d)
    if d.antimalware:
        hardening.antimalware(d)
    hardening.kernel(d)
    hardening.accounts(d)

    if d.time_sync:
        virt = host.get_fact(Command, command="systemd-detect-virt --container || true")
        in_container = virt.strip() not in ("", "none")
        conf = files.template(name="chrony: site time source", src=str(TEMPLATES /
                              "chrony.conf.j2"), dest="/etc/chrony/chrony.conf", mode="644",
                              d=d)
        dropin = None
        if in_container:
            # a container may not set the machine's clock: run chronyd with -x (track and
            # serve time, never step the shared clock) and lift the unit's CAP_SYS_TIME
            # condition
            files.directory(name="chrony drop-in dir", path="/etc/systemd/system/chrony.service.d")
            dropin = files.put(name="chrony in a container (-x)",
                               src=str(TEMPLATES / "chrony-container.conf"),
                               dest="/etc/systemd/system/chrony.service.d/govcloud.conf",
                               mode="644")
        systemd.daemon_reload(name="systemd daemon-reload (chrony drop-in)",
                              _if=dropin.did_change if dropin else lambda: False)
        systemd.service(name="chrony running", service="chrony", running=True, enabled=True,
                        restarted=True, _if=lambda: conf.did_change() or bool(dropin and
                                                                               dropin.did_change()))
        systemd.service(name="chrony enabled", service="chrony", running=True, enabled=True)

    if d.log_forwarding and d.log_targets:
        fwd = files.template(name="rsyslog: forward to the site's log-audit host (tcp/514)",
                             src=str(TEMPLATES / "rsyslog-forward.conf.j2"),
                             dest="/etc/rsyslog.d/60-govcloud-forward.conf", mode="644", d=d)
        systemd.service(name="rsyslog restart", service="rsyslog", running=True, restarted=True,
                        _if=fwd.did_change)
    systemd.service(name="rsyslog running", service="rsyslog", running=True, enabled=True)

    if d.resolver and d.nameservers:
        files.template(name="resolver: the lab/site DNS", src=str(TEMPLATES / "resolv.conf.j2"),
                       dest="/etc/resolv.conf", mode="644", d=d)



@deploy("baseline: integrity seal")
def seal(data: Data | None = None) -> None:
    """The last step of every deploy (``deploy.py``): the file-integrity baseline."""
    hardening.seal(_load(data))
