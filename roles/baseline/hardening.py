"""The baseline's host-hardening concerns past identity, SSH, audit, time and logs.

Why a module of its own: each function below is one concern of GB/T 22239-2019's host
sections (安全计算环境) with its own flag in :class:`roles.baseline.Data`, the way dev-sec's
os-hardening role splits them, and `roles.baseline.apply` calls them in order. Each
function adds pyinfra operations and is called only inside a deploy (no side effects at
import). Where a lab container cannot do something (load kernel modules, write the
machine's global sysctls) the operation writes the configuration and checks what it can;
the lab tests and the compliance report say "not verifiable in the lab" for the rest.

- :func:`banners` — legal warning before login (cloud.yaml ``login_banner``);
- :func:`integrity` — AIDE over ``integrity_watch`` with a daily check to the log audit,
  debsums for packaged files; :func:`seal` builds the baseline at the end of a deploy;
- :func:`antimalware` — ClamAV, scheduled scans, signatures from the internal mirror only;
- :func:`kernel` — module blacklist, no core dumps, kernel and network sysctls;
- :func:`accounts` — umask, password hashing rounds, per-user tmp, process and resource
  accounting;
- :func:`patch_sources` — APT sources on the internal mirror, unattended security
  upgrades (configured; on only where the mirror is served), apt-listchanges, needrestart.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roles.baseline import Data

FILES = Path(__file__).parent / "files"
ISSUE, ISSUE_NET = "/etc/issue", "/etc/issue.net"
AIDE_CONF = "/etc/aide/govcloud.conf"
AIDE_DB = "/var/lib/aide/govcloud.db"
INTEGRITY_CHECK = "/usr/local/sbin/govcloud-integrity-check"
MALWARE_SCAN = "/usr/local/sbin/govcloud-malware-scan"
LOCAL_SIGNATURES = "/var/lib/clamav/govcloud-local.hdb"
MODPROBE = "/etc/modprobe.d/govcloud-blacklist.conf"
KERNEL_SYSCTL = "/etc/sysctl.d/60-govcloud-baseline-kernel.conf"
NET_SYSCTL = "/etc/sysctl.d/60-govcloud-baseline-net.conf"
CORE_LIMITS = "/etc/security/limits.d/10-govcloud-core.conf"
APT_SOURCES = "/etc/apt/sources.list.d/govcloud.sources"
UNIT_DIR = "/etc/systemd/system"

# packages per concern (roles.baseline.PACKAGES is their union with the base ones)
CONCERN_PACKAGES = {
    "module_blacklist": ("kmod",),  # modprobe: what reads the blacklist
    "file_integrity": ("aide",),
    "package_verification": ("debsums",),
    "antimalware": ("clamav", "clamav-freshclam"),
    "tmpdir_per_user": ("libpam-tmpdir",),
    "process_accounting": ("acct",),
    "resource_accounting": ("sysstat",),
    "security_upgrades": ("unattended-upgrades",),
    "apt_tools": ("apt-listchanges", "needrestart"),
}


def kernel_settings(d: Data) -> dict[str, str]:
    """Machine-wide sysctls: a container shares them with its machine and may not set
    them, so in the lab they are written for boot and reported as not verifiable."""
    out: dict[str, str] = {}
    if d.no_core_dumps:
        out["fs.suid_dumpable"] = "0"
    if d.kernel_hardening:
        out.update({"kernel.randomize_va_space": "2", "kernel.kptr_restrict": "2",
                    "kernel.dmesg_restrict": "1", "kernel.sysrq": "0"})
    return out


def network_settings(router: bool) -> dict[str, str]:
    """Per-network-namespace sysctls (dev-sec os-hardening's network set). A router keeps
    forwarding (the firewall role owns it), loose reverse-path filtering and redirects
    it may need to send; every other host drops redirects, source routes and router
    advertisements and filters strictly. The lab sets these from outside, from this
    same function, before the host's interfaces exist (a container cannot write them)."""
    out: dict[str, str] = {}
    for scope in ("all", "default"):
        v4, v6 = f"net.ipv4.conf.{scope}", f"net.ipv6.conf.{scope}"
        out.update({
            f"{v4}.rp_filter": "2" if router else "1",
            f"{v4}.accept_redirects": "0",
            f"{v4}.secure_redirects": "0",
            f"{v4}.accept_source_route": "0",
            f"{v4}.log_martians": "1",
            f"{v6}.accept_redirects": "0",
            f"{v6}.accept_source_route": "0",
        })
        if not router:
            out[f"{v4}.send_redirects"] = "0"
            out[f"{v6}.accept_ra"] = "0"
    out.update({"net.ipv4.tcp_syncookies": "1", "net.ipv4.icmp_echo_ignore_broadcasts": "1",
                "net.ipv4.icmp_ignore_bogus_error_responses": "1"})
    return dict(sorted(out.items()))


def login_defs(key: str, value: object) -> None:
    """Set ``key`` in /etc/login.defs, replacing its line (or the commented default) in
    place: one line per key, so what an assessor greps is what shadow reads."""
    from pyinfra.operations import files

    files.line(name=f"login.defs {key}", path="/etc/login.defs", extended_regex=True,
               line=rf"^#?[[:space:]]*{key}[[:space:]]+[^[:space:]]+[[:space:]]*$",
               replace=f"{key}\t{value}")


def _render(name: str, d: Data, **extra: object) -> StringIO:
    from roles.baseline import render

    return StringIO(render(name, d, **extra))


def _in_container() -> bool:
    from pyinfra import host
    from pyinfra.facts.server import Command

    virt = host.get_fact(Command, command="systemd-detect-virt --container || true")
    return virt.strip() not in ("", "none")


def _timer(d: Data, name: str, enabled: bool = True) -> None:
    """A systemd service + timer pair from templates ``<name>.service.j2``/``.timer.j2``."""
    from pyinfra.operations import files, systemd

    units = [files.put(name=f"{name}.{kind}", src=_render(f"{name}.{kind}.j2", d),
                       dest=f"{UNIT_DIR}/{name}.{kind}", mode="644")
             for kind in ("service", "timer")]
    systemd.daemon_reload(name=f"systemd daemon-reload ({name})",
                          _if=lambda: any(u.did_change() for u in units))
    systemd.service(name=f"{name}.timer enabled", service=f"{name}.timer", running=enabled,
                    enabled=enabled)


def banners(d: Data) -> None:
    """/etc/issue (console) and /etc/issue.net (sshd ``Banner``, set in the sshd drop-in)."""
    from pyinfra.operations import files

    for path in (ISSUE, ISSUE_NET):
        files.put(name=f"legal warning banner ({path})", src=_render("banner.j2", d),
                  dest=path, mode="644")


def integrity(d: Data) -> None:
    """AIDE configuration, the check script and its daily timer; debsums alongside."""
    from pyinfra.operations import apt, files

    pkgs = [*CONCERN_PACKAGES["file_integrity"],
            *(CONCERN_PACKAGES["package_verification"] if d.package_verification else ())]
    apt.packages(name="file integrity tools (AIDE, debsums)", packages=pkgs, update=False,
                 no_recommends=True)
    files.directory(name="/etc/aide", path="/etc/aide", mode="755")
    files.directory(name="/var/lib/aide", path="/var/lib/aide", mode="700")
    files.put(name="AIDE: what is watched (integrity_watch)",
              src=_render("aide.conf.j2", d, db=AIDE_DB), dest=AIDE_CONF, mode="600")
    files.put(name="integrity check script", src=str(FILES / "govcloud-integrity-check"),
              dest=INTEGRITY_CHECK, mode="755")
    _timer(d, "govcloud-integrity-check")


def seal(d: Data) -> None:
    """Build the integrity baseline at the very end of a deploy, and only when it is
    missing or this run changed the host: a second deploy changes nothing, so a file
    changed by hand stays reported until someone investigates. Before replacing the
    baseline, AIDE's update prints what changed since the last one, and that report goes
    to the log audit like every check's."""
    from pyinfra import host, state
    from pyinfra.facts.server import Command
    from pyinfra.operations import server

    if not d.file_integrity:
        return
    me, st = host._get_module(), state._get_module()
    have = host.get_fact(Command, command=f"test -s {AIDE_DB} && echo present || echo absent")

    def this_run_changed_the_host() -> bool:
        return any(o.operation_meta.is_complete() and o.operation_meta.did_change()
                   for o in st.ops[me].values())

    server.shell(
        name="file integrity baseline (AIDE), after this deploy's changes",
        commands=[f"{INTEGRITY_CHECK} --seal 2>&1 | logger -t govcloud-integrity; "
                  f"test -s {AIDE_DB}"],
        _if=lambda: (have or "").strip() != "present" or this_run_changed_the_host())


def antimalware(d: Data) -> None:
    """ClamAV with signatures from the internal mirror only, a scheduled scan of the
    upload, ferry and home trees, and the cloud's local signatures (the EICAR test file,
    so the scan path can be proven where the vendor databases are missing)."""
    from pyinfra.operations import apt, files, systemd

    apt.packages(name="ClamAV", packages=list(CONCERN_PACKAGES["antimalware"]), update=False,
                 no_recommends=True)
    conf = files.put(name="freshclam: internal signature mirror",
                     src=_render("freshclam.conf.j2", d), dest="/etc/clamav/freshclam.conf",
                     mode="644")
    files.put(name="local signatures (EICAR test file)", src=str(FILES / "govcloud-local.hdb"),
              dest=LOCAL_SIGNATURES, mode="644", user="clamav", group="clamav")
    # off where no mirror is served: it would only fail and retry (the scan says
    # "signatures missing", and so does the compliance report)
    systemd.service(name="freshclam (signature updates)", service="clamav-freshclam",
                    running=d.signature_updates, enabled=d.signature_updates,
                    restarted=d.signature_updates, _if=conf.did_change)
    systemd.service(name="freshclam state", service="clamav-freshclam",
                    running=d.signature_updates, enabled=d.signature_updates)
    files.put(name="malware scan script", src=str(FILES / "govcloud-malware-scan"),
              dest=MALWARE_SCAN, mode="755")
    _timer(d, "govcloud-malware-scan")


def kernel(d: Data) -> None:
    """Module blacklist, core dumps off, kernel and network sysctls."""
    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server

    if d.module_blacklist:
        apt.packages(name="kmod (modprobe)", packages=list(CONCERN_PACKAGES["module_blacklist"]),
                     update=False, no_recommends=True)
        files.put(name="kernel module blacklist", src=_render("modprobe-blacklist.conf.j2", d),
                  dest=MODPROBE, mode="644")
    if d.no_core_dumps:
        files.put(name="no core dumps (limits)", src=_render("limits-core.conf.j2", d),
                  dest=CORE_LIMITS, mode="644")
    container = _in_container()
    wanted = kernel_settings(d)
    if wanted:
        conf = files.put(name="kernel sysctls (at boot)",
                         src=_render("sysctl-kernel.conf.j2", d, settings=wanted),
                         dest=KERNEL_SYSCTL, mode="644")
        if not container:  # a container's are its machine's: set at the machine's boot
            server.shell(name="kernel sysctls (now)", commands=[f"sysctl -q -p {KERNEL_SYSCTL}"],
                         _if=conf.did_change)
    if d.network_hardening:
        net = network_settings(d.router)
        conf = files.put(name="network sysctls (at boot)",
                         src=_render("sysctl-net.conf.j2", d, settings=net),
                         dest=NET_SYSCTL, mode="644")
        keys = " ".join(net)
        current = host.get_fact(Command, command=f"sysctl -n {keys} 2>/dev/null || true")
        drift = (current or "").split() != list(net.values())
        # set them where the host may; where it may not (a container: the lab sets them
        # from outside at boot), refuse to carry on with values other than the model's
        same = " && ".join(f'test "$(sysctl -n {k})" = {v}' for k, v in net.items())
        server.shell(
            name="network sysctls (now)",
            commands=[f"sysctl -q -p {NET_SYSCTL} 2>/dev/null || {{ {same}; }} || "
                      f"{{ echo 'network sysctls differ from {NET_SYSCTL} and cannot be "
                      "set from inside this host' >&2; exit 1; }"],
            _if=lambda: conf.did_change() or drift)


def accounts(d: Data) -> None:
    """login.defs umask and hashing rounds, per-user tmp, process and resource accounting."""
    from pyinfra.operations import apt, files, server, systemd

    lines: dict[str, str] = {}
    if d.umask:
        lines["UMASK"] = d.umask_value
    if d.password_hashing:
        lines.update({"ENCRYPT_METHOD": "SHA512", "SHA_CRYPT_MIN_ROUNDS": str(d.sha_crypt_rounds),
                      "SHA_CRYPT_MAX_ROUNDS": str(d.sha_crypt_rounds)})
    for key, value in lines.items():
        login_defs(key, value)
    if d.umask:
        # login.defs' UMASK reaches sessions only through pam_umask, which Debian's
        # common-session does not include by default
        prof = files.put(name="pam-auth-update profile: umask",
                         src=str(Path(__file__).parent / "templates" / "pam-umask"),
                         dest="/usr/share/pam-configs/govcloud-umask", mode="644")
        server.shell(name="enable pam_umask",
                     commands=["pam-auth-update --package --enable govcloud-umask"],
                     _if=prof.did_change)
    pkgs = [p for flag, names in CONCERN_PACKAGES.items()
            if flag in ("tmpdir_per_user", "process_accounting", "resource_accounting")
            and getattr(d, flag) for p in names]
    if pkgs:
        apt.packages(name="account hygiene tools", packages=pkgs, update=False,
                     no_recommends=True)
    if d.process_accounting:
        systemd.service(name="process accounting (acct)", service="acct", running=True,
                        enabled=True)
    if d.resource_accounting:
        cfg = files.put(name="sysstat collection on", src=_render("sysstat.j2", d),
                        dest="/etc/default/sysstat", mode="644")
        systemd.service(name="sysstat", service="sysstat", running=True, enabled=True,
                        restarted=True, _if=cfg.did_change)
        systemd.service(name="sysstat collection timer", service="sysstat-collect.timer",
                        running=True, enabled=True)


def patch_sources(d: Data) -> None:
    """APT on the internal mirror (release, updates, security), unattended security
    upgrades and the field's companions (apt-listchanges, needrestart listing only)."""
    from pyinfra.operations import apt, files

    if d.apt_sources:
        files.put(name="APT sources: internal mirror", src=_render("apt-sources.j2", d),
                  dest=APT_SOURCES, mode="644")
        files.put(name="APT: no one-line sources besides the mirror's",
                  src=StringIO("# Managed by govcloud roles/baseline: see "
                               "sources.list.d/govcloud.sources\n"),
                  dest="/etc/apt/sources.list", mode="644")
    if d.apt_tools:
        # needrestart's policy first: its apt hook runs on the install below
        files.directory(name="/etc/needrestart/conf.d", path="/etc/needrestart/conf.d",
                        mode="755")
        files.put(name="needrestart: list, never restart", src=_render("needrestart.conf.j2", d),
                  dest="/etc/needrestart/conf.d/govcloud.conf", mode="644")
    pkgs = [p for flag in ("security_upgrades", "apt_tools") if getattr(d, flag)
            for p in CONCERN_PACKAGES[flag]]
    if pkgs:
        apt.packages(name="patch tools", packages=pkgs, update=False, no_recommends=True)
    if d.security_upgrades:
        files.put(name="unattended-upgrades: security origin only",
                  src=_render("unattended-upgrades.j2", d),
                  dest="/etc/apt/apt.conf.d/50unattended-upgrades", mode="644")
        files.put(name="unattended-upgrades schedule", src=_render("auto-upgrades.j2", d),
                  dest="/etc/apt/apt.conf.d/20auto-upgrades", mode="644")
