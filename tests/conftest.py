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
