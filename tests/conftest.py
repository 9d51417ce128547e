"""Shared fixtures: the sample estate, and a writable copy of it for bad-input cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from govcloud.model import DEFAULT_ESTATE, Estate, load_estate


@pytest.fixture(scope="session")
def estate() -> Estate:
    return load_estate(DEFAULT_ESTATE)


@pytest.fixture
def estate_copy(tmp_path: Path) -> Path:
    """A throw-away copy of the sample estate that a test may break."""
    dst = tmp_path / "estate"
    shutil.copytree(DEFAULT_ESTATE, dst)
    return dst


@pytest.fixture(scope="session")
def stack_plans() -> dict:
    """The offline plan of every site stack (``govcloud.plan.plan_stack``), run once.

    Planning runs the real stack program under Pulumi's mock runtime (several seconds
    per stack), so tests/components, tests/plan and tests/stacks share this one run.
    """
    from govcloud.plan import plan_stack, stack_names

    return {stack: plan_stack(stack) for stack in stack_names()}
