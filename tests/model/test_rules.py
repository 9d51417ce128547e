"""Cross-object rules (govcloud/model/rules.py): one broken estate per case.

Every rule in ``rules.RULES`` has at least one case here (checked by
``test_every_rule_has_a_case``); each asserts the rule id, the file, the field and the
words of the message an engineer reads.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from estate_edits import (
    Bad,
    Key,
    append,
    assert_problem,
    both,
    copy_item,
    delete,
    rename_file,
    set_,
)

from govcloud.model import EstateError, load_estate
from govcloud.model.rules import RULES

HEALTH = "departments/health.yaml"
PS = "departments/public-security.yaml"
APPOINTMENT = ("systems", Key("appointment"))
EHR_API = ("systems", Key("ehr"), "components", Key("api"))
EHR_DB = ("systems", Key("ehr"), "components", Key("db"))
FLOWS = "flows.yaml"


def flow(flow_id: str, *rest: str | int) -> tuple[str | int | Key, ...]:
    return ("flows", Key(flow_id), *rest)


def _bad(edit, rule, file, field, *words, also=()):  # type: ignore[no-untyped-def]
    return Bad(edit, rule, file, field, words, frozenset(also))


def _copy_department(root: Path) -> None:
    shutil.copy(root / HEALTH, root / "departments/health-copy.yaml")


NO_DR_SITE = delete("sites.yaml", ("sites", Key("region-b-dr")))
NO_BACKUP_TIER = delete("dr-tiers.yaml", ("tiers", Key("backup-only")))
NO_DEDICATED_ZONE = delete("zones.yaml", ("zones", Key("dedicated")))

CASES = {
    # ---- duplicate-name, one per kind of name
    "duplicate-flow-id": _bad(
        copy_item(FLOWS, flow("ops-access")),
        "duplicate-name", FLOWS, flow("ops-access", "id"), "flow 'ops-access'",
        "more than once",
    ),
    "duplicate-appliance": _bad(
        copy_item("appliances.yaml", ("appliances", Key("dc1-waf"))),
        "duplicate-name", "appliances.yaml", ("appliances", Key("dc1-waf"), "name"),
        "appliance 'dc1-waf'",
    ),
    "duplicate-link": _bad(
        copy_item("sites.yaml", ("links", Key("dc1-dr")), a="region-a-dc2"),
        "duplicate-name", "sites.yaml", ("links", Key("dc1-dr"), "name"), "link 'dc1-dr'",
    ),
    "duplicate-operator": _bad(
        copy_item("operators.yaml", ("operators", Key("liu-yang")), full_name="刘洋2"),
        "duplicate-name", "operators.yaml", ("operators", Key("liu-yang"), "name"),
        "operator 'liu-yang'",
    ),
    "duplicate-system": _bad(
        copy_item(HEALTH, ("systems", Key("ehr"))),
        "duplicate-name", HEALTH, ("systems", Key("ehr"), "name"),
        "system 'ehr' is declared more than once in health",
    ),
    "duplicate-component": _bad(
        copy_item(HEALTH, (*APPOINTMENT, "components", Key("api")), replicas=1),
        "duplicate-name", HEALTH, (*APPOINTMENT, "components", Key("api"), "name"),
        "component 'api' appears twice in system appointment",
    ),
    "duplicate-department": _bad(
        _copy_department,
        "duplicate-name", HEALTH, "name", "department 'health' is declared in more than one file",
        also={"department-file-name", "department-over-capacity"},
    ),
    # ---- department-file-name
    "department-file-name": _bad(
        rename_file(HEALTH, "departments/health-bureau.yaml"),
        "department-file-name", "departments/health-bureau.yaml", "name",
        "'health' must live in departments/health.yaml",
    ),
    # ---- unknown-site / missing-definition / unknown-zone / unknown-dr-tier (rules level:
    # the name is valid vocabulary but the data file does not define it)
    "link-to-undefined-site": _bad(
        NO_DR_SITE,
        "unknown-site", "sites.yaml", ("links", Key("dc1-dr"), "b"),
        "link dc1-dr refers to site region-b-dr which sites.yaml does not define",
        also={"missing-definition"},
    ),
    "appliance-on-undefined-site": _bad(
        NO_DR_SITE,
        "unknown-site", "appliances.yaml", ("appliances", Key("dr-gatekeeper"), "site"),
        "appliance dr-gatekeeper is placed on undefined site region-b-dr",
        also={"missing-definition"},
    ),
    "undefined-site": _bad(
        NO_DR_SITE,
        "missing-definition", "sites.yaml", "sites", "site region-b-dr is not defined",
        also={"unknown-site"},
    ),
    "undefined-tier": _bad(
        NO_BACKUP_TIER,
        "missing-definition", "dr-tiers.yaml", "tiers", "DR tier backup-only is not defined",
        also={"unknown-dr-tier"},
    ),
    "system-on-undefined-tier": _bad(
        NO_BACKUP_TIER,
        "unknown-dr-tier", HEALTH, ("systems", Key("health-portal"), "dr_tier"),
        "system health-portal asks for DR tier backup-only which dr-tiers.yaml does not define",
        also={"missing-definition"},
    ),
    "undefined-zone": _bad(
        NO_DEDICATED_ZONE,
        "missing-definition", "zones.yaml", "zones", "zone dedicated is not defined",
        also={"unknown-zone"},
    ),
    "flow-to-undefined-zone": _bad(
        NO_DEDICATED_ZONE,
        "unknown-zone", FLOWS, flow("dedicated-to-extranet", "source"),
        "flow dedicated-to-extranet refers to zone dedicated which zones.yaml does not define",
        also={"missing-definition"},
    ),
    "component-in-undefined-zone": _bad(
        NO_DEDICATED_ZONE,
        "unknown-zone", PS, ("systems", Key("household"), "components", Key("gateway"), "zone"),
        "component gateway is placed in undefined zone dedicated",
        also={"missing-definition"},
    ),
    "zone-without-cidr-on-site": _bad(
        delete("zones.yaml", ("zones", Key("management"), "cidrs", "region-b-dr")),
        "missing-definition", "zones.yaml", ("zones", Key("management"), "cidrs"),
        "zone management has no CIDR on site region-b-dr",
    ),
    "dr-edition-not-listed": _bad(
        set_("cloud.yaml", ("dr_edition",), "GB/T 20988-2099"),
        "missing-definition", "cloud.yaml", "dr_edition",
        "'GB/T 20988-2099' is not among the editions", "GB/T 20988-2025",
    ),
    # ---- link-self
    "link-to-itself": _bad(
        set_("sites.yaml", ("links", Key("dc1-dc2"), "b"), "region-a-dc1"),
        "link-self", "sites.yaml", ("links", Key("dc1-dc2")),
        "link dc1-dc2 joins site region-a-dc1 to itself",
    ),
    # ---- cidr-overlap: reported at the first of the pair, naming both
    "cidr-overlap-same-site": _bad(
        set_("zones.yaml", ("zones", Key("extranet"), "cidrs", "region-a-dc1"), "10.11.0.0/16"),
        "cidr-overlap", "zones.yaml", ("zones", Key("internet"), "cidrs", "region-a-dc1"),
        "10.11.0.0/22 (internet on region-a-dc1) overlaps 10.11.0.0/16 (extranet on "
        "region-a-dc1)",
    ),
    "cidr-overlap-across-sites": _bad(
        set_("zones.yaml", ("zones", Key("management"), "cidrs", "region-b-dr"), "10.14.0.0/24"),
        "cidr-overlap", "zones.yaml", ("zones", Key("management"), "cidrs", "region-a-dc1"),
        "(management on region-a-dc1) overlaps 10.14.0.0/24 (management on region-b-dr)",
    ),
    # ---- flow-no-chain
    "flow-without-chain": _bad(
        set_(FLOWS, flow("extranet-replication", "chain"), []),
        "flow-no-chain", FLOWS, flow("extranet-replication", "chain"),
        "flow extranet-replication (extranet -> extranet) names no appliance chain",
    ),
    # ---- flow-gatekeeper: internet zone <-> extranet zone, both directions
    "ferry-without-gatekeeper": _bad(
        set_(FLOWS, flow("internet-to-extranet-ferry", "chain"), ["firewall"]),
        "flow-gatekeeper", FLOWS, flow("internet-to-extranet-ferry", "chain"),
        "internet zone and the extranet zone without the gatekeeper",
    ),
    "ferry-interactive": _bad(
        set_(FLOWS, flow("extranet-to-internet-ferry", "mode"), "interactive"),
        "flow-gatekeeper", FLOWS, flow("extranet-to-internet-ferry", "mode"),
        "crosses the gatekeeper interactively", "ferry",
    ),
    "ferry-bidirectional": _bad(
        set_(FLOWS, flow("internet-to-extranet-ferry", "direction"), "bidirectional"),
        "flow-gatekeeper", FLOWS, flow("internet-to-extranet-ferry", "direction"),
        "must be one-way",
    ),
    "new-flow-internet-to-extranet": _bad(
        append(FLOWS, ("flows",), {
            "id": "portal-to-db", "description": "front end reads the database directly",
            "source": "internet", "destination": "extranet", "ports": ["tcp/5432"],
            "mode": "ferry", "chain": ["firewall"],
        }),
        "flow-gatekeeper", FLOWS, flow("portal-to-db", "chain"),
        "flow portal-to-db joins the internet zone and the extranet zone without the gatekeeper",
    ),
    "new-flow-extranet-to-internet": _bad(
        append(FLOWS, ("flows",), {
            "id": "api-callback", "description": "business system calls a public front end",
            "source": "extranet", "destination": "internet", "ports": ["tcp/443"],
            "chain": ["firewall", "gatekeeper"],
        }),
        "flow-gatekeeper", FLOWS, flow("api-callback", "mode"),
        "flow api-callback crosses the gatekeeper interactively",
    ),
    # ---- flow-dedicated-isolation
    "vpns-reach-each-other": _bad(
        append(FLOWS, ("flows",), {
            "id": "vpn-mesh", "description": "departments share files over their VPNs",
            "source": "dedicated", "destination": "dedicated", "ports": ["tcp/445"],
            "chain": ["firewall"],
        }),
        "flow-dedicated-isolation", FLOWS, flow("vpn-mesh"),
        "flow vpn-mesh lets dedicated-network VPNs reach each other",
    ),
    "vpn-reaches-other-departments": _bad(
        set_(FLOWS, flow("dedicated-to-extranet", "same_department"), False),
        "flow-dedicated-isolation", FLOWS, flow("dedicated-to-extranet", "same_department"),
        "reach other departments' systems", "same_department: true",
    ),
    "vpn-lines-reach-each-other": _bad(
        append(FLOWS, ("flows",), {
            "id": "vpn-hairpin", "description": "one department's line reaches another's",
            "source": "department-vpn", "destination": "department-vpn", "ports": ["tcp/443"],
            "chain": ["vpn-gateway", "firewall"],
        }),
        "flow-dedicated-isolation", FLOWS, flow("vpn-hairpin"),
        "flow vpn-hairpin lets dedicated-network VPNs reach each other",
    ),
    "vpn-ingress-shared-by-departments": _bad(
        set_(FLOWS, flow("department-vpn-ingress", "same_department"), False),
        "flow-dedicated-isolation", FLOWS, flow("department-vpn-ingress", "same_department"),
        "flow department-vpn-ingress lets a department's dedicated network reach other",
    ),
    # ---- flow-internet-ingress
    "internet-reaches-extranet": _bad(
        set_(FLOWS, flow("public-web-ingress", "destination"), "extranet"),
        "flow-internet-ingress", FLOWS, flow("public-web-ingress", "destination"),
        "lets the public Internet reach extranet",
    ),
    "ingress-chain-out-of-order": _bad(
        set_(FLOWS, flow("public-web-ingress", "chain"),
             ["firewall", "anti-ddos", "waf", "load-balancer"]),
        "flow-internet-ingress", FLOWS, flow("public-web-ingress", "chain"),
        "anti-ddos -> firewall -> waf/ips -> load-balancer",
        "not firewall -> anti-ddos -> waf -> load-balancer",
    ),
    "ingress-without-waf": _bad(
        set_(FLOWS, flow("public-web-ingress", "chain"),
             ["anti-ddos", "firewall", "load-balancer"]),
        "flow-internet-ingress", FLOWS, flow("public-web-ingress", "chain"),
        "not anti-ddos -> firewall -> load-balancer",
    ),
    # ---- flow-management-bastion
    "management-skips-bastion": _bad(
        set_(FLOWS, flow("management-to-extranet", "chain"), ["firewall"]),
        "flow-management-bastion", FLOWS, flow("management-to-extranet", "chain"),
        "lets the management zone reach extranet without the bastion",
    ),
    # log/DNS/NTP collection into security-management needs no bastion, ssh does
    "ssh-hidden-in-audit-flow": _bad(
        append(FLOWS, flow("audit-from-management", "ports"), "tcp/22"),
        "flow-management-bastion", FLOWS, flow("audit-from-management", "chain"),
        "flow audit-from-management lets the management zone reach security-management",
    ),
    # ---- chain-appliance-missing
    "dr-site-has-no-waf": _bad(
        delete("appliances.yaml", ("appliances", Key("dr-waf"))),
        "chain-appliance-missing", FLOWS, flow("public-web-ingress", "chain", 2),
        "flow public-web-ingress traverses a waf but site(s) region-b-dr have none",
    ),
    # ---- mlps-above-cloud
    "mlps-level-4": _bad(
        set_(HEALTH, (*APPOINTMENT, "mlps_level"), 4),
        "mlps-above-cloud", HEALTH, (*APPOINTMENT, "mlps_level"),
        "system appointment is graded MLPS level 4", "graded level 3 and may not host it",
    ),
    # ---- zone-internet-database / zone-internet-stateless
    "database-in-internet-zone": _bad(
        set_(HEALTH, (*APPOINTMENT, "components", Key("db"), "zone"), "internet"),
        "zone-internet-database", HEALTH, (*APPOINTMENT, "components", Key("db"), "zone"),
        "system appointment: database db may not sit in the internet zone",
    ),
    "storage-in-internet-zone": _bad(
        set_(HEALTH, (*APPOINTMENT, "components", Key("web"), "storage"), "50Gi"),
        "zone-internet-stateless", HEALTH, (*APPOINTMENT, "components", Key("web")),
        "internet-zone component web asks for 50Gi of storage", "must be stateless",
    ),
    # ---- lifecycle-order
    "reviewed-before-applied": _bad(
        set_(HEALTH, (*APPOINTMENT, "lifecycle", "reviewed"), dt.date(2026, 6, 1)),
        "lifecycle-order", HEALTH, (*APPOINTMENT, "lifecycle", "reviewed"),
        "system appointment: reviewed (2026-06-01) is before applied (2026-06-09)",
    ),
    "state-without-date": _bad(
        set_(HEALTH, ("systems", Key("health-portal"), "lifecycle", "state"), "provisioned"),
        "lifecycle-order", HEALTH, ("systems", Key("health-portal"), "lifecycle", "provisioned"),
        "system health-portal is in state provisioned but has no provisioned date",
    ),
    # ---- department-over-capacity, one per resource
    "over-vcpu": _bad(
        set_(HEALTH, (*APPOINTMENT, "components", Key("db"), "cpu"), 5000),
        "department-over-capacity", HEALTH, "systems",
        "department health needs 10176.0 vCPU on region-a-dc1", "(9600.0)",
    ),
    "over-memory": _bad(
        set_(HEALTH, (*APPOINTMENT, "components", Key("db"), "memory"), "8Ti"),
        "department-over-capacity", HEALTH, "systems",
        "needs 16.45 TiB memory on region-a-dc1", "(16.00 TiB)",
    ),
    "over-storage": _bad(
        set_(HEALTH, (*APPOINTMENT, "components", Key("db"), "storage"), "400Ti"),
        "department-over-capacity", HEALTH, "systems",
        "needs 806.20 TiB storage on region-a-dc1", "(720.00 TiB)",
    ),
    # ---- backup-job-schedule: a backup needs a schedule and a sized job, both or neither
    "backup-schedule-without-job": _bad(
        delete("dr-tiers.yaml", ("tiers", Key("backup-only"), "backup_job")),
        "backup-job-schedule", "dr-tiers.yaml", "tiers[2].backup_job",
        "tier backup-only sets backup_schedule but not backup_job",
    ),
    "backup-job-without-schedule": _bad(
        delete("dr-tiers.yaml", ("tiers", Key("warm-standby"), "backup_schedule")),
        "backup-job-schedule", "dr-tiers.yaml", "tiers[1].backup_schedule",
        "tier warm-standby sets backup_job but not backup_schedule",
    ),
    # ---- dr-level-bounds: a higher GB/T 20988 level never allows more than a lower one
    "level-6-looser-than-5": _bad(
        set_("dr-tiers.yaml", ("editions", 0, "levels", 5, "rpo_max_seconds"), 3600),
        "dr-level-bounds", "dr-tiers.yaml", "editions[0].levels[5].rpo_max_seconds",
        "level 6 allows rpo_max_seconds 3600, more than level 5 (1800)",
    ),
    # ---- crypto profile (crypto.yaml): channels name a real flow, transit xor at rest
    "crypto-unknown-flow": _bad(
        set_("crypto.yaml", ("channels", Key("ops-ssh"), "flow"), "no-such-flow"),
        "crypto-unknown-flow", "crypto.yaml", ("channels", Key("ops-ssh"), "flow"),
        "channel ops-ssh protects flow 'no-such-flow'", "flows.yaml does not define",
    ),
    "crypto-transit-and-rest": _bad(
        set_("crypto.yaml", ("channels", Key("ops-ssh"), "stores"), ["database"]),
        "crypto-channel-target", "crypto.yaml", ("channels", Key("ops-ssh")),
        "must name exactly one of 'flow' (in transit) or 'stores' (at rest)",
    ),
    "over-public-ips": _bad(
        set_(HEALTH, (*APPOINTMENT, "public_ips"), 300),
        "department-over-capacity", HEALTH, "systems",
        "needs 301 public IPs on region-a-dc1", "(256)",
    ),
    "over-bandwidth": _bad(
        set_(HEALTH, (*APPOINTMENT, "bandwidth"), "12Gbps"),
        "department-over-capacity", HEALTH, "systems",
        "needs 12050 Mbps bandwidth on region-a-dc1", "(10000 Mbps)",
    ),
    # ---- images: in the cloud registry, pinned by digest
    "image-missing": _bad(
        delete(HEALTH, (*EHR_API, "image")),
        "image-missing", HEALTH, (*EHR_API, "image"),
        "system ehr: component api has no image", "registry.govcloud.example.cn",
    ),
    "image-tag-without-digest": _bad(
        delete(HEALTH, (*EHR_API, "image", "digest")),
        "image-digest", HEALTH, (*EHR_API, "image", "digest"),
        "system ehr: component api: image tag 2026.3.4 has no digest",
        "a tag can be moved",
    ),
    "image-digest-malformed": _bad(
        set_(HEALTH, (*EHR_API, "image", "digest"), "sha256:ABC123"),
        "image-digest", HEALTH, (*EHR_API, "image", "digest"),
        "digest 'sha256:ABC123' is not sha256:<64 lowercase hex digits>",
    ),
    "platform-image-without-digest": _bad(
        delete("workloads.yaml", ("platform_images", "restic", "digest")),
        "image-digest", "workloads.yaml", ("platform_images", "restic", "digest"),
        "platform image restic: image tag 0.17 has no digest",
    ),
    "image-outside-registry": _bad(
        set_(HEALTH, (*EHR_API, "image", "repository"), "docker.io/library/nginx"),
        "image-registry", HEALTH, (*EHR_API, "image", "repository"),
        "image repository docker.io/library/nginx is outside the cloud registry "
        "registry.govcloud.example.cn",
    ),
    # ---- appliance placement: said once (chains for inline, observes for passive)
    "appliance-with-edges": _bad(
        set_("appliances.yaml", ("appliances", Key("dc1-ips"), "edges"),
             [["egov-wan", "extranet"]]),
        "appliance-edges", "appliances.yaml", ("appliances", Key("dc1-ips"), "edges"),
        "appliance dc1-ips: edges are derived from the chains in flows.yaml that name ips; "
        "remove the field",
    ),
    "passive-appliance-observes-nothing": _bad(
        delete("appliances.yaml", ("appliances", Key("dc1-db-audit"), "observes")),
        "appliance-observes", "appliances.yaml",
        ("appliances", Key("dc1-db-audit"), "observes"),
        "appliance dc1-db-audit (db-audit) is passive: name the flows it observes",
    ),
    "passive-appliance-observes-unknown-flow": _bad(
        set_("appliances.yaml", ("appliances", Key("dc1-ids"), "observes"), ["internet-egress"]),
        "appliance-observes", "appliances.yaml",
        ("appliances", Key("dc1-ids"), "observes", 0),
        "appliance dc1-ids observes flow 'internet-egress', which flows.yaml does not define",
    ),
    "inline-appliance-observes": _bad(
        set_("appliances.yaml", ("appliances", Key("dc1-waf"), "observes"),
             ["public-web-ingress"]),
        "appliance-observes", "appliances.yaml", ("appliances", Key("dc1-waf"), "observes"),
        "appliance dc1-waf (waf) sits inline: it is placed by the chains in flows.yaml that "
        "name waf, not by observes",
    ),
    "anti-ddos-burst-below-rate": _bad(
        set_("appliances.yaml", ("anti_ddos", "packets_burst"), 100),
        "anti-ddos-burst", "appliances.yaml", ("anti_ddos", "packets_burst"),
        "anti_ddos packets_burst 100 is below packets_per_second 2000: a source sending at "
        "the allowed rate would become an offender",
    ),
    "passive-appliance-in-a-chain": _bad(
        set_(FLOWS, flow("management-to-extranet", "chain"), ["bastion", "firewall", "db-audit"]),
        "chain-passive-appliance", FLOWS, flow("management-to-extranet", "chain", 2),
        "flow management-to-extranet names db-audit in its chain, but a db-audit is passive",
    ),
    "peak-load-not-a-number": _bad(
        set_("dr-tiers.yaml", ("peak_load", "batch", "megabytes"), "lots"),
        "schema", "dr-tiers.yaml", ("peak_load", "batch", "megabytes"),
        "Input should be a valid integer",
    ),
    # ---- host baseline sources and banner (cloud.yaml)
    "mirror-outside-cloud": _bad(
        set_("cloud.yaml", ("mirrors", "debian_security"), "http://security.debian.org/debian-security"),
        "mirror-internal", "cloud.yaml", ("mirrors", "debian_security"),
        "mirror debian_security: http://security.debian.org/debian-security is outside the "
        "cloud's domain govcloud.example.cn",
    ),
    "banner-names-the-os": _bad(
        set_("cloud.yaml", ("login_banner", "en"), "Debian GNU/Linux \\r authorised use only"),
        "banner-system-info", "cloud.yaml", ("login_banner", "en"),
        "login banner (en) reveals system details (\\r, debian, linux)",
    ),
    # ---- probes
    "probe-kind-without-default": _bad(
        delete("workloads.yaml", ("probes", "cache")),
        "probe-kind-default", "workloads.yaml", ("probes", "cache"),
        "component kind cache has no default probes",
    ),
    "probe-period-zero": _bad(
        set_(HEALTH, (*EHR_API, "probes"), {"liveness": {"period": 0}}),
        "probe-period", HEALTH, (*EHR_API, "probes", "liveness", "period"),
        "system ehr: component api: liveness probe: period is 0 s", "positive",
    ),
    "probe-default-timeout-negative": _bad(
        set_("workloads.yaml", ("probes", "web", "readiness", "timeout"), -1),
        "probe-period", "workloads.yaml", ("probes", "web", "readiness", "timeout"),
        "default readiness probe of kind web: timeout is -1 s",
    ),
    "probe-on-unexposed-port": _bad(
        set_(HEALTH, (*EHR_API, "probes"), {"readiness": {"port": 9090}}),
        "probe-port", HEALTH, (*EHR_API, "probes", "readiness", "port"),
        "system ehr: component api: readiness probe on port 9090",
        "exposes only port 8080",
    ),
    "probe-exec-without-command": _bad(
        set_(HEALTH, (*EHR_DB, "probes"), {"readiness": {"type": "exec"}}),
        "probe-incomplete", HEALTH, (*EHR_DB, "probes", "readiness", "command"),
        "system ehr: component db: readiness probe is exec but has no command",
    ),
    "liveness-kills-before-start": _bad(
        set_(HEALTH, (*EHR_API, "probes"), {"start_seconds": 300}),
        "probe-startup", HEALTH, (*EHR_API, "probes", "liveness"),
        "the liveness probe gives up after 60 s (initial_delay 30 + period 10 x "
        "failure_threshold 3)", "may take 300 s to start",
    ),
    "startup-probe-too-short": _bad(
        set_(HEALTH, (*EHR_DB, "probes"), {"startup": {"failure_threshold": 6}}),
        "probe-startup", HEALTH, (*EHR_DB, "probes", "startup"),
        "the startup probe gives up after 60 s", "may take 600 s to start",
    ),
}


def _by_rule() -> set[str]:
    return {c.rule for c in CASES.values()}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_problem(estate_copy: Path, case: Bad) -> None:
    assert_problem(estate_copy, case)


def test_every_rule_has_a_case() -> None:
    assert set(RULES) <= _by_rule(), f"untested rules: {set(RULES) - _by_rule()}"


def test_all_problems_come_back_together(estate_copy: Path) -> None:
    """Three unrelated breaks in three files: one run reports all three."""
    for name in ("mlps-level-4", "flow-without-chain", "link-to-itself"):
        CASES[name].edit(estate_copy)
    with pytest.raises(EstateError) as info:
        load_estate(estate_copy)
    assert info.value.rules() == {"mlps-above-cloud", "flow-no-chain", "link-self"}
    assert len(info.value.problems) == 3


def test_level_4_on_a_backup_only_system_in_another_department(estate_copy: Path) -> None:
    """The level-4 refusal does not depend on tier or department: every system is checked."""
    both(
        set_(PS, ("systems", Key("ps-portal"), "mlps_level"), "4"),
        set_(HEALTH, (*APPOINTMENT, "mlps_level"), 4),
    )(estate_copy)
    with pytest.raises(EstateError) as info:
        load_estate(estate_copy)
    assert sorted((p.file, p.rule) for p in info.value.problems) == [
        (HEALTH, "mlps-above-cloud"),
        (PS, "mlps-above-cloud"),
    ]


def test_problems_are_listed_in_reading_order(estate_copy: Path) -> None:
    """flows[4] before flows[10]: list indices sort as numbers, files alphabetically."""
    NO_DEDICATED_ZONE(estate_copy)
    with pytest.raises(EstateError) as info:
        load_estate(estate_copy)
    problems = info.value.problems
    assert [p.file for p in problems] == sorted(p.file for p in problems)
    flow_indices = [int(p.field[6:].split("]")[0]) for p in problems if p.file == FLOWS]
    assert len(flow_indices) >= 3
    assert flow_indices == sorted(flow_indices)
