"""baseline — 等保2.0 (GB/T 22239-2019) level-3 host controls every host gets.

Concerns, each behind its own flag (secure default = on):

- identity: password quality (pam_pwquality), password expiry (login.defs), login-failure
  lockout (pam_faillock) — 身份鉴别;
- remote access: SSH keys only, no root password login, idle timeout (sshd
  ClientAlive* and a shell ``TMOUT``) — 身份鉴别 / 访问控制;
- audit: auditd rules for privileged commands and identity files — 安全审计;
- time: chrony synchronised to the site's time source (the lab's ``dns`` host), so
  audit records from every host line up — 安全审计 (time stamps);
- log forwarding: rsyslog over TCP/514 to the site's log-audit host (集中审计).

Peers (time source, log host, name servers) come from the topology the host belongs to,
which is derived from the estate model; nothing here names an address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import Estate

PACKAGES = ("libpam-pwquality", "auditd", "chrony", "rsyslog", "openssh-server")
SERVICES = ("ssh", "chrony", "rsyslog")
TEMPLATES = Path(__file__).parent / "templates"


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
    # audit
    audit_rules: bool = True
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
    return Data(
        hostname=host.name,
        time_servers=[] if serves_time else peers("dns"),
        time_serve_to=(
            sorted(c for z in estate.zones for c in z.cidrs.values()) if serves_time else []
        ),
        log_targets=[] if host.has_role("log_audit") else peers("log_audit"),
        nameservers=[h.address for h in topo.with_role("dns", host.site)],
        search_domain=topo.domain,
    )


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
    apt.packages(name="baseline packages", packages=list(PACKAGES), update=False,
                 no_recommends=True)

    if d.password_quality:
        files.template(name="password quality (pwquality.conf)",
                       src=str(TEMPLATES / "pwquality.conf.j2"),
                       dest="/etc/security/pwquality.conf", mode="644", d=d)
    if d.password_expiry:
        for key, value in (("PASS_MAX_DAYS", d.pass_max_days), ("PASS_MIN_DAYS", d.pass_min_days),
                           ("PASS_WARN_AGE", d.pass_warn_age)):
            files.line(name=f"password expiry {key}", path="/etc/login.defs",
                       line=rf"^\s*{key}\s+.*$", replace=f"{key}\t{value}")
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
        sshd = files.template(name="sshd: keys only, no root password, idle timeout",
                              src=str(TEMPLATES / "sshd-baseline.conf.j2"),
                              dest="/etc/ssh/sshd_config.d/10-baseline.conf", mode="644", d=d)
        server.shell(name="sshd -t (validate before reload)", commands=["sshd -t"],
                     _if=sshd.did_change)
        systemd.service(name="reload sshd", service="ssh", running=True, reloaded=True,
                        _if=sshd.did_change)
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

