"""Fixtures of the engine suite: fresh per-site control planes and a fresh engine state.

The suite needs the toolchain `scripts/setup --engine` builds. Without it the suite is
skipped on a workstation, and fails under CI (where `.ci/run` builds it first).
"""

from __future__ import annotations

import os
import shutil

import pytest

SAMPLE_PASSPHRASE = "govcloud-sample-only"


@pytest.fixture(scope="session")
def engine_sites():
    """Every stack's control plane up (fresh), an empty state backend; all removed after."""
    from govcloud.engine import cluster, stacks, toolchain

    lacking = toolchain.missing()
    if lacking:
        msg = f"engine toolchain not built ({', '.join(lacking)}): scripts/setup --engine"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    os.environ.setdefault("PULUMI_CONFIG_PASSPHRASE", SAMPLE_PASSPHRASE)
    os.environ.pop("KUBECONFIG", None)
    cluster.down(log=lambda _m: None)
    shutil.rmtree(stacks.state_dir(), ignore_errors=True)
    cluster.up()
    try:
        yield cluster.site_contexts()
    finally:
        cluster.down()
        shutil.rmtree(stacks.state_dir(), ignore_errors=True)
