"""Every policy has a compliant and a violating fixture; the violation is caught with its message.

The table ``CASES`` is checked to cover every registered policy, so a new policy without
fixtures fails this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from policy_fixtures import (
    allow,
    deny_all,
    deployment,
    guardrails,
    host,
    namespace,
    ns_peer,
    pdb,
    role_data,
    run,
    with_,
)

from govcloud.model import AdminRole, DrTier, Estate, PlacementRole
from govcloud.model.crypto import ChannelKind, CryptoChannel, CryptoUse
from policies.registry import POLICIES

Build = Callable[[Estate], dict[str, Any]]


def _nss() -> list:
    return [
        namespace("health-extranet", "health", "extranet"),
        namespace("health-internet", "health", "internet"),
        namespace("health-dedicated", "health", "dedicated"),
        namespace("education-extranet", "education", "extranet"),
        namespace("cyberspace-security-management", "cyberspace", "security-management"),
        namespace("data-bureau-management", "data-bureau", "management"),
    ]


def _plan(*extra) -> Build:
    return lambda e: {"resources": [*_nss(), *extra]}


def _all_systems(e: Estate, skip: str | None = None) -> list:
    """A workload for every live system the dc1 stack must run (derived from the model)."""
    out = []
    for d, s in e.systems():
        role = e.tier(s.dr_tier).placement.get("region-a-dc1")
        if (
            not s.live
            or role not in (PlacementRole.ACTIVE, PlacementRole.STANDBY)
            or s.name == skip
        ):
            continue
        out.append(
            deployment(
                f"{d.name}-{s.components[0].zone}",
                s.name,
                dept=d.name,
                system=s.name,
                tier=str(s.dr_tier),
                placement=str(role),
                level=str(s.mlps_level),
            )
        )
    return out


def _dual_active_offsite_zero(e: Estate) -> Estate:
    tiers = [
        t.model_copy(update={"offsite_rpo_seconds": 0}) if t.name == DrTier.DUAL_ACTIVE else t
        for t in e.tiers
    ]
    return with_(e, tiers=tiers)


def _ehr_backup_only(e: Estate) -> Estate:
    depts = []
    for d in e.departments:
        if d.name == "health":
            systems = [
                s.model_copy(update={"dr_tier": DrTier.BACKUP_ONLY}) if s.name == "ehr" else s
                for s in d.systems
            ]
            d = d.model_copy(update={"systems": systems})
        depts.append(d)
    return with_(e, departments=depts)


def _sm_channels(e: Estate) -> Estate:
    sm_tls = CryptoChannel(
        name="public-web-tls",
        kind=ChannelKind.TLS,
        flow="public-web-ingress",
        description="TLCP",
        implementation="Tongsuo 8.4",
        sm_capable=True,
        configured={
            CryptoUse.AUTHENTICATION: ["sm2"],
            CryptoUse.CONFIDENTIALITY: ["sm4-gcm"],
            CryptoUse.INTEGRITY: ["sm3"],
        },
    )
    at_rest = next(c for c in e.crypto if c.name == "db-at-rest")
    return with_(e, crypto=[sm_tls, at_rest])


def _operators(e: Estate, **roles: list[AdminRole]) -> Estate:
    ops = [
        o.model_copy(update={"roles": roles[o.name]}) if o.name in roles else o for o in e.operators
    ]
    return with_(e, operators=ops)


def _mfa(e: Estate, factors: list[str]) -> Estate:
    return with_(e, operators=[o.model_copy(update={"mfa": factors}) for o in e.operators])


def _baseline_host(**changes: Any) -> Build:
    """dc1-app with the baseline data the role derives from the model, then ``changes``."""

    def build(e: Estate) -> dict[str, Any]:
        from govcloud.lab import build_topology
        from govcloud.lab.profile import load_profile
        from roles import baseline

        d = baseline.data_for(e, build_topology(e, load_profile(e)).host("dc1-app"))
        return {"hosts": [host("dc1-app", "app", {"baseline": d.model_copy(update=changes)},
                               zone="extranet", address="10.12.0.11")]}

    return build


def _monitored(**changes: Any) -> Build:
    """dc1-log's monitoring data and dc1-pg's exporter data as the roles derive them."""

    def build(e: Estate) -> dict[str, Any]:
        from govcloud.lab import build_topology
        from govcloud.lab.profile import load_profile
        from roles import monitoring, pg_exporter

        topo = build_topology(e, load_profile(e))
        log, pg = topo.host("dc1-log"), topo.host("dc1-pg")
        mon = monitoring.data_for(e, log).model_copy(update=changes)
        mon = mon.model_copy(update={"targets": [t for t in mon.targets if t.name == pg.name]})
        return {"hosts": [
            host(log.name, "log", {"monitoring": mon}, zone="security-management",
                 address=log.address),
            host(pg.name, "pg", {"patroni": role_data(), "pg_exporter":
                                 pg_exporter.data_for(e, pg)}, address=pg.address),
        ]}

    return build


def _log_hosts(targets: list[str]) -> Build:
    collector = host(
        "dc1-log",
        "log",
        {"log_audit": role_data(retention=True, retention_days=180)},
        zone="security-management",
        address="10.15.0.11",
    )
    app = host(
        "dc1-app",
        "app",
        {"baseline": role_data(log_forwarding=True, log_targets=targets)},
        zone="extranet",
        address="10.12.0.11",
    )
    return lambda e: {"hosts": [collector, app]}


def _bastion(**fields: Any) -> Build:
    b = host(
        "dc1-bastion", "bastion", {"bastion": role_data(jump=True, **fields)}, zone="management"
    )
    return lambda e: {"hosts": [b]}


REGISTRY = "registry.govcloud.example.cn"
PINNED = f"{REGISTRY}/health/ehr/api@sha256:{'ab' * 32}"
PROBED = {"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
          "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}}
EHR_API = {"govcloud.io/system": "ehr", "govcloud.io/component": "api"}
GOOD_API = {"image": PINNED, **PROBED}


def _secret_volume(mode: int) -> dict[str, Any]:
    return {"volumes": [{"name": "key", "secret": {"secretName": "k", "defaultMode": mode}}]}


CASES: dict[str, tuple[Build, Build, str]] = {
    "workload-probes": (
        _plan(deployment("health-extranet", "api", container=PROBED)),
        _plan(deployment("health-extranet", "api")),
        "container api has no livenessProbe and no readinessProbe",
    ),
    "workload-disruption-budget": (
        _plan(deployment("health-extranet", "api"),
              pdb("health-extranet", "ehr-api", EHR_API, maxUnavailable=1)),
        _plan(deployment("health-extranet", "api"),
              pdb("health-extranet", "ehr-web", {**EHR_API, "govcloud.io/component": "web"},
                  maxUnavailable=1)),
        "2 replicas and no PodDisruptionBudget: a node drain may evict all of them at once",
    ),
    "images-pinned-by-digest": (
        _plan(deployment("health-extranet", "api", container={"image": PINNED})),
        _plan(deployment("health-extranet", "api",
                         container={"image": f"{REGISTRY}/health/ehr/api:stable"})),
        f"runs {REGISTRY}/health/ehr/api:stable, which is not pinned by digest",
    ),
    "secrets-as-files": (
        _plan(deployment("health-extranet", "api", pod=_secret_volume(0o440), container={
            "volumeMounts": [{"name": "key", "mountPath": "/etc/key", "readOnly": True}]})),
        _plan(deployment("health-extranet", "api", container={"env": [{
            "name": "DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]})),
        "reads secret db/password into environment variable DB_PASSWORD",
    ),
    "admission-guardrails": (
        _plan(*guardrails(REGISTRY), deployment("health-extranet", "api", container=GOOD_API)),
        _plan(*guardrails(REGISTRY, ("Audit",)),
              deployment("health-extranet", "api", container=GOOD_API)),
        "no admission policy bound in Deny mode to tenant namespaces refuses an image from "
        "outside the cloud registry",
    ),
    "tenant-default-deny": (
        lambda e: {
            "resources": [
                namespace("health-extranet", "health", "extranet"),
                deny_all("health-extranet"),
            ]
        },
        lambda e: {"resources": [namespace("health-extranet", "health", "extranet")]},
        "tenant namespace health-extranet (department health) has no default-deny",
    ),
    "no-cross-department": (
        _plan(
            allow(
                "health-extranet", "own", "ingress", [ns_peer(department="health")], [("tcp", 8080)]
            ),
            allow(
                "health-extranet",
                "audit",
                "egress",
                [ns_peer(zone="security-management")],
                [("tcp", 514)],
            ),
        ),
        _plan(
            allow("health-extranet", "zone", "ingress", [ns_peer(zone="extranet")], [("tcp", 8080)])
        ),
        "admits namespace education-extranet of department education",
    ),
    "flow-matrix-only": (
        _plan(
            allow(
                "health-extranet",
                "vpn",
                "ingress",
                [ns_peer(department="health", zone="dedicated")],
                [("tcp", 8080)],
            )
        ),
        _plan(
            allow(
                "health-extranet",
                "vpn",
                "ingress",
                [ns_peer(department="health", zone="dedicated")],
                [("tcp", 5432)],
            )
        ),
        "port(s) tcp/5432 are not in flow(s) dedicated-to-extranet",
    ),
    "gatekeeper-only": (
        _plan(allow("health-internet", "self", "ingress", [{"podSelector": {}}], [("tcp", 8443)])),
        _plan(
            allow(
                "health-extranet",
                "web",
                "ingress",
                [ns_peer(department="health", zone="internet")],
                [("tcp", 8080)],
            )
        ),
        "opens a direct path between the extranet zone and the internet zone",
    ),
    "management-via-bastion": (
        _plan(
            allow(
                "data-bureau-management",
                "logs",
                "egress",
                [ns_peer(zone="security-management")],
                [("tcp", 514)],
            )
        ),
        _plan(
            allow("health-extranet", "ops", "ingress", [ns_peer(zone="management")], [("tcp", 22)])
        ),
        "joins management-zone pods (data-bureau-management) and the extranet zone directly",
    ),
    "no-privileged-workloads": (
        lambda e: {"resources": [deployment("health-extranet", "api")]},
        lambda e: {"resources": [deployment("health-extranet", "api", pod={"hostNetwork": True})]},
        "hostNetwork: true shares the node's namespace with a tenant pod",
    ),
    "workload-resources": (
        lambda e: {"resources": [deployment("health-extranet", "api")]},
        lambda e: {
            "resources": [
                deployment(
                    "health-extranet", "api", container={"resources": {"requests": {"cpu": "1"}}}
                )
            ]
        },
        "containers/api has no requests.memory, limits.cpu, limits.memory",
    ),
    "mlps-not-above-cloud": (
        lambda e: {"resources": [deployment("health-extranet", "api", level="3")]},
        lambda e: {"resources": [deployment("health-extranet", "api", level="4")]},
        "graded MLPS level 4; this cloud is level 3 and may not carry it",
    ),
    "dr-tier-consistent": (
        lambda e: {"estate": _dual_active_offsite_zero(e), "resources": _all_systems(e)},
        lambda e: {"resources": _all_systems(e, skip="ehr")},
        "system health/ehr (tier dual-active) must run active on region-a-dc1",
    ),
    "mlps3-offsite-realtime": (
        lambda e: {},
        lambda e: {"estate": _ehr_backup_only(e)},
        "system ehr is MLPS level 3 on tier backup-only, which keeps no real-time standby",
    ),
    "separation-of-duties": (
        lambda e: {},
        lambda e: {"estate": _operators(e, **{"wang-lei": [AdminRole.SYSTEM, AdminRole.AUDIT]})},
        "wang-lei (王磊) holds audit-admin + system-admin",
    ),
    "crypto-sm": (
        lambda e: {"estate": _sm_channels(e)},
        lambda e: {},
        "channel public-web-tls (tls, flow public-web-ingress) carries level-3 data, so 密评 "
        "level 3 requires SM algorithms",
    ),
    "audit-retention": (
        _log_hosts(["10.15.0.11"]),
        lambda e: {
            "hosts": [
                host(
                    "dc1-log",
                    "log",
                    {"log_audit": role_data(retention=True, retention_days=90)},
                    zone="security-management",
                )
            ]
        },
        "roles/log_audit keeps records 90 days; at least 180 are required",
    ),
    "admin-two-factor": (
        # every operator key + TOTP in the model, and the jump host asking both
        lambda e: {"estate": _mfa(e, ["ssh-key", "totp"]), **_bastion(two_factor=True)(e)},
        _bastion(),
        "roles/bastion would deploy a jump host without a second factor",
    ),
    # ---- host baseline (policies/baseline.py): the role's own data, one concern broken
    "host-ssh-hardening": (
        _baseline_host(),
        _baseline_host(ssh_ciphers=["aes128-cbc"]),
        "sshd ciphers aes128-cbc differ from the crypto profile's aes256-gcm@openssh.com",
    ),
    "host-file-integrity": (
        _baseline_host(),
        _baseline_host(integrity_watch={"configuration": ["/etc"]}),
        "AIDE does not watch /usr/bin, /usr/sbin (binaries and configuration)",
    ),
    "host-package-verification": (
        _baseline_host(),
        _baseline_host(package_verification=False),
        "roles/baseline package_verification is switched off",
    ),
    "host-malware-protection": (
        _baseline_host(),
        _baseline_host(signature_mirror="http://database.clamav.net"),
        "ClamAV signatures come from http://database.clamav.net, not the cloud's mirror "
        "http://mirror.govcloud.example.cn/clamav",
    ),
    "host-patch-sources": (
        _baseline_host(),
        _baseline_host(apt_security_mirror="http://security.debian.org/debian-security"),
        "APT apt_security_mirror http://security.debian.org/debian-security is not "
        "cloud.yaml's http://mirror.govcloud.example.cn/debian-security",
    ),
    "host-minimal-surface": (
        _baseline_host(),
        _baseline_host(blacklisted_modules=["cramfs", "udf"]),
        "modules dccp, firewire-core, rds, sctp, tipc, usb-storage are not blacklisted",
    ),
    "host-no-core-dumps": (
        _baseline_host(),
        _baseline_host(no_core_dumps=False),
        "roles/baseline no_core_dumps is switched off",
    ),
    "host-default-permissions": (
        _baseline_host(),
        _baseline_host(umask_value="022"),
        "default umask 022 lets the group write or others read",
    ),
    "host-password-hashing": (
        _baseline_host(),
        _baseline_host(sha_crypt_rounds=5000),
        "SHA-512 crypt rounds 5000 < 640000",
    ),
    "host-activity-accounting": (
        _baseline_host(),
        _baseline_host(process_accounting=False),
        "roles/baseline process_accounting is switched off",
    ),
    "host-login-banner": (
        _baseline_host(),
        _baseline_host(banner_en="Welcome to the server"),
        "the login banner is not cloud.yaml's login_banner text",
    ),
    "offsite-lag-monitored": (
        _monitored(),
        _monitored(offsite_rpo_seconds=60),
        "alerts at 60 s of off-site lag; tier dual-active offsite_rpo_seconds is 5",
    ),
    "log-forwarding": (
        _log_hosts(["10.15.0.11"]),
        _log_hosts([]),
        "dc1-app (app, region-a-dc1): roles/baseline forwards logs nowhere",
    ),
}


def test_every_policy_has_fixtures() -> None:
    assert set(CASES) == {p.id for p in POLICIES}


def _run(pid: str, estate: Estate, build: Build) -> list:
    inputs = build(estate)
    return run(pid, inputs.pop("estate", estate), **inputs)


@pytest.mark.parametrize("pid", sorted(CASES))
def test_compliant_fixture_passes(pid: str, estate: Estate) -> None:
    found = _run(pid, estate, CASES[pid][0])
    assert found == [], [v.message for v in found]


@pytest.mark.parametrize("pid", sorted(CASES))
def test_violating_fixture_is_caught(pid: str, estate: Estate) -> None:
    found = _run(pid, estate, CASES[pid][1])
    assert found, f"{pid}: violating fixture not caught"
    assert all(v.policy == pid for v in found)
    messages = [v.message for v in found]
    assert any(CASES[pid][2] in m for m in messages), messages
