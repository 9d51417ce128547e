"""A second deploy of every role changes nothing (figures parsed from pyinfra's results)."""

from __future__ import annotations

import json

import pytest

from govcloud.lab.deploy import deploy

pytestmark = pytest.mark.lab


def test_second_deploy_changes_nothing(lab, capsys):
    first = lab.first_deploy
    second = deploy(lab, say=None)
    figures = {
        "first_deploy_s": round(first.seconds, 1),
        "first_changed": first.changed,
        "second_deploy_s": round(second.seconds, 1),
        "second_operations": second.operations,
        "second_changed": second.changed,
        "ratio": round(second.seconds / first.seconds, 2),
    }
    (lab.state_dir / "deploy-figures.json").write_text(json.dumps(figures))
    with capsys.disabled():
        print(f"\nlab deploy figures: {figures}")
    assert second.ok, second.error_ops
    assert second.operations == first.operations > 0
    if lab.fresh:
        assert first.changed > 0
    assert second.changed == 0, f"not idempotent: {second.changed_ops}"
