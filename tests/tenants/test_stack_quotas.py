"""The stacks carry exactly the admitted requests: the tenancy hook and the planned quotas."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from govcloud.model import DEFAULT_ESTATE, Estate, Resources, SiteName, load_estate
from govcloud.model.quantity import parse_bytes, parse_cpu
from govcloud.tenancy import systems_for_stacks
from govcloud.tenants import admit_estate
from govcloud.tenants.ledger import held

# health covers every DR tier (dual-active, warm-standby, backup-only); one department
# keeps the planned stacks small enough for the fast suite
KEEP = {"health"}


@pytest.fixture
def small_with_refused(estate_copy: Path) -> Path:
    """health plus urban-management, which the model accepts but admission refuses
    (dual-active video analytics: no DR headroom if region A is lost)."""
    for f in (estate_copy / "departments").glob("*.yaml"):
        if f.stem not in KEEP:
            f.unlink()
    # the sample request, grown so that it breaks the headroom of this smaller estate:
    # one copy = 4x4 + 64x72 + 2x8 = 4640 vCPU (fits one DC: 9600); losing region A puts
    # both copies, 9280 vCPU, on region B: more than its 8808 allocatable
    data = yaml.safe_load(
        (DEFAULT_ESTATE.parent / "requests" / "urban-management.yaml").read_text("utf-8"))
    inference = data["systems"][0]["components"][1]
    inference.update(replicas=64, cpu=72)
    (estate_copy / "departments" / "urban-management.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return estate_copy


def test_hook_returns_exactly_the_admitted_systems(estate: Estate,
                                                   small_with_refused: Path) -> None:
    # the sample estate: every department admitted, nothing reclaimed -> every system
    assert systems_for_stacks(estate) == estate.systems()
    small = load_estate(small_with_refused)  # valid as data...
    refused = [d for d in admit_estate(small).decisions if not d.admitted]
    assert [d.request.name for d in refused] == ["urban-management"]  # ...refused here
    assert {r.rule for r in refused[0].reasons} == {"dr-headroom"}
    stacked = {(d.name, s.name) for d, s in systems_for_stacks(small)}
    assert stacked == {(d.name, s.name) for d, s in small.systems()
                       if d.name != "urban-management"}


def strip(r: Resources) -> tuple[Decimal, Decimal, Decimal]:
    """What a ResourceQuota can carry (public IPs and bandwidth are not Kubernetes quotas)."""
    return (r.vcpu, r.memory, r.storage)


def _quota(hard: dict[str, str]) -> Resources:
    return Resources(vcpu=parse_cpu(hard["requests.cpu"]),
                     memory=Decimal(parse_bytes(hard["requests.memory"])),
                     storage=Decimal(parse_bytes(hard["requests.storage"])))


def test_planned_resource_quotas_equal_the_admitted_requests(small_with_refused: Path) -> None:
    from govcloud.plan import plan_stack

    small = load_estate(small_with_refused)
    admission = admit_estate(small)
    admitted = admission.admitted_systems()
    plans = {site: plan_stack(str(site), estate_root=small_with_refused) for site in SiteName}
    for site, plan in plans.items():
        quotas = [r for r in plan.resources if r.kind == "ResourceQuota"]
        per_ns = {r.namespace: _quota(r.props["spec"]["hard"]) for r in quotas}
        per_dept: dict[str, Resources] = {}
        for r in quotas:
            per_dept[r.department] = per_dept.get(r.department, Resources()) + per_ns[
                r.namespace]
        # what admission charged each department on this site (footprint + backup pods)
        expected: dict[str, Resources] = {}
        for dept, system in admitted:
            charged = held(small, system)[site]
            expected[dept.name] = expected.get(dept.name, Resources()) + charged
        expected = {k: v for k, v in expected.items() if v.vcpu or v.memory or v.storage}
        assert {k: strip(v) for k, v in per_dept.items()} == {
            k: strip(v) for k, v in expected.items()}, site
        assert "urban-management" not in per_dept
        # the site's quotas add up to the admission ledger
        used = admission.ledger.used()[site]
        total = sum((v for v in per_ns.values()), Resources())
        assert strip(total) == strip(used), site
    # one namespace by hand, region-a-dc1 health-internet: appointment web 4 x (4 vCPU,
    # 8Gi) + health-portal web 2 x (2 vCPU, 4Gi) = 20 vCPU, 40Gi, no storage
    (hi,) = [r for r in plans[SiteName.DC1].resources
             if r.kind == "ResourceQuota" and r.namespace == "health-internet"]
    assert hi.props["spec"]["hard"]["requests.cpu"] == "20"
    assert hi.props["spec"]["hard"]["requests.memory"] == "40Gi"
