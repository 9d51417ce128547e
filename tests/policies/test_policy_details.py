"""Finer cases of the checks: each way out of a container, peers by ipBlock and 'any'."""

from __future__ import annotations

import pytest
from policy_fixtures import (
    allow,
    deny_all,
    deployment,
    host,
    namespace,
    ns_peer,
    role_data,
    run,
    with_,
)

from govcloud.model import Estate


@pytest.mark.parametrize(
    ("pod", "container", "message"),
    [
        ({"hostPID": True}, None, "hostPID: true"),
        ({"hostIPC": True}, None, "hostIPC: true"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, None, "mounts hostPath /"),
        (None, {"securityContext": {"privileged": True}}, "containers/api runs privileged"),
        (None, {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "SYS_ADMIN"),
        (None, {"ports": [{"containerPort": 80, "hostPort": 80}]}, "binds hostPort 80"),
    ],
)
def test_each_escape_is_caught(estate: Estate, pod, container, message: str) -> None:
    r = deployment("health-extranet", "api", pod=pod, container=container)
    assert any(message in v.message for v in run("no-privileged-workloads", estate, [r]))


def test_platform_workloads_are_not_tenant(estate: Estate) -> None:
    r = deployment("kube-system", "cni", dept="", pod={"hostNetwork": True})
    assert run("no-privileged-workloads", estate, [r]) == []


def test_cronjob_pod_spec_is_found(estate: Estate) -> None:
    r = deployment("health-extranet", "job", kind="CronJob")
    spec = r.props["spec"]
    r.props["spec"] = {"jobTemplate": {"spec": {"template": spec["template"]}}}
    r.props["spec"]["jobTemplate"]["spec"]["template"]["spec"]["hostPID"] = True
    assert any("hostPID" in v.message for v in run("no-privileged-workloads", estate, [r]))


def test_zone_pair_outside_the_matrix(estate: Estate) -> None:
    nss = [
        namespace("health-extranet", "health", "extranet"),
        namespace("health-dedicated", "health", "dedicated"),
    ]
    np = allow(
        "health-dedicated",
        "back",
        "ingress",
        [ns_peer(department="health", zone="extranet")],
        [("tcp", 22)],
    )
    msgs = [v.message for v in run("flow-matrix-only", estate, [*nss, np])]
    assert any(
        "opens extranet -> dedicated, which the flow matrix does not allow" in m for m in msgs
    ), msgs


def test_rule_without_peers_admits_everyone(estate: Estate) -> None:
    nss = [namespace("health-internet", "health", "internet")]
    np = allow("health-internet", "open", "ingress", None, [("tcp", 8443)])
    assert any(
        "no flow allows every zone" in v.message
        for v in run("flow-matrix-only", estate, [*nss, np])
    )
    assert any(
        "every department" in v.message for v in run("no-cross-department", estate, [*nss, np])
    )


def test_ipblock_into_internet_zone_from_outside_matches_public_ingress(estate: Estate) -> None:
    nss = [namespace("health-internet", "health", "internet")]
    public = {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}
    ok = allow("health-internet", "public", "ingress", [public], [("tcp", 8443)])
    assert run("flow-matrix-only", estate, [*nss, ok]) == []
    assert run("gatekeeper-only", estate, [*nss, ok]) == []
    # the same rule without the except also admits the extranet zone's CIDRs
    wide = allow(
        "health-internet", "wide", "ingress", [{"ipBlock": {"cidr": "0.0.0.0/0"}}], [("tcp", 8443)]
    )
    assert any("gatekeeper" in v.message for v in run("gatekeeper-only", estate, [*nss, wide]))


def test_management_entered_from_a_workload_zone(estate: Estate) -> None:
    nss = [
        namespace("data-bureau-management", "data-bureau", "management"),
        namespace("data-bureau-extranet", "data-bureau", "extranet"),
    ]
    np = allow(
        "data-bureau-management",
        "in",
        "ingress",
        [ns_peer(department="data-bureau", zone="extranet")],
        [("tcp", 9090)],
    )
    msgs = [v.message for v in run("management-via-bastion", estate, [*nss, np])]
    assert any("lets extranet into the management zone" in m for m in msgs), msgs


def test_default_deny_must_cover_both_directions(estate: Estate) -> None:
    ns = namespace("health-extranet", "health", "extranet")
    half = deny_all("health-extranet")
    half.props["spec"]["policyTypes"] = ["Ingress"]
    assert run("tenant-default-deny", estate, [ns, half])


def test_estate_side_flags_a_flow_bypassing_the_gatekeeper(estate: Estate) -> None:
    flows = [
        f.model_copy(update={"chain": [c for c in f.chain if c != "gatekeeper"]})
        if f.id == "internet-to-extranet-ferry"
        else f
        for f in estate.flows
    ]
    msgs = [v.message for v in run("gatekeeper-only", with_(estate, flows=flows))]
    assert any("[flow-gatekeeper]" in m and "internet-to-extranet-ferry" in m for m in msgs)


def test_crypto_says_whether_config_or_product_must_change(estate: Estate) -> None:
    msgs = {v.subject: v.message for v in run("crypto-sm", estate)}
    assert "a configuration change cannot meet it" in msgs["channel:ops-ssh"]
    capable = [
        c.model_copy(update={"configured": {"confidentiality": ["aes-xts-plain64"]}})
        for c in estate.crypto
        if c.name == "db-at-rest"
    ]
    msgs = {v.subject: v.message for v in run("crypto-sm", with_(estate, crypto=capable))}
    assert "reconfigure it to the SM algorithms" in msgs["channel:db-at-rest"]
    assert "db-at-rest" not in {v.subject for v in run("crypto-sm", estate)}


def test_operator_needs_a_cryptographic_factor(estate: Estate) -> None:
    ops = [
        o.model_copy(update={"mfa": ["password", "pin"]}) if o.name == "liu-yang" else o
        for o in estate.operators
    ]
    msgs = [v.message for v in run("admin-two-factor", with_(estate, operators=ops))]
    assert any("liu-yang authenticates with password, pin" in m for m in msgs)


@pytest.mark.parametrize(
    ("mfa", "kinds"),
    [
        (["ssh-key", "totp"], None),  # what roles/bastion enforces: key + dynamic token
        (["password", "sm2-token"], None),  # knowledge + key
        (["usb-key", "fingerprint"], None),
        (["ssh-key", "certificate"], "(cryptographic key)"),  # two keys, one technique
        (["password", "totp"], "(dynamic token, knowledge)"),  # no cryptographic key
        (["totp", "hotp"], "(dynamic token)"),
        (["ssh-key"], "(cryptographic key)"),
    ],
)
def test_factor_techniques(estate: Estate, mfa: list[str], kinds: str | None) -> None:
    """GB/T 22239-2019 8.1.4.1 d): two different techniques, one a cryptographic key."""
    ops = [
        o.model_copy(update={"mfa": mfa}) if o.name == "zhao-min" else o
        for o in estate.operators
    ]
    found = [
        v for v in run("admin-two-factor", with_(estate, operators=ops))
        if v.subject == "operator:zhao-min"
    ]
    if kinds is None:
        assert found == [], [v.message for v in found]
    else:
        assert [v.message for v in found] == [
            f"operators.yaml: zhao-min authenticates with {', '.join(sorted(mfa))} {kinds}; "
            "administrators need two different authentication techniques, one of them a "
            "cryptographic key (GB/T 22239-2019 8.1.4.1 d)"
        ]


def test_factor_taxonomy_is_a_partition() -> None:
    """Every known factor is in exactly one technique (else the count of kinds lies)."""
    from policies.governance import ALL_FACTORS, FACTOR_KINDS

    assert sum(len(g) for g in FACTOR_KINDS.values()) == len(ALL_FACTORS)


def test_jump_host_letting_an_operator_in_with_a_key_alone(estate: Estate) -> None:
    d = role_data(jump=True, two_factor=True, key_only_operators=["sun-hao"])
    h = host("dc1-bastion", "bastion", {"bastion": d}, zone="management")
    msgs = [v.message for v in run("admin-two-factor", estate, hosts=[h])]
    assert msgs == [
        "dc1-bastion (bastion, region-a-dc1): roles/bastion lets sun-hao in with a key alone "
        "(operators.yaml: their mfa lists no totp)"
    ]
    ok = role_data(jump=True, two_factor=True, key_only_operators=[])
    h = host("dc1-bastion", "bastion", {"bastion": ok}, zone="management")
    assert run("admin-two-factor", estate, hosts=[h]) == []


def test_nobody_holding_a_post_is_a_violation(estate: Estate) -> None:
    ops = [o for o in estate.operators if "audit-admin" not in o.roles]
    msgs = [v.message for v in run("separation-of-duties", with_(estate, operators=ops))]
    assert any("nobody holds audit-admin" in m for m in msgs)


def test_retention_below_the_legal_floor_in_the_model(estate: Estate) -> None:
    cloud = estate.cloud.model_copy(update={"audit_retention_days": 90})
    msgs = [v.message for v in run("audit-retention", with_(estate, cloud=cloud))]
    assert any("audit_retention_days is 90" in m for m in msgs)


def test_bastion_refusing_its_data_fails_the_policy(estate: Estate) -> None:
    """A model the bastion refuses (a factor it cannot ask) is a failure, not a silent pass:
    no jump host would be deployed at all."""
    from policies.hosts import RoleError

    why = "estate/operators.yaml: operators[2].mfa (liu-yang): operator liu-yang lists 'password'"
    h = host("dc1-bastion", "bastion", {"bastion": RoleError("bastion", why)}, zone="management")
    msgs = [v.message for v in run("admin-two-factor", estate, hosts=[h])]
    assert msgs == [f"dc1-bastion (bastion, region-a-dc1): roles/bastion refuses its data: {why}"]


@pytest.mark.parametrize(("port", "caught"), [(22, True), (22.0, True), (514, False),
                                              (514.0, False)])
def test_engine_float_ports_are_judged_as_their_numbers(
    estate: Estate, port: float, caught: bool
) -> None:
    """Under CrossGuard every number is a float: ssh (22.0) into the security-management
    zone is not log collection (514) and must still be refused."""
    nss = [namespace("data-bureau-management", "data-bureau", "management"),
           namespace("cyberspace-security-management", "cyberspace", "security-management")]
    rule = allow("cyberspace-security-management", "ssh", "ingress",
                 [ns_peer(zone="management")], [("tcp", 1)])
    rule.props["spec"]["ingress"][0]["ports"][0]["port"] = port
    assert bool(run("management-via-bastion", estate, [*nss, rule])) is caught
