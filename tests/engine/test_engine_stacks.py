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
