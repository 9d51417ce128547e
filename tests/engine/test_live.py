"""Comparing what the plan rendered with what an API server holds (no cluster needed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from govcloud.engine import live


@pytest.mark.parametrize("value,want", [
    ("500m", Decimal("0.5")), ("0.5", Decimal("0.5")), (2, Decimal(2)), ("1Gi", 2**30),
    ("1G", 10**9), ("3", Decimal(3)), ("web", None), (True, None), ("1.5Mi", 1572864),
])
def test_quantity(value, want) -> None:
    assert live.quantity(value) == want


def test_differences_compare_quantities_by_value_and_ignore_server_fields() -> None:
    want = {"spec": {"resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}},
                     "ports": [{"port": 80}]}}
    have = {"spec": {"resources": {"requests": {"cpu": "500m", "memory": "1073741824"}},
                     "ports": [{"port": 80, "protocol": "TCP"}], "clusterIP": "10.0.0.1"},
            "status": {}}
    assert live.differences(want, have) == []


def test_differences_report_the_path_of_what_differs() -> None:
    want = {"spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "api", "image": "a:1"}]}}}}
    have = {"spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "api", "image": "a:2"}]}}}}
    got = live.differences(want, have)
    assert any(d.startswith(".spec.replicas") for d in got), got
    assert any("image" in d for d in got), got
    assert live.differences({"a": {"b": 1}}, {"a": {}}) == [".a.b: missing"]


def test_every_kind_the_stacks_make_is_read_back(stack_plans, monkeypatch) -> None:
    """Each planned kind is fetched: namespaced ones in the plan's namespaces, the
    cluster-scoped guardrails by the stacks' managed-by label (a kind missing here was a
    KeyError under the engine)."""
    asked: list[tuple[str, ...]] = []

    def fake(context: str, *args: str) -> dict:
        asked.append(args)
        if args[1] == "namespaces":
            return {"items": []}
        if "-l" in args:
            return {"items": [{"kind": "ValidatingAdmissionPolicy",
                               "metadata": {"name": "govcloud-images"}}]}
        return {"items": []}

    monkeypatch.setattr(live, "kube_json", fake)
    manifests = stack_plans["region-a-dc1"].manifests
    got = live.live_objects("ctx", manifests)
    planned = {m["kind"] for m in manifests} - {"Namespace"}
    fetched = {r for a in asked for r in a[1].split(",")}
    assert {live.KINDS.get(k) or live.CLUSTER_KINDS[k] for k in planned} <= fetched
    assert ("ValidatingAdmissionPolicy", "", "govcloud-images") in got
    assert list(asked[-1][-2:]) == ["-l", "app.kubernetes.io/managed-by=govcloud"]
