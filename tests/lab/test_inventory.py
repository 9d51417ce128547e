"""Inventory generation: Ansible YAML and pyinfra from the same model data (fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from govcloud.lab.inventory import (
    INVENTORIES,
    ansible_inventory,
    pyinfra_inventory,
    site_inventory_yaml,
)
from govcloud.lab.topology import load_topology

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def topo(estate):
    return load_topology(estate)


@pytest.mark.parametrize("site", ["region-a-dc1", "region-a-dc2", "region-b-dr"])
def test_committed_site_inventories_are_current(topo, site):
    path = INVENTORIES / f"{site}.yml"
    assert path.read_text() == site_inventory_yaml(topo, site), (
        f"{path} is stale: run `govcloud lab inventory` and commit the result"
    )


def test_groups_named_after_estate_concepts(topo):
    inv = ansible_inventory(topo, topo.hosts_on("region-a-dc1"), None)["all"]
    groups = inv["children"]
    assert set(groups["region_a_dc1"]["hosts"]) == {h.name for h in topo.hosts_on("region-a-dc1")}
    assert set(groups["router"]["hosts"]) == {"dc1-fw"}
    assert "dc1-gk" in groups["zone_internet"]["hosts"]
    assert "dc1-gk" in groups["zone_extranet"]["hosts"]
    assert set(groups["role_firewall"]["hosts"]) == {"dc1-fw"}
    assert inv["hosts"]["dc1-pg"]["ansible_host"] == topo.address("dc1-pg")
    # production-shaped: reached through the site's bastion, never as root
    assert inv["hosts"]["dc1-pg"]["ansible_user"] == "ops"
    assert topo.address("dc1-bastion") in inv["hosts"]["dc1-pg"]["ansible_ssh_common_args"]


def test_ansible_and_pyinfra_carry_the_same_host_data(topo):
    hosts = topo.hosts_on("region-b-dr")
    ans = ansible_inventory(topo, hosts, None)["all"]["hosts"]
    pyi = dict(pyinfra_inventory(topo, hosts, None)["all_hosts"])
    for name, data in pyi.items():
        assert data["ssh_hostname"] == ans[name]["ansible_host"]
        for key in ("govcloud", "baseline"):
            assert data[key] == ans[name][key]


def test_ansible_inventory_parses_with_ansible(topo, tmp_path):
    """ansible-inventory itself accepts the generated file and sees the groups."""
    exe = Path(sys.executable).with_name("ansible-inventory")
    if not exe.exists():
        pytest.skip("ansible-core not installed")
    out = subprocess.run([str(exe), "-i", str(INVENTORIES / "region-a-dc2.yml"), "--list"],
                         capture_output=True, text=True, check=True)
    data = yaml.safe_load(out.stdout)
    assert "dc2-pg" in data["role_postgres"]["hosts"]
    assert data["_meta"]["hostvars"]["dc2-fw"]["govcloud"]["router"] is True


def test_pyinfra_loads_the_site_inventory(topo):
    """pyinfra's own CLI reads inventories/<site>.py (debug-inventory contacts no host)."""
    exe = Path(sys.executable).with_name("pyinfra")
    out = subprocess.run([str(exe), "inventories/region-a-dc1.py", "debug-inventory"],
                         cwd=REPO, capture_output=True, text=True, check=True, timeout=120)
    text = out.stdout + out.stderr
    assert "[dc1-fw]" in text and "[dc1-pg]" in text and "[dc2-fw]" not in text
    fw = text[text.index("[dc1-fw]"):text.index("[dc1-log]")]
    assert "role_firewall" in fw and "router" in fw
    assert f'"ssh_hostname": "{topo.address("dc1-fw")}"' in fw
