"""bastion — OpenSSH jump host (堡垒机) with session recording (tlog) and auditd.

Stands in for the bastion / operations-audit appliance: the flow matrix says the
management zone is reached only through the bastion and every operation on other zones
is "proxied and recorded by the bastion" — GB/T 22239-2019 8.1.4.3 / 8.1.10.x (安全审计,
集中管控: privileged operations are audited; administrators log in through one point).

Two sides, chosen per host by the estate model (the bastion appliance's edge ends in
the management zone, so a ``bastion`` host *in* that zone is the jump host; anywhere
else the role installs the target side):

- **jump** host: an account per cloud operator (``estate/operators.yaml``) whose login
  shell is ``tlog-rec-session`` — every session's terminal output (and, with
  ``record_input``, keystrokes) is recorded to syslog, which the baseline ships to the
  central log audit; TCP/stream forwarding and tunnels are off for operators, so a
  session cannot bypass the recorder with ``ssh -J``/``-L``; sshd ``LogLevel VERBOSE``
  records key fingerprints; auditd rules record every command an operator runs
  (``auid`` survives ``sudo``).
- **target** hosts: the operators' accounts exist, but sshd refuses an operator login
  that does not come from a bastion (``only_via_bastion``) — a direct SSH into the
  protected host is refused even with a valid key.

Second factor on the jump host (``two_factor``; GB/T 22239-2019 8.1.4.1 d), 双因素 for
administrators): an operator's key alone opens nothing. sshd demands
``AuthenticationMethods publickey,keyboard-interactive`` of the operators' group only;
the keyboard-interactive step goes through PAM, whose sshd stack here asks pam_oath
(libpam-oath: TOTP, RFC 6238, 6 digits, 30 s, a window of ``otp_window`` steps) and
never a Unix password (operators have none). One TOTP seed per operator is derived on
the control machine by ``govcloud.secrets.totp_seed`` (never in an inventory or the
repo) and written to pam_oath's users file, mode 600 root. pam_oath rewrites that file
on every successful login (counter, last code and time: its replay protection, so a
code is good once), so the deploy compares only the seed fields of each line (a digest
taken on the host at run time, :func:`seeds_digest`) and rewrites the file only when a
seed or an operator changed: a second deploy after any number of logins changes
nothing. root's key-only login (the pyinfra deploy) is not in the operators' group and
is unchanged.

Which factors, from the model (one source of truth): each operator's ``mfa`` in
``estate/operators.yaml`` says what that operator logs in with, and :func:`data_for`
turns it into this role's data: ``ssh-key`` is sshd's publickey step (always asked),
``totp`` is the pam_oath step (``Account.totp``; ``two_factor`` is on when any operator
lists it; an operator who does not is key-only, which the admin-two-factor policy reports).
A factor this role cannot ask for (``sm2-token``, ``password``, ``hotp``, ...) or an
operator without ``ssh-key`` makes :func:`data_for` refuse with an error naming
operators.yaml, the operator and the factor: the model may not claim what the jump host
does not do, and the jump host may not ask what the model does not say.

Login-failure handling (``login_lockout``; 8.1.4.1 b): the jump host's sshd stack
replaces ``common-auth``, where the baseline puts pam_faillock, so the stack here calls
pam_faillock itself around pam_oath: wrong codes are counted, a locked operator is
refused before pam_oath is asked. The thresholds stay in one place, the baseline's
``/etc/security/faillock.conf`` (``lockout_deny``, ``lockout_unlock_seconds``).

Flags (secure default = on): ``record_sessions``, ``record_input`` (off: keystrokes
include passwords typed at prompts), ``no_forwarding``, ``audit_rules``,
``only_via_bastion``, ``verbose_sshd_log``, ``two_factor`` (off: key-only logins, the
PAM stack and users file are left alone), ``login_lockout``.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyinfra.api import deploy

from govcloud import secrets
from govcloud.model import ApplianceKind, Estate, Zone
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.BASTION
PACKAGES = ("openssh-server", "tlog", "auditd", "libpam-oath")
SERVICES = ("ssh",)
GROUP = "govcloud-ops"
SSHD_DROPIN = "/etc/ssh/sshd_config.d/40-govcloud-bastion.conf"
OPERATORS_FILE = "estate/operators.yaml"
# the operators.yaml factors this role can make sshd ask, and how it asks them
ENFORCED_FACTORS = {
    "ssh-key": "sshd publickey",
    "totp": "pam_oath keyboard-interactive, RFC 6238",
}
PAM_SSHD = "/etc/pam.d/sshd"
TOTP_STEP = 30  # seconds (RFC 6238 default; what authenticator apps and oathtool use)
TOTP_DIGITS = 6


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    full_name: str
    roles: list[str]
    authorized_keys: list[str] = []
    totp: bool = Field(default=True, description="jump host: a TOTP code after the key")


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jump: bool = Field(description="this host is the jump host (else: a protected target)")
    operators: list[Account] = []
    group: str = GROUP
    bastions: list[str] = Field(default=[], description="addresses operators may come from")
    record_sessions: bool = True
    record_input: bool = False
    no_forwarding: bool = True
    verbose_sshd_log: bool = True
    audit_rules: bool = True
    only_via_bastion: bool = True
    two_factor: bool = Field(default=True, description="jump host: key + TOTP for operators")
    login_lockout: bool = Field(default=True,
                                description="jump host: wrong TOTP codes lock the operator "
                                            "(pam_faillock, thresholds from the baseline)")
    otp_window: int = Field(default=1, ge=0, le=3,
                            description="TOTP steps accepted either side of now (clock skew)")
    oath_users_file: str = "/etc/users.oath"
    session_notice: str = "ATTENTION: this session is recorded (govcloud bastion, 等保 审计)."

    @model_validator(mode="after")
    def _target_needs_bastions(self) -> Data:
        if not self.jump and self.only_via_bastion and not self.bastions:
            raise ValueError("a protected target with only_via_bastion needs the bastions' "
                             "addresses (else every operator login would be refused)")
        return self

    @property
    def totp_operators(self) -> list[Account]:
        """Operators the jump host asks a TOTP code of (all of them, unless the model
        lists an operator with a key alone)."""
        if not (self.jump and self.two_factor):
            return []
        return [op for op in self.operators if op.totp]

    @property
    def otp_match(self) -> str | None:
        """sshd ``Match`` criteria of the operators asked key + TOTP, or None when the jump
        host asks no one (a target, ``two_factor`` off, or every operator key-only)."""
        if not (self.jump and self.two_factor):
            return None
        if not self.key_only_operators:
            return f"Group {self.group}"
        if not self.totp_operators:
            return None
        return f"Group {self.group} User {','.join(op.name for op in self.totp_operators)}"

    @property
    def key_only_operators(self) -> list[str]:
        """Operators the jump host lets in with their key alone (names)."""
        totp = {op.name for op in self.totp_operators}
        return [op.name for op in self.operators if op.name not in totp]

    @property
    def authentication_methods(self) -> list[str]:
        """sshd ``AuthenticationMethods`` for operators on the jump host: every list in it
        must be passed in full (a comma means *and*)."""
        if self.jump and self.two_factor:
            return ["publickey,keyboard-interactive"]
        return ["publickey"]


def stands_in(estate: Estate, host: Any) -> bool:
    """Only the jump host is the 堡垒机; protected hosts run this role to accept it."""
    return host.zone == bastion_zone(estate)


def bastion_zone(estate: Estate) -> Zone:
    """The zone the bastion opens onto: the destination of the flows whose chain ends at
    the bastion (operators enter through it, e.g. ops-access: egov-wan -> management)."""
    for f in estate.flows:
        if f.chain and f.chain[-1] == ApplianceKind.BASTION and isinstance(f.destination, Zone):
            return f.destination
    raise LookupError("no flow in estate/flows.yaml ends its chain at the bastion")


def operator_totp(estate: Estate) -> dict[str, bool]:
    """``{operator: asks TOTP}`` from each operator's ``mfa`` in the model.

    Raises ValueError (naming operators.yaml, the operator and the factor) when the model
    lists a factor this role cannot make sshd ask, or omits the key sshd always asks: the
    deploy must not go ahead with a model that says something the jump host does not do.
    """
    out: dict[str, bool] = {}
    for i, op in enumerate(estate.operators):
        where = f"{OPERATORS_FILE}: operators[{i}].mfa ({op.name})"
        asks = "; ".join(f"{f} ({how})" for f, how in ENFORCED_FACTORS.items())
        for factor in op.mfa:
            if factor not in ENFORCED_FACTORS:
                raise ValueError(
                    f"{where}: operator {op.name} lists factor {factor!r}, which roles/bastion "
                    f"cannot enforce (the jump host asks: {asks}) [bastion-enforceable-factor]")
        if "ssh-key" not in op.mfa:
            raise ValueError(
                f"{where}: operator {op.name} does not list 'ssh-key', but the jump host "
                f"always asks the operator's key first (it asks: {asks}) "
                "[bastion-enforceable-factor]")
        out[op.name] = "totp" in op.mfa
    return out


def data_for(estate: Estate, host: Any) -> Data:
    """Operators and their factors from the model; jump hosts = ``bastion`` hosts in the
    bastion's zone. ``two_factor`` follows the operators' ``mfa`` (see the module doc)."""
    zone = bastion_zone(estate)
    topo = host.topology
    jumps = [h for h in topo.with_role("bastion") if h.zone == zone]
    totp = operator_totp(estate)
    return Data(
        jump=host.zone == zone,
        operators=[Account(name=o.name, full_name=o.full_name, totp=totp[o.name],
                           roles=[str(r) for r in o.roles]) for o in estate.operators],
        bastions=sorted(h.address for h in jumps),
        two_factor=any(totp.values()),
    )


def render(name: str, data: Data, **extra: Any) -> str:
    return _render(__file__, name, d=data, step=TOTP_STEP, digits=TOTP_DIGITS,
                   sshd_dropin=SSHD_DROPIN, **extra)


def otp_seed(operator: str) -> str:
    """The operator's TOTP seed (hex), resolved on the control machine at deploy time; the
    lab tests compute their codes from the same call."""
    return secrets.totp_seed(f"bastion/{operator}")


def render_users(data: Data, seeds: dict[str, str]) -> str:
    """pam_oath's users file: ``HOTP/T30/6 <user> - <hex seed>`` per operator."""
    return render("users.oath.j2", data, seeds=seeds)


def seeds_digest(text: str) -> str:
    """SHA-256 over the first four fields (type, user, password, seed) of each line of a
    pam_oath users file. pam_oath appends counter, last code and time to a line (and turns
    its spaces into tabs) on each login; none of that changes this digest, a new seed,
    user or token type does. :func:`seeds_digest_command` computes the same on a host."""
    lines = (line.split() for line in text.splitlines())
    norm = "".join(" ".join(f[:4]) + "\n" for f in lines if f)
    return hashlib.sha256(norm.encode()).hexdigest()


def seeds_digest_command(path: str) -> str:
    """Shell twin of :func:`seeds_digest` for a run-time fact (prints ``missing`` when the
    file is absent). The ``true oath-seeds;`` prefix keeps the fact's command string
    unique, so no fact gathered at plan time answers it."""
    q = shlex.quote(path)
    return (f"true oath-seeds; if test -f {q}; then awk 'NF {{print $1, $2, $3, $4}}' {q} "
            "| sha256sum | cut -d' ' -f1; else echo missing; fi")


def users_file_stale(remote_digest: str | None, rendered: str) -> bool:
    """Rewrite the users file only if its seeds differ from the model's (or it is absent)."""
    return (remote_digest or "").strip() != seeds_digest(rendered)


@deploy("bastion")
def apply(data: Data | None = None) -> None:
    """Operator accounts, recording shell (jump) or bastion-only logins (target), key +
    TOTP for operators on the jump host, sshd."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("bastion"))
    apt.packages(name="openssh + tlog + auditd + pam_oath", packages=list(PACKAGES),
                 update=False, no_recommends=True)
    recorder = "/usr/bin/tlog-rec-session"
    shell = recorder if (d.jump and d.record_sessions) else "/bin/bash"
    server.group(name=f"group {d.group}", group=d.group)
    for op in d.operators:
        server.user(name=f"operator {op.name}", user=op.name, group=d.group, shell=shell,
                    comment=op.full_name, home=f"/home/{op.name}", create_home=True)
        if op.authorized_keys:
            files.directory(name=f"{op.name} ~/.ssh", path=f"/home/{op.name}/.ssh",
                            user=op.name, group=d.group, mode="700")
            files.put(name=f"{op.name} authorized_keys",
                      src=StringIO("\n".join(op.authorized_keys) + "\n"),
                      dest=f"/home/{op.name}/.ssh/authorized_keys", user=op.name,
                      group=d.group, mode="600")
    if d.jump and d.record_sessions:
        # as upstream ships it: the recorder runs set-uid _tlog, so the operator whose
        # session it records can neither kill nor ptrace it (Debian installs it 0755)
        override = host.get_fact(
            Command, command=f"dpkg-statoverride --list {recorder} || echo none").strip()
        server.shell(name="tlog-rec-session set-uid _tlog (tamper-proof recorder)",
                     commands=[f"dpkg-statoverride --update --add _tlog _tlog 6755 {recorder}"],
                     _if=lambda: override == "none")
        files.directory(name="tlog lock dir (tmpfiles creates it at boot)", path="/run/tlog",
                        user="_tlog", group="_tlog", mode="755")
        files.put(name="tlog: record sessions to syslog",
                  src=StringIO(render("tlog-rec-session.conf.j2", d)),
                  dest="/etc/tlog/tlog-rec-session.conf", mode="644")
    if d.otp_match:
        # the PAM side is ready before sshd starts asking for it
        users = render_users(d, {op.name: otp_seed(op.name) for op in d.totp_operators})

        def seeds_changed() -> bool:
            # asked when the operation runs; pam_oath's own bookkeeping is not a change
            remote = host.get_fact(Command, command=seeds_digest_command(d.oath_users_file))
            return users_file_stale(remote, users)

        files.put(name="pam_oath users file (operators' TOTP seeds)", src=StringIO(users),
                  dest=d.oath_users_file, user="root", group="root", mode="600",
                  _if=seeds_changed)
        files.put(name="sshd PAM: keyboard-interactive asks pam_oath only",
                  src=StringIO(render("pam-sshd.j2", d)), dest=PAM_SSHD, user="root",
                  group="root", mode="644")
    sshd = files.put(name="sshd: bastion policy", src=StringIO(render("sshd-bastion.conf.j2", d)),
                     dest=SSHD_DROPIN, mode="644")
    server.shell(name="sshd -t (validate before reload)", commands=["sshd -t"],
                 _if=sshd.did_change)
    systemd.service(name="sshd reload", service="ssh", running=True, reloaded=True,
                    _if=sshd.did_change)
    if d.jump and d.audit_rules:
        rules = files.put(name="auditd: every command of an operator session",
                          src=StringIO(render("bastion.rules.j2", d)),
                          dest="/etc/audit/rules.d/60-govcloud-bastion.rules", mode="640")
        # the kernel audit interface exists only in the machine's initial namespaces; in a
        # container the rules are compiled and checked, not loaded (as roles/baseline does)
        virt = host.get_fact(Command, command="systemd-detect-virt --container || true")
        server.shell(name="compile audit rules (augenrules)",
                     commands=["augenrules --check >/dev/null 2>&1 || augenrules --load "
                               "|| test -f /etc/audit/audit.rules"],
                     _if=rules.did_change)
        if virt.strip() in ("", "none"):
            systemd.service(name="auditd running", service="auditd", running=True,
                            enabled=True)
