"""``govcloud validate`` as an operator runs it: a real process, exit status, stderr.

Bad estate data must exit 2 with one line per problem naming file, field and rule,
say that nothing was rendered or applied, and never show a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from estate_edits import Edit, Key, delete, remove_file, set_, write_text

from govcloud.model import Estate


def govcloud(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govcloud.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_sample_is_valid(estate: Estate) -> None:
    done = govcloud("validate")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.strip() == (
        f"estate {estate.cloud.name} is valid: {len(estate.sites)} sites, "
        f"{len(estate.zones)} zones, {len(estate.flows)} flows, "
        f"{len(estate.appliances)} appliances, {len(estate.departments)} departments, "
        f"{len(estate.systems())} systems"
    )


BROKEN: dict[str, tuple[Edit, list[str]]] = {
    # the README's example line, verbatim up to the message's first clause
    "mlps-level-4": (
        set_("departments/health.yaml", ("systems", Key("appointment"), "mlps_level"), 4),
        [
            "departments/health.yaml: systems[0].mlps_level: [mlps-above-cloud] system "
            "appointment is graded MLPS level 4;"
        ],
    ),
    "gatekeeper-bypass": (
        set_("flows.yaml", ("flows", Key("internet-to-extranet-ferry"), "chain"), ["firewall"]),
        ["flows.yaml: flows[2].chain: [flow-gatekeeper] flow internet-to-extranet-ferry joins"],
    ),
    "bad-quantity-and-unknown-zone": (
        set_(
            "departments/health.yaml",
            ("systems", Key("ehr"), "components", Key("api")),
            {"name": "api", "kind": "api", "zone": "dmz", "cpu": "8", "memory": "16GB"},
        ),
        [
            "departments/health.yaml: systems[1].components[0].memory: [invalid-quantity] "
            "not a valid size quantity: '16GB'",
            "departments/health.yaml: systems[1].components[0].zone: [unknown-zone] "
            "unknown zone 'dmz'",
        ],
    ),
    "yaml-syntax": (
        write_text("zones.yaml", "zones: [\n"),
        ["zones.yaml: line 2: [yaml-syntax]"],
    ),
    "missing-file": (remove_file("operators.yaml"), ["operators.yaml: [missing-file]"]),
    # used to crash with KeyError inside department-over-capacity
    "undefined-tier": (
        delete("dr-tiers.yaml", ("tiers", Key("warm-standby"))),
        ["dr-tiers.yaml: tiers: [missing-definition] DR tier warm-standby is not defined"],
    ),
}


@pytest.mark.parametrize(("edit", "lines"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_estate_exits_2(estate_copy: Path, edit: Edit, lines: list[str]) -> None:
    edit(estate_copy)
    done = govcloud("--estate", str(estate_copy), "validate")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    err = done.stderr.splitlines()
    assert err[0].startswith("estate data is invalid (")
    assert err[-1] == "nothing was rendered or applied."
    for line in lines:
        assert any(e.strip().startswith(line) for e in err), f"{line!r} not in:\n{done.stderr}"


def test_estate_from_environment(estate_copy: Path) -> None:
    """``GOVCLOUD_ESTATE`` selects the estate like ``--estate`` does."""
    remove_file("cloud.yaml")(estate_copy)
    done = govcloud("validate", env={"GOVCLOUD_ESTATE": str(estate_copy)})
    assert done.returncode == 2
    assert "cloud.yaml: [missing-file] file not found" in done.stderr


def test_estate_directory_missing(tmp_path: Path) -> None:
    done = govcloud("--estate", str(tmp_path / "nowhere"), "validate")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "departments/: [missing-file] no department files" in done.stderr
