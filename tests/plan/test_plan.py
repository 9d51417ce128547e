"""The offline plan: render, schema-validate, report errors readably, isolate stacks."""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from govcloud import cli
from govcloud.plan import SECRET_PLACEHOLDER, PlanError, StackPlan, engine, plan_stack
from govcloud.plan.render import check, render

VERSION = "1.30"


def test_all_three_stacks_render_and_validate(stack_plans: dict, tmp_path: Path) -> None:
    assert sorted(stack_plans) == ["region-a-dc1", "region-a-dc2", "region-b-dr"]
    for stack, plan in stack_plans.items():
        rendered = render(plan, tmp_path, VERSION)
        assert rendered.problems == [], stack
        assert len(rendered.files) == len(plan.manifests) >= 500
        files = sorted((tmp_path / stack / "1-manifest").iterdir())
        assert len(files) == len(plan.manifests)  # one file per object, no overwrites
        ns = tmp_path / stack / "1-manifest" / "v1-namespace-cluster-health-extranet.yaml"
        assert yaml.safe_load(ns.read_text())["metadata"]["labels"]["govcloud.io/site"] == stack
        dump = json.loads((tmp_path / stack / "resources.json").read_text())
        assert len(dump["resources"]) == len(plan.resources)


def test_props_are_what_crossguard_sees(stack_plans: dict) -> None:
    plan = stack_plans["region-a-dc1"]
    [provider] = [r for r in plan.resources if r.type == "pulumi:providers:kubernetes"]
    deploy = next(r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment")
    assert deploy.urn.startswith("urn:pulumi:region-a-dc1::govcloud::")
    assert deploy.props["apiVersion"] == "apps/v1" and deploy.props["kind"] == "Deployment"
    pod = deploy.props["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(deploy.props["spec"]["replicas"], int)
    text = json.dumps([r.props for r in plan.resources])
    assert "run_as_non_root" not in text and "pod_selector" not in text
    assert provider.props == {"context": "region-a-dc1-prod"}


def test_secrets_are_placeholders_offline(stack_plans: dict, tmp_path: Path) -> None:
    plan = stack_plans["region-a-dc1"]
    assert plan.secret_keys == ["govcloud:backupRepoKey"]
    assert "govcloud:backupRepoKey" not in plan.config
    secrets = [m for m in plan.manifests if m["kind"] == "Secret"]
    assert secrets
    # the key, as each backup tool reads it from its file: pgBackRest's config include
    # (the static lines around the key are not secret) and restic's password file
    for m in secrets:
        assert m["stringData"] == {
            "pgbackrest-repo.conf": "[global]\nrepo1-cipher-type=aes-256-cbc\n"
                                    f"repo1-cipher-pass={SECRET_PLACEHOLDER}\n",
            "restic-password": SECRET_PLACEHOLDER,
        }


def test_a_broken_manifest_is_reported_readably(stack_plans: dict) -> None:
    plan = stack_plans["region-a-dc2"]
    broken = StackPlan(plan.stack, copy.deepcopy(plan.resources))
    deploy = next(r for r in broken.resources if r.kind == "Deployment")
    deploy.props["spec"]["replicaz"] = 3
    deploy.props["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = []
    name = f"{deploy.namespace}/{deploy.props['metadata']['name']}"
    problems = [str(p) for p in check(broken, VERSION)]
    assert len(problems) == 2
    prefix = f"region-a-dc2: apps_v1-deployment-{deploy.namespace}-"
    assert all(p.startswith(prefix) for p in problems)
    assert any(f"Deployment {name}: spec: Additional properties are not allowed ('replicaz'" in p
               for p in problems)
    assert any("spec.template.spec.containers.0.resources.limits.cpu: [] is not" in p
               for p in problems), problems


def _stack_dir(tmp_path: Path, program: str, **stacks: dict[str, str]) -> Path:
    d = tmp_path / "stacks"
    d.mkdir()
    (d / "__main__.py").write_text(textwrap.dedent(program))
    for name, config in stacks.items():
        (d / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return d


BROKEN = """
    import pulumi
    pulumi.CustomResource("kubernetes:apps/v1:Deployment", "bad", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "demo"},
        "spec": {"replicaz": 2},
    })
"""


def test_cli_exits_non_zero_with_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(engine, "STACKS_DIR", _stack_dir(tmp_path, BROKEN, broken={}))
    code = cli.main(["plan", "--stack", "broken", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 manifest(s) failed Kubernetes 1.30 schema validation" not in err  # counts errors
    assert "manifest(s) failed Kubernetes 1.30 schema validation" in err
    assert ("broken: apps_v1-deployment-demo-bad.yaml: Deployment demo/bad: spec: "
            "Additional properties are not allowed ('replicaz' was unexpected)") in err
    assert "'selector' is a required property" in err
    assert "Traceback" not in err


COUNTER = """
    import pulumi
    n = int(pulumi.Config("govcloud").require("count"))
    for i in range(n):
        pulumi.CustomResource("test:index:Thing", f"thing-{i}", {"i": i})
    pulumi.export("count", n)
"""


def test_stacks_do_not_leak_into_each_other(tmp_path: Path) -> None:
    d = _stack_dir(tmp_path, COUNTER, a={"govcloud:count": "3"}, b={"govcloud:count": "2"})
    first, second, again = (plan_stack(s, stacks_dir=d) for s in ("a", "b", "a"))
    assert [len(p.resources) for p in (first, second, again)] == [3, 2, 3]
    assert all(r.urn.startswith("urn:pulumi:b::") for r in second.resources)
    assert [r.urn for r in again.resources] == [r.urn for r in first.resources]
    assert (first.outputs, second.outputs) == ({"count": 3}, {"count": 2})


def test_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PlanError, match="known stacks: region-a-dc1, region-a-dc2, region-b-dr"):
        plan_stack("region-c")
    assert cli.main(["plan", "--stack", "region-c"]) == 1
    assert "no stack 'region-c'" in capsys.readouterr().err


def test_invalid_estate_exits_2_and_renders_nothing(
    estate_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = estate_copy / "departments" / "health.yaml"
    path.write_text(path.read_text().replace("mlps_level: 3", "mlps_level: 4", 1))
    out = tmp_path / "out"
    code = cli.main(["--estate", str(estate_copy), "plan", "--stack", "region-a-dc1",
                     "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "departments/health.yaml: systems[0].mlps_level: [mlps-above-cloud]" in err
    assert not out.exists()
    assert "Traceback" not in err


def test_a_run_restores_the_garbage_collector() -> None:
    """run_program pauses the collector for its run only (engine._gc_paused_for_run)."""
    import gc

    seen: list[bool] = []
    frozen_before = gc.get_freeze_count()
    assert gc.isenabled()
    engine.run_program("gc-test", lambda: seen.append(gc.isenabled()))
    assert seen == [False]  # paused while the program ran
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before

    def failing() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):  # a failing program restores it too
        engine.run_program("gc-test", failing)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before


def test_a_digest_bump_is_an_update_of_exactly_its_workload(
    stack_plans: dict, estate_copy: Path, tmp_path: Path
) -> None:
    stack = "region-a-dc1"
    first = render(stack_plans[stack], tmp_path, VERSION)
    assert first.changes is None  # nothing to compare with yet
    hrss = estate_copy / "departments/hrss.yaml"
    text = hrss.read_text(encoding="utf-8")
    old = "820ce4bba6b989417a876980c411c94f9e9979602f58637c95d0f71373b78d91"
    assert text.count(old) == 1
    hrss.write_text(text.replace(old, "f" * 64), encoding="utf-8")

    again = render(plan_stack(stack, estate_copy), tmp_path, VERSION)
    assert [str(c) for c in again.changes] == [
        "update Deployment hrss-extranet/social-insurance-api: "
        "spec.template.spec.containers[0].image"
    ]
    image = f"registry.govcloud.example.cn/hrss/social-insurance/api@sha256:{'f' * 64}"
    assert f"Deployment hrss-extranet/social-insurance-api api {image}" in again.images
    assert (tmp_path / stack / "images.txt").read_text().splitlines() == again.images
