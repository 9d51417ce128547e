"""roles/bastion: jump host vs protected target, sshd policy, tlog recording config."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate, Zone
from roles import bastion


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


def test_bastion_zone_from_the_chain_ending_at_the_bastion(estate: Estate) -> None:
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


# ------------------------------------------------------------------ second factor (TOTP)

TODAY_JUMP = (  # the jump host's sshd drop-in as it was before the second factor
    "# Managed by govcloud roles/bastion (jump host).\nLogLevel VERBOSE\n"
    "# operators get a recorded shell and nothing else: no ssh -J / -L / -R / -W, no tunnels\n"
    "Match Group govcloud-ops\n    AllowTcpForwarding no\n    AllowStreamLocalForwarding no\n"
    "    PermitTunnel no\n    X11Forwarding no\n    AllowAgentForwarding yes\nMatch all\n"
)
SEED = "3132333435363738393031323334353637383930"  # RFC 6238 test vector key


def _jump(*names: str, **fields: object) -> bastion.Data:
    ops = [bastion.Account(name=n, full_name=n, roles=["system-admin"]) for n in names]
    return bastion.Data(jump=True, operators=ops, **fields)


def _totp(hex_seed: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), written out here as an independent check."""
    step = int((time.time() if at is None else at) // bastion.TOTP_STEP)
    mac = hmac.new(bytes.fromhex(hex_seed), struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def test_rfc6238_vector() -> None:
    # RFC 6238 appendix B, T = 59 s, SHA-1: 94287082 -> its last 6 digits
    assert _totp(SEED, 59) == "287082"


def test_jump_host_demands_key_then_totp_of_operators() -> None:
    d = bastion.Data(jump=True)
    assert d.two_factor
    assert d.authentication_methods == ["publickey,keyboard-interactive"]
    conf = bastion.render("sshd-bastion.conf.j2", d)
    glob, block = conf.split("Match Group govcloud-ops\n")
    assert "UsePAM yes\n" in glob  # global-only keyword, outside any Match
    block = block.split("Match all")[0]
    assert "    KbdInteractiveAuthentication yes\n" in block
    assert "    AuthenticationMethods publickey,keyboard-interactive\n" in block
    # root (the deploy's key login) matches no block: nothing global turns kbd-int on
    assert "KbdInteractiveAuthentication" not in glob
    assert "AuthenticationMethods" not in glob
    assert conf.endswith("Match all\n")


def test_two_factor_off_is_the_key_only_bastion() -> None:
    off = bastion.Data(jump=True, two_factor=False)
    assert off.authentication_methods == ["publickey"]
    assert bastion.render("sshd-bastion.conf.j2", off) == TODAY_JUMP
    # targets are unchanged by the flag: the second factor is asked once, at the bastion
    t = dict(jump=False, bastions=["10.0.0.5"])
    assert bastion.render("sshd-bastion.conf.j2", bastion.Data(**t)) == bastion.render(
        "sshd-bastion.conf.j2", bastion.Data(**t, two_factor=False))
    assert bastion.Data(**t).authentication_methods == ["publickey"]


def _auth_lines(pam: str) -> list[list[str]]:
    lines = [ln.split() for ln in pam.splitlines() if ln.strip() and not ln.startswith("#")]
    return [ln for ln in lines if ln[0] in ("auth", "@include") and
            (ln[0] == "auth" or ln[1] == "common-auth")]


def test_pam_stack_asks_pam_oath_only() -> None:
    d = bastion.Data(jump=True, otp_window=2)
    pam = bastion.render("pam-sshd.j2", d)
    oath = ["pam_oath.so", "usersfile=/etc/users.oath", "window=2", "digits=6"]
    # pam_oath is the only factor asked; pam_faillock counts its failures around it
    assert _auth_lines(pam) == [
        ["auth", "requisite", "pam_faillock.so", "preauth"],
        ["auth", "[success=1", "default=ignore]", *oath],
        ["auth", "[default=die]", "pam_faillock.so", "authfail"],
        ["auth", "sufficient", "pam_faillock.so", "authsucc"]]
    # no thresholds here: they are the baseline's faillock.conf, one place for all hosts
    assert not re.search(r"pam_faillock\.so.*(deny|unlock_time)=", pam)
    # the flag off: pam_oath alone, as before
    bare = bastion.render("pam-sshd.j2", bastion.Data(jump=True, otp_window=2,
                                                      login_lockout=False))
    assert _auth_lines(bare) == [["auth", "required", *oath]]
    assert "pam_unix" not in pam and "common-auth" not in pam  # no Unix password asked
    # the rest of Debian's sshd stack stays: loginuid (auditd's auid), limits, account
    for kept in ("session    required     pam_loginuid.so", "@include common-account",
                 "@include common-session", "account    required     pam_nologin.so"):
        assert kept in pam
    with pytest.raises(ValidationError):
        bastion.Data(jump=True, otp_window=10)  # a wide window is a guessing window


def test_users_file_one_line_per_operator(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("GOVCLOUD_SECRETS_DIR", str(tmp_path))
    d = _jump("wang-lei", "chen-jing")
    seeds = {op.name: bastion.otp_seed(op.name) for op in d.operators}
    assert len(set(seeds.values())) == 2
    assert all(re.fullmatch(r"[0-9a-f]{40}", s) for s in seeds.values())  # 160 bits
    assert bastion.otp_seed("wang-lei") == seeds["wang-lei"]  # stable per name
    text = bastion.render_users(d, seeds)
    assert text == (f"HOTP/T30/6 wang-lei - {seeds['wang-lei']}\n"
                    f"HOTP/T30/6 chen-jing - {seeds['chen-jing']}\n")


# -- the pam_oath users file is rewritten by every login: only a seed change is a change

def _shell_digest(path: Path) -> str:
    return subprocess.run(["sh", "-c", bastion.seeds_digest_command(str(path))],
                          capture_output=True, text=True, check=True).stdout


def test_seeds_digest_ignores_pam_oath_bookkeeping(tmp_path: Path) -> None:
    d = _jump("wang-lei", "chen-jing")
    rendered = bastion.render_users(d, {"wang-lei": SEED, "chen-jing": "ab" * 20})
    users = tmp_path / "users.oath"
    users.write_text(rendered)
    assert not bastion.users_file_stale(_shell_digest(users), rendered)
    # what pam_oath leaves after a login: tabs, counter, last code, time
    users.write_text(rendered.replace(
        f"HOTP/T30/6 wang-lei - {SEED}\n",
        f"HOTP/T30/6\twang-lei\t-\t{SEED}\t0\t287082\t2026-11-21T19:05:19L\n"))
    assert bastion.seeds_digest(users.read_text()) == bastion.seeds_digest(rendered)
    assert not bastion.users_file_stale(_shell_digest(users), rendered)
    # a changed seed, a new operator, a missing file: rewrite
    new_seed = bastion.render_users(d, {"wang-lei": "cd" * 20, "chen-jing": "ab" * 20})
    assert bastion.users_file_stale(_shell_digest(users), new_seed)
    more = bastion.render_users(_jump("wang-lei", "chen-jing", "sun-hao"),
                                {"wang-lei": SEED, "chen-jing": "ab" * 20, "sun-hao": "ef" * 20})
    assert bastion.users_file_stale(_shell_digest(users), more)
    users.unlink()
    assert _shell_digest(users).strip() == "missing"
    assert bastion.users_file_stale(_shell_digest(users), rendered)
    assert bastion.users_file_stale(None, rendered)


# -- the real PAM stack, run in-process against a copy of it (pam_start_confdir)

PAM_OATH = Path("/lib/x86_64-linux-gnu/security/pam_oath.so")
PAM_SUCCESS, PAM_PERM_DENIED, PAM_AUTH_ERR = 0, 6, 7
# a wrong code: pam_oath's failure is "ignore"d so that pam_faillock's authfail runs, which
# records it and returns PAM_IGNORE; [default=die] then ends the stack with Linux-PAM's
# must-fail code. A locked account is refused earlier, by preauth's PAM_AUTH_ERR.
WRONG_CODE = PAM_PERM_DENIED


class _Msg(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class _Resp(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


_CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(_Msg)),
                         ctypes.POINTER(ctypes.POINTER(_Resp)), ctypes.c_void_p)


class _Conv(ctypes.Structure):
    _fields_ = [("conv", _CONV), ("appdata_ptr", ctypes.c_void_p)]


PAM_FAIL_DELAY = 10  # pam_set_item: void (*)(int retval, unsigned usec_delay, void *appdata)
_NO_DELAY = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)(
    lambda *_: None)


def _pam_authenticate(confdir: Path, user: str, answer: str) -> tuple[int, list[str]]:
    """``pam_authenticate`` of service ``sshd`` read from ``confdir`` (Linux-PAM >= 1.4),
    answering every prompt with ``answer``; returns the PAM code and the prompts asked."""
    libpam = ctypes.CDLL(ctypes.util.find_library("pam"))
    libc = ctypes.CDLL(None)
    libc.calloc.restype = ctypes.c_void_p
    libc.strdup.restype = ctypes.c_void_p
    libc.strdup.argtypes = [ctypes.c_char_p]
    libpam.pam_start_confdir.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                         ctypes.POINTER(_Conv), ctypes.c_char_p,
                                         ctypes.POINTER(ctypes.c_void_p)]
    libpam.pam_authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int]
    libpam.pam_end.argtypes = [ctypes.c_void_p, ctypes.c_int]
    prompts: list[str] = []

    @_CONV
    def conv(n: int, msgs: Any, resp: Any, _data: Any) -> int:
        out = ctypes.cast(libc.calloc(n, ctypes.sizeof(_Resp)), ctypes.POINTER(_Resp))
        for i in range(n):
            prompts.append(msgs[i].contents.msg.decode())
            if msgs[i].contents.msg_style in (1, 2):  # PAM_PROMPT_ECHO_OFF / _ON
                out[i].resp = libc.strdup(answer.encode())
        resp[0] = out
        return 0

    conv_s, handle = _Conv(conv, None), ctypes.c_void_p()
    assert libpam.pam_start_confdir(b"sshd", user.encode(), ctypes.byref(conv_s),
                                    str(confdir).encode(), ctypes.byref(handle)) == 0
    # the ~2 s delay after a failure (anti-guessing) is the application's to serve: a
    # PAM_FAIL_DELAY callback that returns at once keeps these tests fast
    libpam.pam_set_item.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    assert libpam.pam_set_item(handle, PAM_FAIL_DELAY, ctypes.cast(_NO_DELAY, ctypes.c_void_p)) == 0
    code = libpam.pam_authenticate(handle, 0)
    libpam.pam_end(handle, code)
    return code, prompts


# pam_faillock counts failures of accounts that exist (an unknown name is ignored), so the
# in-process stack logs in as an account every Debian has; its tally goes to tmp_path.
OPERATOR = "daemon"
FAILLOCK_DENY = 3
FAILLOCK = Path("/usr/sbin/faillock")  # libpam-modules-bin, beside pam_faillock.so


def _stack(tmp_path: Path, **fields: object) -> tuple[Path, Path, str]:
    """The rendered sshd stack in a PAM confdir of its own, pam_oath's users file for
    OPERATOR, and pam_faillock pointed at a tally dir in tmp_path with deny=3 (the
    module's arguments override faillock.conf, so the host's own file is not read)."""
    users = tmp_path / "users.oath"
    d = _jump(OPERATOR, oath_users_file=str(users), **fields)
    rendered = bastion.render_users(d, {OPERATOR: SEED})
    users.write_text(rendered)
    users.chmod(0o600)
    confdir = tmp_path / "pam.d"
    confdir.mkdir()
    tally = tmp_path / "faillock"
    stack = bastion.render("pam-sshd.j2", d).replace(
        "pam_faillock.so", f"pam_faillock.so dir={tally} deny={FAILLOCK_DENY} unlock_time=600")
    (confdir / "sshd").write_text(stack)
    for inc in ("common-account", "common-session", "common-password"):
        if (Path("/etc/pam.d") / inc).exists():
            shutil.copy(Path("/etc/pam.d") / inc, confdir / inc)
    return confdir, tally, rendered


def _wrong_code() -> str:
    return next(c for c in ("000000", "111111", "222222", "333333")
                if c not in {_totp(SEED, time.time() + k * 30) for k in (-1, 0, 1, 2)})


def _failures(tally: Path) -> int:
    """Valid failure records of OPERATOR, as ``faillock`` (the admin's tool) lists them."""
    out = subprocess.run([str(FAILLOCK), "--dir", str(tally), "--user", OPERATOR],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for ln in out.splitlines()[2:] if ln.split()[-1:] == ["V"])


needs_pam = pytest.mark.skipif(
    not PAM_OATH.exists() or os.geteuid() != 0 or not FAILLOCK.exists(),
    reason="needs libpam-oath (scripts/apt-packages.txt), pam_faillock and root")


@needs_pam
def test_pam_stack_accepts_the_code_once(tmp_path: Path) -> None:
    confdir, _tally, rendered = _stack(tmp_path)
    users = tmp_path / "users.oath"
    code = _totp(SEED)
    assert _pam_authenticate(confdir, OPERATOR, _wrong_code())[0] == WRONG_CODE
    ok, prompts = _pam_authenticate(confdir, OPERATOR, code)
    assert ok == PAM_SUCCESS
    assert len(prompts) == 1 and "One-time password" in prompts[0]  # never a password
    # pam_oath recorded the code: the same code again is refused (replay)
    assert _pam_authenticate(confdir, OPERATOR, code)[0] == WRONG_CODE
    assert "\t0\t" in users.read_text()  # ...which is why the file changes at each login
    assert users.stat().st_mode & 0o777 == 0o600
    # and that bookkeeping is no reason for the next deploy to rewrite the file
    assert not bastion.users_file_stale(_shell_digest(users), rendered)
    # an account not in the users file (root) is refused without being asked anything
    code_root, asked = _pam_authenticate(confdir, "root", code)
    assert code_root != PAM_SUCCESS and asked == []


@needs_pam
def test_pam_stack_locks_after_wrong_codes(tmp_path: Path) -> None:
    """deny wrong codes lock the operator: the right code is then refused without
    pam_oath being asked, until the lock is lifted (faillock --reset, or unlock_time)."""
    confdir, tally, _ = _stack(tmp_path)
    for _ in range(FAILLOCK_DENY):
        res, asked = _pam_authenticate(confdir, OPERATOR, _wrong_code())
        assert res == WRONG_CODE and any("One-time password" in p for p in asked)
    assert _failures(tally) == FAILLOCK_DENY  # pam_faillock's own tally, by its tool
    res, asked = _pam_authenticate(confdir, OPERATOR, _totp(SEED))
    assert res == PAM_AUTH_ERR
    assert not any("One-time password" in p for p in asked), asked  # pam_oath not asked
    assert any("locked" in p for p in asked), asked  # pam_faillock said why
    subprocess.run([str(FAILLOCK), "--dir", str(tally), "--user", OPERATOR, "--reset"],
                   check=True)
    assert _pam_authenticate(confdir, OPERATOR, _totp(SEED))[0] == PAM_SUCCESS


@needs_pam
def test_pam_stack_good_code_clears_the_count(tmp_path: Path) -> None:
    """Failures below the threshold are forgotten after a good login, so an operator who
    mistypes now and then is not locked out by a sum spread over days."""
    confdir, tally, _ = _stack(tmp_path)
    for _ in range(FAILLOCK_DENY - 1):
        assert _pam_authenticate(confdir, OPERATOR, _wrong_code())[0] == WRONG_CODE
    assert _failures(tally) == FAILLOCK_DENY - 1
    assert _pam_authenticate(confdir, OPERATOR, _totp(SEED))[0] == PAM_SUCCESS
    assert _failures(tally) == 0  # authsucc cleared the records


# -- apply() wiring, with pyinfra's operations recorded instead of run

class _Op:
    def __init__(self, kind: str, kwargs: dict[str, Any]) -> None:
        self.kind, self.kwargs = kind, kwargs

    def did_change(self) -> bool:
        return False


class _Host:
    def __init__(self, data: dict[str, Any], facts: dict[str, str]) -> None:
        self.data, self.facts, self.asked = data, facts, []

    def get_fact(self, _fact: Any, command: str) -> str:
        self.asked.append(command)
        return next((v for k, v in self.facts.items() if k in command), "")


def _apply(monkeypatch: pytest.MonkeyPatch, d: bastion.Data,
           facts: dict[str, str]) -> tuple[list[_Op], _Host]:
    import pyinfra
    from pyinfra.operations import apt, files, server, systemd

    ops: list[_Op] = []

    def recorder(kind: str) -> Any:
        def op(**kw: Any) -> _Op:
            ops.append(_Op(kind, kw))
            return ops[-1]
        return op

    for mod in (apt, files, server, systemd):
        for name in ("packages", "put", "directory", "group", "user", "shell", "service"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, recorder(f"{mod.__name__}.{name}"))
    fake = _Host({"bastion": d.model_dump()}, facts)
    monkeypatch.setattr(pyinfra, "host", fake)
    bastion.apply._inner()
    return ops, fake


def _named(ops: list[_Op], text: str) -> _Op:
    return next(o for o in ops if text in o.kwargs.get("name", ""))


def test_apply_writes_users_file_only_when_seeds_change(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("GOVCLOUD_SECRETS_DIR", str(tmp_path))
    d = _jump("wang-lei", "chen-jing")
    ops, fake = _apply(monkeypatch, d, {"dpkg-statoverride": "none"})
    assert "libpam-oath" in _named(ops, "openssh").kwargs["packages"]
    users = _named(ops, "pam_oath users file")
    kw = users.kwargs
    assert (kw["dest"], kw["mode"], kw["user"], kw["group"]) == ("/etc/users.oath", "600",
                                                                 "root", "root")
    text = kw["src"].getvalue()
    assert text == bastion.render_users(d, {n: bastion.otp_seed(n)
                                           for n in ("wang-lei", "chen-jing")})
    # the _if callable asks the host at run time, with the seed-digest command
    fake.facts["oath-seeds"] = "missing\n"
    assert kw["_if"]() is True
    assert any(c == bastion.seeds_digest_command("/etc/users.oath") for c in fake.asked)
    fake.facts["oath-seeds"] = bastion.seeds_digest(
        text.replace(" - ", "\t-\t").replace("\n", "\t1\t123456\t2026-11-21T19:05:19L\n")) + "\n"
    assert kw["_if"]() is False  # logins happened since: no change
    fake.facts["oath-seeds"] = bastion.seeds_digest(text.replace("wang-lei", "wang-lei2"))
    assert kw["_if"]() is True
    pam = _named(ops, "sshd PAM")
    assert pam.kwargs["dest"] == "/etc/pam.d/sshd"
    assert pam.kwargs["src"].getvalue() == bastion.render("pam-sshd.j2", d)
    # PAM is in place before sshd is told to ask for it
    assert ops.index(pam) < ops.index(_named(ops, "sshd: bastion policy"))
    # no seed in any command or name pyinfra would log
    seeds = [bastion.otp_seed(n) for n in ("wang-lei", "chen-jing")]
    logged = fake.asked + [str(o.kwargs.get("name")) + str(o.kwargs.get("commands"))
                           for o in ops]
    assert not any(s in line for s in seeds for line in logged)


def test_apply_without_two_factor_leaves_pam_alone(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("GOVCLOUD_SECRETS_DIR", str(tmp_path))
    for d in (_jump("wang-lei", two_factor=False),
              bastion.Data(jump=False, bastions=["10.0.0.5"])):
        ops, _ = _apply(monkeypatch, d, {"dpkg-statoverride": "none"})
        dests = [o.kwargs.get("dest") for o in ops]
        assert "/etc/pam.d/sshd" not in dests and "/etc/users.oath" not in dests
        assert list((tmp_path).glob("seed")) == []  # no secret was even derived


# -- the factors come from the model (estate/operators.yaml mfa): role and model cannot drift

def _with_mfa(estate: Estate, **mfa: list[str]) -> Estate:
    ops = [o.model_copy(update={"mfa": mfa[o.name]}) if o.name in mfa else o
           for o in estate.operators]
    return estate.model_copy(update={"operators": ops})


def test_sample_model_asks_every_operator_key_and_totp(estate: Estate, topo: Topology) -> None:
    assert {tuple(o.mfa) for o in estate.operators} == {("ssh-key", "totp")}
    d = bastion.data_for(estate, topo.host("dc1-bastion"))
    assert d.two_factor and all(op.totp for op in d.operators)
    assert d.key_only_operators == [] and d.otp_match == "Group govcloud-ops"
    assert "    AuthenticationMethods publickey,keyboard-interactive\n" in bastion.render(
        "sshd-bastion.conf.j2", d)


@pytest.mark.parametrize(("mfa", "factor"), [
    (["ssh-key", "sm2-token"], "'sm2-token'"),
    (["password", "sm2-token"], "'password'"),  # what operators.yaml used to claim
    (["ssh-key", "totp", "fingerprint"], "'fingerprint'"),
    (["totp"], "'ssh-key'"),  # the key is always asked first
])
def test_factor_the_bastion_cannot_ask_is_refused(estate: Estate, topo: Topology,
                                                  mfa: list[str], factor: str) -> None:
    broken = _with_mfa(estate, **{"sun-hao": mfa})
    with pytest.raises(ValueError, match="bastion-enforceable-factor") as exc:
        bastion.data_for(broken, topo.host("dc1-bastion"))
    msg = str(exc.value)
    assert msg.startswith("estate/operators.yaml: operators[4].mfa (sun-hao): ")
    assert "operator sun-hao" in msg and factor in msg
    # targets build their data from the same model: they refuse too (no half deploy)
    target = next(h for h in topo.with_role("bastion") if h.zone != Zone.MANAGEMENT)
    with pytest.raises(ValueError, match="sun-hao"):
        bastion.data_for(broken, target)


def test_operator_listing_key_alone_gets_key_alone(estate: Estate, topo: Topology,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("GOVCLOUD_SECRETS_DIR", str(tmp_path))
    d = bastion.data_for(_with_mfa(estate, **{"sun-hao": ["ssh-key"]}),
                         topo.host("dc1-bastion"))
    assert d.two_factor and d.key_only_operators == ["sun-hao"]
    others = [o.name for o in estate.operators if o.name != "sun-hao"]
    assert d.otp_match == f"Group govcloud-ops User {','.join(others)}"
    conf = bastion.render("sshd-bastion.conf.j2", d)
    otp_block, rest = conf.split(f"Match {d.otp_match}\n")[1].split("Match Group govcloud-ops\n")
    assert "    AuthenticationMethods publickey,keyboard-interactive\n" in otp_block
    assert "AuthenticationMethods" not in rest and "KbdInteractive" not in rest
    for block in (otp_block, rest):  # forwarding is off for every operator either way
        assert "    AllowTcpForwarding no\n" in block
    seeds = {n: bastion.otp_seed(n) for n in others}
    users = bastion.render_users(d, seeds)
    assert "sun-hao" not in users and len(users.splitlines()) == len(others)
    # nobody listing totp: the key-only bastion, PAM left alone
    nobody = bastion.data_for(_with_mfa(estate, **{o.name: ["ssh-key"]
                                                   for o in estate.operators}),
                              topo.host("dc1-bastion"))
    assert not nobody.two_factor and nobody.otp_match is None
    assert bastion.render("sshd-bastion.conf.j2", nobody) == TODAY_JUMP


def test_refusal_reaches_the_inventory_as_a_lab_error(estate_copy: Path) -> None:
    """``govcloud lab inventory`` / ``lab up`` build every host's role data: a model the
    bastion cannot enforce stops them with the role's message, not a traceback."""
    from govcloud.lab.engine import LabError
    from govcloud.lab.inventory import site_inventory_yaml
    from govcloud.model import load_estate

    path = estate_copy / "operators.yaml"
    path.write_text(path.read_text().replace(
        "roles: [audit-admin], mfa: [ssh-key, totp]",
        "roles: [audit-admin], mfa: [password, sm2-token]"))
    broken = load_estate(estate_copy)
    topo = build_topology(broken, load_profile(broken))
    with pytest.raises(LabError) as exc:
        site_inventory_yaml(topo, "region-a-dc1")
    msg = str(exc.value)
    assert msg.startswith("roles/bastion refuses the model for ")
    assert "estate/operators.yaml: operators[2].mfa (liu-yang)" in msg
    assert "'password'" in msg
