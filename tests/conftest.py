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


@pytest.fixture(scope="session")
def lab(request):
    """The local lab, built and deployed once per session and torn down at the end.

    Only `lab`- and `drill`-marked tests use it (it needs root and minutes). The
    instance name comes from GOVCLOUD_LAB_NAME; GOVCLOUD_LAB_KEEP=1 leaves the lab up
    after the session (and reuses a lab that is already up) for iterating on tests.
    The first deploy's figures are on ``lab.first_deploy``. Tests run inside the
    lab's fabric namespace; use ``lab_host(name)`` for a testinfra host.
    """
    import os

    from govcloud.lab import Lab
    from govcloud.lab.deploy import deploy

    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, mounts, systemd-nspawn)")
    # testinfra's ansible backend runs ansible-inventory: the venv's bin must be on PATH
    import sys

    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    instance = Lab()
    keep = os.environ.get("GOVCLOUD_LAB_KEEP") == "1"
    reuse = keep and instance.is_up()
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(msg: str) -> None:  # lab timings reach the CI log even with capture on
        with capture.global_and_fixture_disabled():
            print(msg, flush=True)

    if not reuse:
        if instance.is_up():
            instance.down(say=say)
        say("")
        instance.up(say=say)
    try:
        result = deploy(instance, say=say)
        assert result.ok, f"first deploy failed: {result.summary()} (see {result.log})"
        instance.first_deploy = result
        instance.fresh = not reuse
        # the test thread joins the fabric namespace: testinfra's ssh runs from inside
        # the lab, like `ip netns exec <lab>-fabric`
        with instance.in_fabric():
            yield instance
    finally:
        if not keep:
            left = instance.down(say=say)
            assert not left, f"lab down left {left}"


@pytest.fixture(scope="session")
def lab_host(lab):
    """``lab_host("dc1-fw")`` -> a testinfra host over the lab's Ansible inventory."""
    import testinfra

    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = testinfra.get_host(
                f"ansible://{name}", ansible_inventory=str(lab.inventory_yml)
            )
        return cache[name]

    return get


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """``lab_first`` tests run before every other test: they read the hosts as the first
    deploy left them (file integrity "clean"), before other lab tests install client
    tools or change files on purpose. Stable: the order among each group is kept."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("lab_first") else 1)
