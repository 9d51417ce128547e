"""DepartmentTenant and the quotas it enforces (govcloud.tenancy.tenant_quotas)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from components.common import parse_quantity
from components.tenant import DepartmentTenant, DepartmentTenantArgs, TenantZone
from govcloud import tenancy
from govcloud.model import Estate, Resources, SiteName, Zone
from govcloud.plan import run_program

STACKS = [str(s) for s in SiteName]


def _health_tenant(estate: Estate) -> list:
    """Build only health's tenant on DC1 under the mock runtime."""
    plan = tenancy.site_plan(estate, SiteName.DC1)
    health = next(d for d in estate.departments if d.name == "health")
    zones = {
        z: TenantZone(q, plan.components.get((d, z), []), plan.backups.get((d, z), []))
        for (d, z), q in plan.quotas.items()
        if d == "health"
    }
    resources, _ = run_program(
        "tenant-test",
        lambda: DepartmentTenant("health", DepartmentTenantArgs(health, SiteName.DC1, zones)),
    )
    return resources


def test_tenant_children_are_parented_and_named(estate: Estate) -> None:
    resources = _health_tenant(estate)
    [component] = [r for r in resources if r.type == "govcloud:tenancy:DepartmentTenant"]
    children = [r for r in resources if r.is_kubernetes]
    # health uses the internet and extranet zones on DC1: 9 objects per namespace
    assert sorted(r.name for r in children if r.kind == "Namespace") == [
        "health-extranet", "health-internet"]
    assert len(children) == 18
    for r in children:
        assert r.urn.split("::")[2].startswith("govcloud:tenancy:DepartmentTenant$"), r.urn
    assert component.name == "health"


def test_namespace_enforces_restricted_pod_security(estate: Estate) -> None:
    ns = next(r for r in _health_tenant(estate) if r.kind == "Namespace"
              and r.name == "health-extranet")
    labels = ns.props["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.30"
    assert labels["govcloud.io/department"] == "health"
    assert labels["govcloud.io/zone"] == "extranet"
    assert labels["govcloud.io/mlps-level"] == "3"  # appointment/ehr/vaccination are level 3


def test_roles_bind_the_department_groups(estate: Estate) -> None:
    resources = _health_tenant(estate)
    bindings = {(r.namespace, r.props["metadata"]["name"]): r.props for r in resources
                if r.kind == "RoleBinding"}
    admin = bindings[("health-extranet", "department-admin")]
    assert admin["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                  "name": "health-admins"}]
    assert admin["roleRef"]["name"] == "department-admin"
    auditor = bindings[("health-extranet", "department-auditor")]
    assert auditor["subjects"][0]["name"] == "health-auditors"

    roles = {r.props["metadata"]["name"]: r.props for r in resources
             if r.kind == "Role" and r.namespace == "health-extranet"}
    auditor_rules = roles["department-auditor"]["rules"]
    assert all(set(rule["verbs"]) == {"get", "list", "watch"} for rule in auditor_rules)
    assert not any("secrets" in rule["resources"] for rule in auditor_rules)
    admin_rules = roles["department-admin"]["rules"]
    writable = {res for rule in admin_rules if "delete" in rule["verbs"]
                for res in rule["resources"]}
    assert "deployments" in writable
    assert not writable & {"resourcequotas", "limitranges", "networkpolicies", "roles",
                           "rolebindings", "poddisruptionbudgets"}
    readable = {res for rule in admin_rules for res in rule["resources"]}
    assert "poddisruptionbudgets" in readable


@pytest.mark.parametrize("site", list(SiteName))
def test_quota_is_the_model_footprint(estate: Estate, site: SiteName) -> None:
    """Sum of namespace quotas = sum of Estate.footprint + the backup job pods run there."""
    quotas = tenancy.tenant_quotas(estate, site)
    total = sum(quotas.values(), Resources())
    footprint = sum(
        (estate.footprint(s, site) for _, s in tenancy.systems_for_stacks(estate)), Resources()
    )
    jobs = [j for _, s in tenancy.systems_for_stacks(estate)
            for j in tenancy.backup_jobs(estate, s, site)]
    allowance = Resources(vcpu=sum((j.pod.cpu for j in jobs), Decimal(0)),
                          memory=sum((j.pod.memory for j in jobs), Decimal(0)))
    assert total == footprint + allowance
    assert (len(jobs) > 0) == (site == SiteName.DC1)


def test_quota_per_namespace_matches_health_by_hand(estate: Estate) -> None:
    """health/extranet on DC1: appointment api+db, ehr, vaccination, portal cms+db + 4 jobs."""
    q = tenancy.tenant_quotas(estate, SiteName.DC1)[("health", Zone.EXTRANET)]
    vcpu = (4 * 8 + 2 * 16) + (4 * 8 + 2 * 4 + 2 * 16) + (2 * 8 + 2 * 4 + 2 * 8) + (2 * 4 + 4)
    assert q.vcpu == Decimal(vcpu) + 4 * Decimal("0.5")
    assert q.storage == (2 * 1000 + 2 * 2048 + 2 * 1024 + 200) * 2**30


def test_admitted_systems_narrow_the_quota(estate: Estate) -> None:
    """The admission hook: passing a subset of systems gives only their quotas."""
    only = [(d, s) for d, s in tenancy.systems_for_stacks(estate) if s.name == "ehr"]
    quotas = tenancy.tenant_quotas(estate, SiteName.DC2, only)
    assert list(quotas) == [("health", Zone.EXTRANET)]
    assert quotas[("health", Zone.EXTRANET)] == estate.footprint(only[0][1], SiteName.DC2)


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_quota_equals_tenant_quotas(
    stack_plans: dict, estate: Estate, stack: str
) -> None:
    quotas = tenancy.tenant_quotas(estate, SiteName(stack))
    rendered = {
        (m["metadata"]["labels"]["govcloud.io/department"],
         Zone(m["metadata"]["labels"]["govcloud.io/zone"])): m["spec"]["hard"]
        for m in stack_plans[stack].manifests if m["kind"] == "ResourceQuota"
    }
    assert set(rendered) == set(quotas)
    for key, hard in rendered.items():
        q = quotas[key]
        assert parse_quantity(hard["requests.cpu"]) == q.vcpu, key
        assert parse_quantity(hard["limits.memory"]) == q.memory, key
        assert parse_quantity(hard["requests.storage"]) == q.storage, key
