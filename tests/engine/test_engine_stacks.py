"""Fast checks of the engine driver that need no toolchain (the engine suite needs one)."""

from __future__ import annotations

import pytest

from govcloud.engine import stacks as engine


def test_checkpoints_end_is_the_engines_skip_checkpoints_and_step_is_its_default() -> None:
    assert engine._env(None, "end")["PULUMI_SKIP_CHECKPOINTS"] == "true"
    assert "PULUMI_SKIP_CHECKPOINTS" not in engine._env(None)
    assert "PULUMI_SKIP_CHECKPOINTS" not in engine._env(None, "step")


def test_unknown_checkpoint_mode_is_refused_before_anything_runs(monkeypatch) -> None:
    touched = []
    monkeypatch.setattr(engine, "_toolchain", lambda: touched.append("toolchain"))
    with pytest.raises(engine.EngineError, match=r"checkpoints must be one of step, end, "
                                                 r"not 'often'"):
        engine.run("region-a-dc2", "up", checkpoints="often")
    assert not touched


def test_cli_offers_the_checkpoint_modes_only_where_the_engine_saves_state() -> None:
    from govcloud.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["up", "--checkpoints", "end"]).checkpoints == "end"
    assert parser.parse_args(["destroy"]).checkpoints == "step"
    with pytest.raises(SystemExit):
        parser.parse_args(["preview", "--checkpoints", "end"])


class _State:
    """What `Stack.export_stack()` returns, as far as _shrinking_quotas reads it."""

    def __init__(self, quotas: dict[str, dict]):
        self.deployment = {"resources": [
            {"urn": urn, "type": "kubernetes:core/v1:ResourceQuota",
             "inputs": {"spec": {"hard": hard}}} for urn, hard in quotas.items()]}

    def export_stack(self) -> _State:
        return self


def _plan(quotas: dict[str, dict]):
    from govcloud.plan.engine import PlannedResource, StackPlan

    return StackPlan("region-a-dc2", [
        PlannedResource("region-a-dc2", "kubernetes:core/v1:ResourceQuota", urn.rsplit(":", 1)[-1],
                        urn, {"spec": {"hard": hard}}) for urn, hard in quotas.items()], {})


def test_quotas_lowered_or_newly_limited_are_held_for_a_second_pass() -> None:
    live = {"urn:a": {"requests.cpu": "90", "requests.memory": "260Gi"},
            "urn:b": {"requests.cpu": "10"},
            "urn:c": {"requests.cpu": "10"},
            "urn:d": {"requests.cpu": "10"}}
    planned = {"urn:a": {"requests.cpu": "170", "requests.memory": "200Gi"},  # memory down
               "urn:b": {"requests.cpu": "10500m"},  # up: applied in the one pass
               "urn:c": {"requests.cpu": "10", "requests.storage": "1Ti"},  # a new limit
               "urn:d": {"requests.cpu": "10"},
               "urn:new": {"requests.cpu": "1"}}  # created: nothing to hold
    assert engine._shrinking_quotas(_State(live), _plan(planned)) == ["urn:a", "urn:c"]


def test_a_first_up_holds_nothing() -> None:
    assert engine._shrinking_quotas(_State({}), _plan({"urn:a": {"requests.cpu": "1"}})) == []
