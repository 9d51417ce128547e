"""SystemPlacement: workloads where the DR tier puts them, sized and locked down."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from components.common import parse_quantity
from govcloud import tenancy
from govcloud.model import DrTier, Estate, SiteName, Zone

STACKS = [str(s) for s in SiteName]
WORKLOADS = {"Deployment", "StatefulSet", "CronJob"}


def _pod_spec(m: dict[str, Any]) -> dict[str, Any]:
    if m["kind"] == "CronJob":
        return m["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return m["spec"]["template"]["spec"]


def _placements(stack_plans: dict) -> dict[str, dict[str, set[tuple[str, str]]]]:
    """system -> stack -> {(kind, placement label)} of its workloads and backup PVCs."""
    out: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for stack, plan in stack_plans.items():
        for m in plan.manifests:
            labels = m["metadata"].get("labels", {})
            if m["kind"] in WORKLOADS | {"PersistentVolumeClaim"}:
                out[labels["govcloud.io/system"]][stack].add(
                    (m["kind"], labels["govcloud.io/placement"]))
    return out


def _systems(estate: Estate, tier: DrTier) -> list[str]:
    return [s.name for _, s in tenancy.systems_for_stacks(estate) if s.dr_tier == tier]


def test_dual_active_runs_in_both_city_sites_and_stands_by_in_region_b(
    stack_plans: dict, estate: Estate
) -> None:
    placed = _placements(stack_plans)
    systems = _systems(estate, DrTier.DUAL_ACTIVE)
    assert len(systems) >= 10
    for name in systems:
        for stack in ("region-a-dc1", "region-a-dc2"):
            assert {p for _, p in placed[name][stack] if p != "backup"} == {"active"}, name
        assert {p for _, p in placed[name]["region-b-dr"]} == {"standby"}, name


def test_warm_standby_is_active_only_in_dc1(stack_plans: dict, estate: Estate) -> None:
    placed = _placements(stack_plans)
    for name in _systems(estate, DrTier.WARM_STANDBY):
        assert "active" in {p for _, p in placed[name]["region-a-dc1"]}, name
        assert {p for _, p in placed[name]["region-a-dc2"]} == {"standby"}, name
        assert {p for _, p in placed[name]["region-b-dr"]} == {"standby"}, name


def test_backup_only_runs_only_in_dc1(stack_plans: dict, estate: Estate) -> None:
    """Workloads in DC1 (plus the backup CronJob); region B holds storage only; DC2 nothing."""
    placed = _placements(stack_plans)
    systems = _systems(estate, DrTier.BACKUP_ONLY)
    assert len(systems) >= 5
    for name in systems:
        dc1_kinds = {k for k, _ in placed[name]["region-a-dc1"]}
        assert dc1_kinds >= {"CronJob"} and dc1_kinds & {"Deployment", "StatefulSet"}, name
        assert placed[name].get("region-a-dc2", set()) == set(), name
        assert placed[name]["region-b-dr"] == {("PersistentVolumeClaim", "backup")}, name


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_is_sized_and_passes_restricted(stack_plans: dict, stack: str) -> None:
    checked = 0
    for m in stack_plans[stack].manifests:
        if m["kind"] not in WORKLOADS:
            continue
        pod = _pod_spec(m)
        where = f"{m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert not pod.get("hostNetwork") and not pod.get("hostPID"), where
        assert all("hostPath" not in v for v in pod.get("volumes", [])), where
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc.get("privileged") is not True, where
            res = c["resources"]
            assert set(res["requests"]) == {"cpu", "memory"}, where
            assert res["requests"] == res["limits"], where
        checked += 1
    assert checked >= 60


@pytest.mark.parametrize("stack", STACKS)
def test_pods_fit_their_namespace_quota(stack_plans: dict, stack: str) -> None:
    """All replicas (and one pod per backup CronJob) fit the quota; the quota has no slack
    beyond the millicore/byte rounding of scaled-down standbys."""
    used: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    hard = {}
    for m in stack_plans[stack].manifests:
        ns = m["metadata"].get("namespace")
        if m["kind"] == "ResourceQuota":
            hard[ns] = m["spec"]["hard"]
        if m["kind"] in WORKLOADS:
            n = 1 if m["kind"] == "CronJob" else m["spec"]["replicas"]
            req = _pod_spec(m)["containers"][0]["resources"]["requests"]
            used[ns][0] += n * parse_quantity(req["cpu"])
            used[ns][1] += n * parse_quantity(req["memory"])
            used[ns][2] += 1
    assert used
    for ns, (cpu, memory, workloads) in used.items():
        q_cpu = parse_quantity(hard[ns]["requests.cpu"])
        q_mem = parse_quantity(hard[ns]["requests.memory"])
        assert cpu <= q_cpu and memory <= q_mem, ns
        assert q_cpu - cpu <= Decimal("0.001") * workloads, ns
        assert q_mem - memory <= workloads, ns


def test_standby_is_scaled_by_the_tier(stack_plans: dict, estate: Estate) -> None:
    """ehr (dual-active, scale 0.5) in region B: api 4x8 cores -> 2 pods of 8 cores;
    vaccination (warm-standby, 0.25) in DC2: api 2x8 cores -> 1 pod of 4 cores."""
    def workload(stack: str, name: str) -> dict[str, Any]:
        return next(m for m in stack_plans[stack].manifests
                    if m["kind"] in WORKLOADS and m["metadata"]["name"] == name)

    ehr_api = workload("region-b-dr", "ehr-api")
    assert ehr_api["spec"]["replicas"] == 2
    assert _pod_spec(ehr_api)["containers"][0]["resources"]["limits"]["cpu"] == "8"
    vac_api = workload("region-a-dc2", "vaccination-api")
    assert vac_api["spec"]["replicas"] == 1
    assert _pod_spec(vac_api)["containers"][0]["resources"]["limits"]["cpu"] == "4"
    assert vac_api["metadata"]["labels"]["govcloud.io/placement"] == "standby"
    assert vac_api["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_labels_on_every_workload(stack_plans: dict) -> None:
    keys = {"govcloud.io/department", "govcloud.io/zone", "govcloud.io/site",
            "govcloud.io/system", "govcloud.io/component", "govcloud.io/dr-tier",
            "govcloud.io/placement", "govcloud.io/mlps-level"}
    for stack, plan in stack_plans.items():
        for m in plan.manifests:
            if m["kind"] in WORKLOADS:
                labels = m["metadata"]["labels"]
                assert keys <= set(labels), m["metadata"]["name"]
                assert labels["govcloud.io/site"] == stack
                assert Zone(labels["govcloud.io/zone"])


# ------------------------------------------------------------------ probes, budgets, images


def _by_name(plan: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {f"{m['metadata']['namespace']}/{m['metadata']['name']}": m
            for m in plan.manifests if m["kind"] == kind}


def _component(estate: Estate, labels: dict[str, str]) -> Any:
    d = next(d for d in estate.departments if d.name == labels["govcloud.io/department"])
    s = next(s for s in d.systems if s.name == labels["govcloud.io/system"])
    return next(c for c in s.components if c.name == labels["govcloud.io/component"])


@pytest.mark.parametrize("stack", STACKS)
def test_probes_come_from_the_model(stack_plans: dict, estate: Estate, stack: str) -> None:
    seen = set()
    for m in stack_plans[stack].manifests:
        if m["kind"] not in ("Deployment", "StatefulSet"):
            continue
        c = _component(estate, m["metadata"]["labels"])
        container = m["spec"]["template"]["spec"]["containers"][0]
        want = c.effective_probes(estate.workloads.probes[c.kind])
        for use, probe in want.items():
            got = container[f"{use.value}Probe"]
            assert got["periodSeconds"] == probe.period
            assert got["failureThreshold"] == probe.failure_threshold
            # a zero delay is left out, as the API server stores it
            assert got.get("initialDelaySeconds", 0) == probe.initial_delay
            assert got.get("initialDelaySeconds") != 0
            if probe.type == "http":
                assert got["httpGet"] == {"path": probe.path, "port": c.port,
                                          "scheme": probe.scheme.upper()}
            else:
                assert got["tcpSocket"] == {"port": c.port}
        assert "livenessProbe" in container and "readinessProbe" in container
        seen.add((str(c.kind), "startupProbe" in container))
    # databases start slowly: a startup probe holds liveness back; web/api have none
    assert ("database", True) in seen and ("api", False) in seen


def test_a_department_override_reaches_the_manifest(stack_plans: dict) -> None:
    # hrss-vpn's gateway serves TLS on 8443: the department overrides the api default
    gw = _by_name(stack_plans["region-a-dc1"], "Deployment")["hrss-dedicated/hrss-vpn-gateway"]
    probe = gw["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": 8443, "scheme": "HTTPS"}


@pytest.mark.parametrize("stack", STACKS)
def test_a_budget_for_every_replicated_workload_and_none_for_one(
    stack_plans: dict, stack: str
) -> None:
    plan = stack_plans[stack]
    pdbs = _by_name(plan, "PodDisruptionBudget")
    replicated = 0
    for kind in ("Deployment", "StatefulSet"):
        for name, m in _by_name(plan, kind).items():
            if m["spec"]["replicas"] >= 2:
                replicated += 1
                assert pdbs[name]["spec"] == {
                    "maxUnavailable": 1, "selector": m["spec"]["selector"]}
            else:
                assert name not in pdbs
    assert replicated == len(pdbs) > 0


def test_dual_active_replicas_must_spread_over_nodes_and_halls(
    stack_plans: dict, estate: Estate
) -> None:
    for stack, domains in (("region-a-dc1", 2), ("region-b-dr", 1)):
        assert estate.site(stack).capacity.failure_domains == domains
        for m in stack_plans[stack].manifests:
            if m["kind"] not in ("Deployment", "StatefulSet"):
                continue
            spread = m["spec"]["template"]["spec"]["topologySpreadConstraints"]
            keys = [c["topologyKey"] for c in spread]
            assert keys == ["kubernetes.io/hostname"] + (
                ["topology.kubernetes.io/zone"] if domains > 1 else [])
            tier = m["metadata"]["labels"]["govcloud.io/dr-tier"]
            want = "DoNotSchedule" if tier == "dual-active" else "ScheduleAnyway"
            assert {c["whenUnsatisfiable"] for c in spread} == {want}


@pytest.mark.parametrize("stack", STACKS)
def test_images_are_the_departments_digests(
    stack_plans: dict, estate: Estate, stack: str
) -> None:
    registry = estate.cloud.registry
    for m in stack_plans[stack].manifests:
        if m["kind"] not in ("Deployment", "StatefulSet"):
            continue
        labels = m["metadata"]["labels"]
        c = _component(estate, labels)
        template = m["spec"]["template"]
        assert template["spec"]["containers"][0]["image"] == (
            f"{registry}/{labels['govcloud.io/department']}/{labels['govcloud.io/system']}/"
            f"{c.name}@{c.image.digest}")
        assert template["metadata"]["annotations"] == {"govcloud.io/image-tag": c.image.tag}


def test_backup_jobs_read_the_repository_key_from_a_file(
    stack_plans: dict, estate: Estate
) -> None:
    jobs = _by_name(stack_plans["region-a-dc1"], "CronJob")
    assert jobs
    for job in jobs.values():
        pod = _pod_spec(job)
        container = pod["containers"][0]
        assert "env" not in container and "envFrom" not in container
        (volume,) = pod["volumes"]
        assert volume["secret"]["defaultMode"] == 0o440
        (mount,) = container["volumeMounts"]
        assert mount["readOnly"] is True and mount["name"] == volume["name"]
        key = volume["secret"]["items"][0]["key"]
        tool = "pgbackrest" if key == "pgbackrest-repo.conf" else "restic"
        image = estate.workloads.platform_images[tool]
        assert container["image"] == f"{estate.cloud.registry}/platform/{tool}@{image.digest}"
        if tool == "restic":
            assert container["args"][1:3] == ["--password-file", f"{mount['mountPath']}/{key}"]
