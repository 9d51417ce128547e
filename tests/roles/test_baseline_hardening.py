"""roles/baseline hardening concerns (roles/baseline/hardening.py) without a host.

Two levels, as pyinfra's own operation tests do: the rendered files from model data,
and ``apply()`` with pyinfra's operations recorded instead of run, so "each flag off
removes exactly its concern" is checked on the operations the deploy would run.
"""

from __future__ import annotations

from typing import Any

import pytest

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import baseline
from roles.baseline import hardening


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


# ------------------------------------------------------------------ apply(), recorded


class _Op:
    def __init__(self, kind: str, kwargs: dict[str, Any]) -> None:
        self.kind, self.kwargs = kind, kwargs

    @property
    def name(self) -> str:
        return str(self.kwargs.get("name", ""))

    def did_change(self) -> bool:
        return False


class _Host:
    def __init__(self, data: dict[str, Any], facts: dict[str, str]) -> None:
        self.data, self.facts = data, facts

    def get_fact(self, _fact: Any, command: str) -> str:
        return next((v for k, v in self.facts.items() if k in command), "")


def _ops(monkeypatch: pytest.MonkeyPatch, d: baseline.Data,
         facts: dict[str, str] | None = None) -> list[_Op]:
    import pyinfra
    from pyinfra.operations import apt, files, server, systemd

    ops: list[_Op] = []

    def recorder(kind: str) -> Any:
        def op(*_a: Any, **kw: Any) -> _Op:
            ops.append(_Op(kind, kw))
            return ops[-1]
        return op

    for mod in (apt, files, server, systemd):
        for name in ("packages", "put", "template", "line", "directory", "shell", "service",
                     "daemon_reload"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, recorder(f"{mod.__name__.rsplit('.', 1)[1]}."
                                                        f"{name}"))
    monkeypatch.setattr(pyinfra, "host", _Host({"baseline": d.model_dump()},
                                               facts or {"detect-virt": "systemd-nspawn"}))
    baseline.apply._inner()
    return ops


def _names(ops: list[_Op]) -> set[str]:
    return {o.name for o in ops}


def _one(ops: list[_Op], text: str) -> _Op:
    found = [o for o in ops if text in o.name]
    assert len(found) == 1, (text, [o.name for o in found])
    return found[0]


def _packages(ops: list[_Op]) -> set[str]:
    return {p for o in ops if o.kind == "apt.packages" for p in o.kwargs["packages"]}


D = baseline.Data(hostname="h")

# flag -> the operations (by name) that only that concern runs
CONCERNS: dict[str, set[str]] = {
    "login_banner": {"legal warning banner (/etc/issue)", "legal warning banner (/etc/issue.net)"},
    "file_integrity": {"file integrity tools (AIDE, debsums)", "/etc/aide", "/var/lib/aide",
                       "AIDE: what is watched (integrity_watch)", "integrity check script",
                       "govcloud-integrity-check.service", "govcloud-integrity-check.timer",
                       "systemd daemon-reload (govcloud-integrity-check)",
                       "govcloud-integrity-check.timer enabled"},
    "antimalware": {"ClamAV", "freshclam: internal signature mirror",
                    "local signatures (EICAR test file)", "freshclam (signature updates)",
                    "freshclam state", "malware scan script", "govcloud-malware-scan.service",
                    "govcloud-malware-scan.timer",
                    "systemd daemon-reload (govcloud-malware-scan)",
                    "govcloud-malware-scan.timer enabled"},
    "module_blacklist": {"kmod (modprobe)", "kernel module blacklist"},
    "network_hardening": {"network sysctls (at boot)", "network sysctls (now)"},
    "umask": {"login.defs UMASK", "pam-auth-update profile: umask", "enable pam_umask"},
    "password_hashing": {"login.defs ENCRYPT_METHOD", "login.defs SHA_CRYPT_MIN_ROUNDS",
                         "login.defs SHA_CRYPT_MAX_ROUNDS"},
    "process_accounting": {"process accounting (acct)"},
    "resource_accounting": {"sysstat collection on", "sysstat", "sysstat collection timer"},
    "apt_sources": {"APT sources: internal mirror",
                    "APT: no one-line sources besides the mirror's"},
    "security_upgrades": {"unattended-upgrades: security origin only",
                          "unattended-upgrades schedule"},
    "apt_tools": {"/etc/needrestart/conf.d", "needrestart: list, never restart"},
}


def test_every_concern_runs_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    names = _names(_ops(monkeypatch, D))
    for flag, owned in CONCERNS.items():
        assert owned <= names, (flag, owned - names)
    assert {"aide", "debsums", "clamav", "clamav-freshclam", "libpam-tmpdir", "acct",
            "sysstat", "unattended-upgrades", "apt-listchanges", "needrestart"} <= _packages(
        _ops(monkeypatch, D))


@pytest.mark.parametrize("flag", sorted(CONCERNS))
def test_each_flag_off_removes_exactly_its_concern(monkeypatch: pytest.MonkeyPatch,
                                                   flag: str) -> None:
    on = _names(_ops(monkeypatch, D))
    off = _names(_ops(monkeypatch, D.model_copy(update={flag: False})))
    assert on - off == CONCERNS[flag]
    assert off <= on  # nothing appears instead


@pytest.mark.parametrize(("flag", "packages"), [
    ("package_verification", {"debsums"}),
    ("module_blacklist", {"kmod"}),
    ("tmpdir_per_user", {"libpam-tmpdir"}),
    ("process_accounting", {"acct"}),
    ("resource_accounting", {"sysstat"}),
    ("security_upgrades", {"unattended-upgrades"}),
    ("apt_tools", {"apt-listchanges", "needrestart"}),
    ("antimalware", {"clamav", "clamav-freshclam"}),
])
def test_each_flag_off_drops_exactly_its_packages(monkeypatch: pytest.MonkeyPatch, flag: str,
                                                  packages: set[str]) -> None:
    on = _packages(_ops(monkeypatch, D))
    off = _packages(_ops(monkeypatch, D.model_copy(update={flag: False})))
    assert on - off == packages


def test_core_dump_and_kernel_flags_edit_their_sysctls_only(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    assert hardening.kernel_settings(D) == {
        "fs.suid_dumpable": "0", "kernel.randomize_va_space": "2", "kernel.kptr_restrict": "2",
        "kernel.dmesg_restrict": "1", "kernel.sysrq": "0"}
    no_core = D.model_copy(update={"no_core_dumps": False})
    assert hardening.kernel_settings(no_core) == {
        k: v for k, v in hardening.kernel_settings(D).items() if k != "fs.suid_dumpable"}
    assert "no core dumps (limits)" not in _names(_ops(monkeypatch, no_core))
    off = D.model_copy(update={"no_core_dumps": False, "kernel_hardening": False})
    assert "kernel sysctls (at boot)" not in _names(_ops(monkeypatch, off))


def test_a_container_writes_machine_sysctls_for_boot_only(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    inside = _names(_ops(monkeypatch, D, {"detect-virt": "systemd-nspawn"}))
    assert "kernel sysctls (at boot)" in inside and "kernel sysctls (now)" not in inside
    outside = _names(_ops(monkeypatch, D, {"detect-virt": "none"}))
    assert "kernel sysctls (now)" in outside


def test_network_sysctls_are_reapplied_only_on_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    want = hardening.network_settings(router=False)
    same = "\n".join(want.values())
    now = _one(_ops(monkeypatch, D, {"sysctl -n": same}), "network sysctls (now)")
    assert now.kwargs["_if"]() is False
    drifted = same.replace("1", "0", 1)
    now = _one(_ops(monkeypatch, D, {"sysctl -n": drifted}), "network sysctls (now)")
    assert now.kwargs["_if"]() is True
    # where it cannot set them, the host refuses to carry on (exit 1 with the reason)
    assert "cannot be set from inside this host" in now.kwargs["commands"][0]


def test_patch_sources_come_before_any_other_install(monkeypatch: pytest.MonkeyPatch) -> None:
    ops = _ops(monkeypatch, D)
    sources = ops.index(_one(ops, "APT sources: internal mirror"))
    installs = [i for i, o in enumerate(ops) if o.kind == "apt.packages"
                and o.name != "baseline packages"]
    assert installs and all(i > sources for i in installs)
    # needrestart's "list only" policy is on disk before needrestart is installed
    assert ops.index(_one(ops, "needrestart: list")) < ops.index(_one(ops, "patch tools"))


# ------------------------------------------------------------------ rendered files


def test_banner_text_comes_from_cloud_yaml(estate: Estate, topo: Topology) -> None:
    d = baseline.data_for(estate, topo.host("dc1-pg"))
    text = baseline.render("banner.j2", d)
    assert estate.cloud.login_banner.zh in text and estate.cloud.login_banner.en in text
    assert "Banner /etc/issue.net" in baseline.render("sshd-baseline.conf.j2", d)
    off = d.model_copy(update={"login_banner": False})
    assert "Banner" not in baseline.render("sshd-baseline.conf.j2", off)


def test_aide_watches_the_policy_and_ignores_what_the_system_rewrites() -> None:
    conf = baseline.render("aide.conf.j2", D, db=hardening.AIDE_DB)
    lines = conf.splitlines()
    for trees in D.integrity_watch.values():
        for tree in trees:
            assert f"{tree} GOVCLOUD" in lines
    assert "!/etc/adjtime$" in lines
    assert f"database_in=file:{hardening.AIDE_DB}" in lines
    assert "GOVCLOUD = p+u+g+s+m+c+l+sha256" in lines
    narrow = D.model_copy(update={"integrity_watch": {"configuration": ["/etc"]}})
    assert "/usr/bin GOVCLOUD" not in baseline.render("aide.conf.j2", narrow, db="x")


def test_the_daily_check_includes_debsums_only_when_flagged() -> None:
    unit = baseline.render("govcloud-integrity-check.service.j2", D)
    assert "ExecStart=/usr/local/sbin/govcloud-integrity-check --packages" in unit
    off = D.model_copy(update={"package_verification": False})
    assert "--packages" not in baseline.render("govcloud-integrity-check.service.j2", off)


def test_mirrors_come_from_cloud_yaml_and_the_lab_switches_updates_off(
    estate: Estate, topo: Topology
) -> None:
    d = baseline.data_for(estate, topo.host("dc1-app"))
    mirrors = estate.cloud.mirrors
    sources = baseline.render("apt-sources.j2", d)
    assert f"URIs: {mirrors.debian}\nSuites: bookworm bookworm-updates" in sources
    assert f"URIs: {mirrors.debian_security}\nSuites: bookworm-security" in sources
    assert f"PrivateMirror {mirrors.clamav}" in baseline.render("freshclam.conf.j2", d)
    # the lab serves no mirror (estate/lab.yaml mirror: false): configured, switched off
    assert not d.signature_updates and not d.security_upgrades_enabled
    auto = baseline.render("auto-upgrades.j2", d)
    assert 'APT::Periodic::Unattended-Upgrade "0";' in auto
    prod = d.model_copy(update={"security_upgrades_enabled": True})
    assert 'APT::Periodic::Unattended-Upgrade "1";' in baseline.render("auto-upgrades.j2", prod)
    assert "label=Debian-Security" in baseline.render("unattended-upgrades.j2", d)
    assert "$nrconf{restart} = 'l';" in baseline.render("needrestart.conf.j2", d)


def test_module_blacklist_refuses_load_by_name_too() -> None:
    lines = baseline.render("modprobe-blacklist.conf.j2", D).splitlines()
    for mod in ("usb-storage", "firewire-core", "dccp", "sctp", "rds", "tipc", "cramfs"):
        assert f"blacklist {mod}" in lines and f"install {mod} /bin/false" in lines


def test_routers_keep_routing_and_other_hosts_filter_strictly(estate: Estate,
                                                              topo: Topology) -> None:
    fw = baseline.data_for(estate, topo.host("dc1-fw"))
    pg = baseline.data_for(estate, topo.host("dc1-pg"))
    assert fw.router and not pg.router
    r, h = hardening.network_settings(True), hardening.network_settings(False)
    assert r["net.ipv4.conf.all.rp_filter"] == "2" and h["net.ipv4.conf.all.rp_filter"] == "1"
    assert "net.ipv4.conf.all.send_redirects" not in r
    assert h["net.ipv4.conf.all.send_redirects"] == "0"
    assert set(r) < set(h)
    # the same values reach the lab's namespaces from outside (one source)
    from govcloud.lab.engine import namespace_sysctls

    assert namespace_sysctls(["baseline"], router=False) == h
    text = baseline.render("sysctl-net.conf.j2", pg, settings=h)
    assert "net.ipv4.tcp_syncookies = 1" in text


def test_umask_and_rounds_refuse_weak_values() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="umask_value"):
        baseline.Data(hostname="h", umask_value="22")
    with pytest.raises(ValidationError, match="sha_crypt_rounds"):
        baseline.Data(hostname="h", sha_crypt_rounds=1000)
