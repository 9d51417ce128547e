"""Host baseline policies: one per 等保 item the baseline role answers, over the role's data.

Why per item rather than one "hardened host" policy: an assessor reads by clause
(入侵防范, 恶意代码防范, 数据完整性, ...), and each item can fail, be waived or be
unverifiable on its own. Every check reads ``roles.baseline.data_for`` for each host (the
same object the deploy renders from), so a flag switched off in the role, or a list that
drifted from the model (SSH algorithms from ``crypto.yaml``, mirrors and banner from
``cloud.yaml``), fails here before any host is touched.

:data:`ITEMS` is the compliance report's "Host baseline" table: each concern with its
flags, policy and how the lab proves it — or, where a container cannot show it (kernel
modules, the machine's sysctls, signatures without a mirror), "not verifiable in the
lab" and why, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from govcloud.model import Zone
from policies import clauses as C
from policies.core import Context, Enforcement, HostConfig, Policy, Violation
from policies.hosts import RoleError, _hv, _no_hosts, role_data

# dev-sec os-hardening's floor for SHA-512 crypt rounds (a policy floor, not the role's
# default: the role may ask for more)
MIN_SHA_ROUNDS = 640000
# what no host of this cloud may be able to load (dev-sec os-hardening's list, trimmed to
# what an assessor asks about first)
REQUIRED_BLACKLIST = frozenset({"usb-storage", "firewire-core", "dccp", "sctp", "rds", "tipc",
                                "cramfs", "udf"})
# trees whose binaries and configuration the integrity check must cover
REQUIRED_WATCH = ("/etc", "/usr/bin", "/usr/sbin")

Problems = Callable[[HostConfig, Any, Context], list[str]]
Evidence = Callable[[HostConfig, Any, Context], str]


def _on_baseline(pid: str, problems: Problems, evidence: Evidence
                 ) -> Callable[[list[HostConfig], Context], Iterator[Violation]]:
    """A host check over each host's baseline data: every problem is a violation; a host
    without problems is evidence (what was examined, with the values)."""

    def check(hosts: list[HostConfig], ctx: Context) -> Iterator[Violation]:
        yield from _no_hosts(pid, hosts)
        for h in hosts:
            d = role_data(pid, h, "baseline",
                          "runs no baseline role: none of the host controls apply")
            if isinstance(d, Violation):
                yield d
                continue
            found = problems(h, d, ctx)
            for msg in found:
                yield _hv(pid, h, msg)
            if not found:
                ctx.saw(f"{h.name}: {evidence(h, d, ctx)}")

    return check


def _off(d: Any, *flags: str) -> list[str]:
    return [f"roles/baseline {flag} is switched off" for flag in flags if not getattr(d, flag)]


def _reaches_log_audit(h: HostConfig, d: Any) -> bool:
    return h.has_role("log_audit") or (d.log_forwarding and bool(d.log_targets))


# ---------------------------------------------------------------- ssh


def _ssh(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    from roles.baseline import ssh_algorithms

    out = _off(d, "ssh_hardening", "ssh_crypto", "ssh_limits", "ssh_verbose_log",
               "ssh_strong_moduli")
    want = ssh_algorithms(ctx.estate, Zone(h.zone) if h.zone else None)
    for key, values in want.items():
        if getattr(d, key) != values:
            out.append(f"sshd {key.removeprefix('ssh_')} {','.join(getattr(d, key))} differ "
                       f"from the crypto profile's {','.join(values)} (estate/crypto.yaml)")
    if not d.ssh_no_forwarding and not h.has_role("bastion"):
        out.append("sshd forwarding is allowed on a host whose bastion role does not decide it")
    return out


def _ssh_evidence(h: HostConfig, d: Any, ctx: Context) -> str:
    return (f"sshd ciphers {','.join(d.ssh_ciphers)}; MACs {','.join(d.ssh_macs)}; "
            f"MaxAuthTries {d.ssh_max_auth_tries}; LogLevel VERBOSE; forwarding "
            f"{'off' if d.ssh_no_forwarding else 'decided by the bastion role'}")


# ---------------------------------------------------------------- integrity


def _integrity(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "file_integrity")
    watched = {p for paths in d.integrity_watch.values() for p in paths}
    missing = [p for p in REQUIRED_WATCH if p not in watched]
    if d.file_integrity and missing:
        out.append(f"AIDE does not watch {', '.join(missing)} (binaries and configuration)")
    if d.file_integrity and not _reaches_log_audit(h, d):
        out.append("the integrity check's report reaches no log-audit host")
    return out


def _integrity_evidence(h: HostConfig, d: Any, ctx: Context) -> str:
    watched = sorted(p for paths in d.integrity_watch.values() for p in paths)
    return (f"AIDE watches {', '.join(watched)}; daily check ({d.integrity_check_time}) "
            "reported to the log audit")


def _packages(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "package_verification")
    if d.package_verification and not d.file_integrity:
        out.append("debsums runs in the integrity check, which is switched off")
    return out


# ---------------------------------------------------------------- malware


def _malware(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "antimalware")
    if not d.antimalware:
        return out
    if d.signature_mirror != ctx.estate.cloud.mirrors.clamav:
        out.append(f"ClamAV signatures come from {d.signature_mirror}, not the cloud's "
                   f"mirror {ctx.estate.cloud.mirrors.clamav} (cloud.yaml)")
    for path in ("/home", "/srv"):
        if path not in d.malware_scan_paths:
            out.append(f"the scheduled scan leaves out {path} (home and upload/ferry trees)")
    gk = h.roles.get("gatekeeper")
    if gk is not None and not isinstance(gk, RoleError) and not gk.malware_scan:
        out.append("the gatekeeper's ferry moves files without a malware scan")
    return out


def _malware_evidence(h: HostConfig, d: Any, ctx: Context) -> str:
    sig = ("signature updates from the mirror" if d.signature_updates else
           "signature updates off: no mirror is served here, signatures missing")
    ferry = "; the ferry scans every file" if h.has_role("gatekeeper") else ""
    return f"ClamAV scans {', '.join(d.malware_scan_paths)} ({d.malware_scan_time}); {sig}{ferry}"


# ---------------------------------------------------------------- patches


def _patches(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "apt_sources", "security_upgrades")
    mirrors = ctx.estate.cloud.mirrors
    if d.apt_sources:
        for field, want in (("apt_mirror", mirrors.debian),
                            ("apt_security_mirror", mirrors.debian_security)):
            if getattr(d, field) != want:
                out.append(f"APT {field} {getattr(d, field)} is not cloud.yaml's {want}")
    return out


def _patches_evidence(h: HostConfig, d: Any, ctx: Context) -> str:
    auto = ("unattended security upgrades on" if d.security_upgrades_enabled else
            "unattended security upgrades configured, off (no mirror is served here)")
    return f"APT from {d.apt_mirror} and {d.apt_security_mirror}; {auto}"


# ---------------------------------------------------------------- kernel and accounts


def _surface(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "module_blacklist", "network_hardening", "kernel_hardening")
    missing = sorted(REQUIRED_BLACKLIST - set(d.blacklisted_modules))
    if d.module_blacklist and missing:
        out.append(f"modules {', '.join(missing)} are not blacklisted")
    if d.router and not h.has_role("firewall"):
        out.append("treated as a router (loose filtering, redirects) without the firewall role")
    return out


def _surface_evidence(h: HostConfig, d: Any, ctx: Context) -> str:
    rp = "loose (router)" if d.router else "strict"
    return (f"{len(d.blacklisted_modules)} modules blacklisted; reverse-path filtering {rp}; "
            "no redirects or source routes")


def _core(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    return _off(d, "no_core_dumps")


def _permissions(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "umask", "tmpdir_per_user")
    if d.umask and int(d.umask_value, 8) & 0o027 != 0o027:
        out.append(f"default umask {d.umask_value} lets the group write or others read")
    return out


def _hashing(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "password_hashing")
    if d.password_hashing and d.sha_crypt_rounds < MIN_SHA_ROUNDS:
        out.append(f"SHA-512 crypt rounds {d.sha_crypt_rounds} < {MIN_SHA_ROUNDS}")
    return out


def _accounting(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    return _off(d, "process_accounting", "resource_accounting", "audit_rules")


def _banner(h: HostConfig, d: Any, ctx: Context) -> list[str]:
    out = _off(d, "login_banner")
    b = ctx.estate.cloud.login_banner
    if d.login_banner and (d.banner_zh, d.banner_en) != (b.zh, b.en):
        out.append("the login banner is not cloud.yaml's login_banner text")
    return out


def _const(text: str) -> Evidence:
    return lambda h, d, ctx: text


def _policy(pid: str, title: str, clauses: tuple[C.Clause, ...], rationale: str,
            problems: Problems, evidence: Evidence) -> Policy:
    return Policy(id=pid, title=title, clauses=clauses, enforcement=Enforcement.MANDATORY,
                  rationale=rationale, on_hosts=_on_baseline(pid, problems, evidence))


POLICIES = [
    _policy("host-ssh-hardening", "sshd speaks the crypto profile's algorithms only, with "
            "limits and verbose logging", (C.COMPUTE_AUTH_C, C.CRYPTO_DEVICE),
            "Remote administration must not expose credentials to a weak key exchange or "
            "cipher; the lists come from estate/crypto.yaml so the profile and the hosts "
            "cannot drift, and every key fingerprint reaches the log audit.",
            _ssh, _ssh_evidence),
    _policy("host-file-integrity", "Binaries and configuration are watched for change, "
            "reported daily to the log audit", (C.COMPUTE_INTEGRITY_B, C.COMPUTE_INTRUSION_F),
            "An intruder's first act is to change a binary or a configuration file. AIDE "
            "keeps a baseline built by the deploy; any other change is reported until "
            "someone investigates.", _integrity, _integrity_evidence),
    _policy("host-package-verification", "Packaged files are verified against the "
            "distribution's checksums", (C.COMPUTE_TRUSTED,),
            "debsums compares every packaged program with dpkg's checksums: the system "
            "programs the clause names are verified, not only configuration.",
            _packages, _const("debsums runs in the daily integrity check")),
    _policy("host-malware-protection", "ClamAV scans upload, ferry and home trees; the "
            "ferry scans every file; signatures from the internal mirror only",
            (C.COMPUTE_MALWARE,),
            "Files arrive from departments and the internet (the ferry); each is scanned "
            "before it crosses, and the trees people write are scanned on schedule. Without "
            "vendor signatures the scan says so instead of reporting clean.",
            _malware, _malware_evidence),
    _policy("host-patch-sources", "Security updates come from the internal mirror, "
            "applied unattended where the mirror is served", (C.COMPUTE_INTRUSION_E,),
            "Known vulnerabilities are patched from the cloud's own mirror (hosts have no "
            "internet); needrestart lists what an update leaves running on old code.",
            _patches, _patches_evidence),
    _policy("host-minimal-surface", "Unused filesystems and protocols cannot be loaded; "
            "the network stack refuses redirects and source routes",
            (C.COMPUTE_INTRUSION_A, C.COMPUTE_INTRUSION_B),
            "What is not loaded cannot be exploited (dccp, sctp, rds, tipc have all had "
            "remote kernel bugs); only routers keep what routing needs.",
            _surface, _surface_evidence),
    _policy("host-no-core-dumps", "No process memory is dumped to disk",
            (C.COMPUTE_RESIDUAL,),
            "Core dumps of privileged processes copy keys and passwords to files that "
            "outlive the process.", _core,
            _const("core dumps off (limits), fs.suid_dumpable=0 at boot")),
    _policy("host-default-permissions", "New files are private by default and each user "
            "has a private temporary directory", (C.COMPUTE_ACCESS_D,),
            "A umask of 027 and per-user TMPDIR (pam_tmpdir) keep one account's files "
            "unreadable to the others unless shared on purpose.",
            _permissions, lambda h, d, ctx: f"umask {d.umask_value}; pam_tmpdir"),
    _policy("host-password-hashing", "Local passwords are stored as slow salted hashes",
            (C.COMPUTE_CONFIDENTIALITY_B,),
            "Stored authentication data must resist offline guessing if /etc/shadow leaks.",
            _hashing, lambda h, d, ctx: f"SHA-512 crypt, {d.sha_crypt_rounds} rounds"),
    _policy("host-activity-accounting", "Commands and resource use are recorded on every "
            "host", (C.COMPUTE_AUDIT_A,),
            "Process accounting (acct) records every command that ran and sysstat the "
            "load behind it, beside auditd's security events.",
            _accounting, _const("acct, sysstat (every 10 min), auditd rules")),
    _policy("host-login-banner", "Every login is preceded by the legal warning",
            (C.COMPUTE_AUTH_A,),
            "The banner states that only authorised personnel may log in and that sessions "
            "are audited, in Chinese and English, without naming the system.",
            _banner, _const("/etc/issue, /etc/issue.net and sshd Banner: cloud.yaml text")),
]


@dataclass(frozen=True)
class Item:
    """One row of the report's "Host baseline" table."""

    concern: str
    flags: tuple[str, ...]
    policy: str
    lab: str  # how the lab proves it, or why it cannot


ITEMS = (
    Item("sshd crypto, limits, logging (forwarding: `ssh_no_forwarding`, off where the "
         "bastion role decides it)",
         ("ssh_crypto", "ssh_limits", "ssh_verbose_log", "ssh_strong_moduli",
          "ssh_idle_timeout"), "host-ssh-hardening",
         "verified: `sshd -T` on every host (tests/roles/test_baseline.py)"),
    Item("file integrity (AIDE)", ("file_integrity",), "host-file-integrity",
         "verified: every host clean after deploy; a hand-changed file reported to the "
         "log audit"),
    Item("package verification (debsums)", ("package_verification",),
         "host-package-verification", "verified: part of the integrity check on every host"),
    Item("anti-malware (ClamAV)", ("antimalware",), "host-malware-protection",
         "scan path verified (EICAR refused by the ferry and found by the scan, with the "
         "cloud's local test signature); vendor signatures: **not verifiable in the lab** — "
         "no mirror is served, every host reports \"signatures missing\""),
    Item("patch sources", ("apt_sources", "security_upgrades", "apt_tools"),
         "host-patch-sources", "verified: APT policy shows only the internal mirror; "
         "unattended upgrades configured and off (no mirror in the lab)"),
    Item("kernel module blacklist", ("module_blacklist",), "host-minimal-surface",
         "configuration verified (`modprobe --showconfig`); refusal to load **not verifiable "
         "in the lab** — containers share the machine's kernel and cannot load modules"),
    Item("network sysctls", ("network_hardening",), "host-minimal-surface",
         "verified: values read in every host's network namespace"),
    Item("core dumps off", ("no_core_dumps",), "host-no-core-dumps",
         "limits verified (`ulimit -c` 0 in a login session); fs.suid_dumpable **not "
         "verifiable in the lab** — a machine-wide sysctl a container may not set"),
    Item("kernel sysctls", ("kernel_hardening",), "host-minimal-surface",
         "written for boot; **not verifiable in the lab** (machine-wide sysctls)"),
    Item("umask 027, per-user tmp", ("umask", "tmpdir_per_user"), "host-default-permissions",
         "verified: a login session's umask and TMPDIR"),
    Item("password hashing rounds", ("password_hashing",), "host-password-hashing",
         "verified: login.defs on every host"),
    Item("process and resource accounting", ("process_accounting", "resource_accounting"),
         "host-activity-accounting", "verified: `lastcomm` lists a command just run; sysstat "
         "timer active"),
    Item("auditd rules", ("audit_rules",), "host-activity-accounting",
         "rules compiled and checked; loading **not verifiable in the lab** — the kernel "
         "audit interface exists only in the machine's initial namespaces"),
    Item("legal banners", ("login_banner",), "host-login-banner",
         "verified: /etc/issue, /etc/issue.net and the banner an SSH client receives"),
)


def baseline_rows(estate: Any, report: Any = None) -> list[tuple[str, str, str, str, str, str]]:
    """The "Host baseline" table: concern, flags, policy (with its status when a report is
    given), clauses, hosts with every flag on / hosts, how the lab shows it."""
    from policies.hosts import host_configs
    from policies.offline import Status

    hosts = host_configs(estate) or []
    datas = [h.roles.get("baseline") for h in hosts]
    datas = [d for d in datas if d is not None and not isinstance(d, RoleError)]
    by_id = {p.id: p for p in POLICIES}
    rows = []
    for item in ITEMS:
        p = by_id[item.policy]
        on = sum(all(getattr(d, f) for f in item.flags) for d in datas)
        status = ""
        if report is not None:
            results = report.for_policy(p.id)
            failing = any(r.failing for r in results)
            status = " ❌" if failing else (" ✅" if any(r.status == Status.PASS
                                                        for r in results) else "")
        rows.append((item.concern, ", ".join(f"`{f}`" for f in item.flags),
                     f"`{p.id}`{status}", "; ".join(c.ref for c in p.clauses),
                     f"{on}/{len(hosts)}", item.lab))
    return rows
