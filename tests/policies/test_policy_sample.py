"""The sample estate passes every mandatory policy, or carries a live waiver for it.

Estate-level checks always run; the plan-level ones run over the offline plan of every
stack and the host-level ones over the roles' data once those layers are in the tree.
"""

from __future__ import annotations

import datetime as dt

import pytest

from govcloud.model import Estate
from policies.offline import Status, evaluate, host_inputs, load_plans
from policies.registry import POLICIES, policy
from policies.waivers import load_waivers

TODAY = dt.date(2026, 11, 21)


def _waivers(estate: Estate):
    return load_waivers(estate.root, [p.id for p in POLICIES])


def _failures(report, prefix: str) -> list[str]:
    return [
        f"{r.policy.id} @ {r.target}: {[v.message for v in r.violations] or r.note}"
        for r in report.failures()
        if r.target.startswith(prefix)
    ]


def test_estate_policies_pass_or_are_waived(estate: Estate) -> None:
    report = evaluate(estate, {}, None, _waivers(estate), TODAY)
    assert _failures(report, "estate") == []
    assert _failures(report, "waivers") == []
    statuses = {r.policy.id: r.status for r in report.results if r.target == "estate"}
    assert statuses["separation-of-duties"] == Status.PASS
    assert statuses["crypto-sm"] == Status.WAIVED  # real gaps, each under a dated waiver
    # every sample waiver covers a real finding
    assert report.unused_waivers() == []


def test_plan_of_the_busiest_stack_passes(estate: Estate) -> None:
    """region-a-dc1 carries every system (all tiers are active there). One stack only: an
    offline plan takes 10-30 s here; ``govcloud compliance check`` plans all three."""
    pytest.importorskip("govcloud.plan", reason="the offline plan (branch plan) is not merged")
    plans, errors = load_plans(estate, ["region-a-dc1"])
    assert errors == {}
    report = evaluate(
        estate, plans, [], _waivers(estate), TODAY, [p for p in POLICIES if p.reads_plan]
    )
    assert _failures(report, "stack:") == []
    # the checks examined real resources: every tenant namespace, policy and workload
    for r in report.results:
        assert r.evidence, f"{r.policy.id} @ {r.target} examined nothing"
    seen = {r.policy.id: len(r.evidence) for r in report.results}
    assert seen["tenant-default-deny"] >= len(estate.departments)
    live = [s for _, s in estate.systems() if s.live]
    assert seen["workload-resources"] >= sum(len(s.components) for s in live)


def test_hosts_forward_their_logs(estate: Estate) -> None:
    """The roles' own data (roles/baseline data_for over the lab topology) forwards every
    host's logs to its site's collector."""
    pytest.importorskip("govcloud.lab.topology", reason="the lab host model is not merged")
    hosts, error = host_inputs(estate)
    assert hosts, error
    report = evaluate(estate, {}, hosts, [], TODAY, [policy("log-forwarding")])
    assert _failures(report, "hosts") == []
    evidence = [e for r in report.results for e in r.evidence]
    forwarding = [h for h in hosts if not h.has_role("log_audit")]
    assert len([e for e in evidence if " -> " in e]) == len(forwarding)


def test_hosts_pass(estate: Estate) -> None:
    pytest.importorskip("govcloud.lab.topology", reason="the lab host model is not merged")
    pytest.importorskip("roles.log_audit", reason="roles/log_audit is not merged")
    pytest.importorskip("roles.bastion", reason="roles/bastion is not merged")
    hosts, error = host_inputs(estate)
    assert hosts, error
    report = evaluate(
        estate, {}, hosts, _waivers(estate), TODAY, [p for p in POLICIES if p.on_hosts]
    )
    assert _failures(report, "hosts") == []
    # roles/bastion demands key + TOTP on every jump host: passes with no waiver at all
    unwaived = evaluate(estate, {}, hosts, [], TODAY, [policy("admin-two-factor")])
    bastion = next(r for r in unwaived.results if r.target == "hosts:bastion")
    assert bastion.status == Status.PASS and not bastion.waived
    jumps = [h for h in hosts if "bastion" in h.roles and h.roles["bastion"].jump]
    assert len(jumps) == 3  # one per site
    assert sorted(bastion.evidence) == sorted(
        f"{h.name}: roles/bastion two_factor=True" for h in jumps
    )
