"""Inventories generated from the model: Ansible YAML and pyinfra, from the same data.

pyinfra 3 has no Ansible-inventory connector, so both are produced here from one
function (:func:`host_vars`) and can never disagree. Groups are named after estate
concepts: the site (``region_a_dc1``), the zone (``zone_extranet``), the role
(``role_firewall``), plus ``router``. Each host carries its roles' data
(``data_for(estate, host)`` of every role it runs, as JSON-able dicts) so a role's
``apply()`` reads ``host.data.<role>`` under pyinfra and ``hostvars[...][role]`` under
Ansible.

Two flavours:

- ``lab``: the running lab (addresses inside the lab's namespaces, the lab's SSH key and
  known_hosts, SSH multiplexing); written to the lab's state dir by ``lab up``.
- ``site``: a production-shaped inventory of one site (``inventories/<site>.py`` and the
  generated ``inventories/<site>.yml``): same hosts, roles and addresses, reached as the
  ``ops`` user through the site's bastion.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from govcloud.lab.topology import Host, Topology
from govcloud.model import Zone

if TYPE_CHECKING:
    from govcloud.lab.engine import Lab

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"


def _group(text: str) -> str:
    return text.replace("-", "_")


def role_module(role: str) -> Any | None:
    """The ``roles.<role>`` module, or None while that role is only reserved."""
    if not (REPO / "roles" / role / "__init__.py").is_file():
        return None
    return importlib.import_module(f"roles.{role}")


def role_data(topo: Topology, host: Host) -> dict[str, Any]:
    """``{role: data_for(estate, host) as JSON}`` for every role of the host that exists."""
    out: dict[str, Any] = {}
    for role in host.roles:
        mod = role_module(role)
        if mod is not None:
            try:
                data = mod.data_for(topo.estate, host)
            except (ValueError, LookupError) as exc:
                # a role refusing the model (its message names the file and the field) is an
                # operator-facing refusal: nothing is written or deployed, no traceback
                from govcloud.lab.engine import LabError

                raise LabError(f"roles/{role} refuses the model for {host.name}: "
                               f"{str(exc).splitlines()[0]}") from exc
            out[role] = data.model_dump(mode="json")
    return out


def host_vars(topo: Topology, host: Host, lab: bool) -> dict[str, Any]:
    """Everything a deploy needs to know about one host (shared by both inventory kinds)."""
    return {
        "govcloud": {
            "site": host.site.value,
            "zone": host.zone.value if host.zone else None,
            "function": host.function,
            "roles": list(host.roles),
            "router": host.router,
            "legs": {leg.zone.value: leg.ip for leg in host.legs},
            "domain": topo.domain,
            "lab": lab,
        },
        **role_data(topo, host),
    }


def groups_of(host: Host) -> list[str]:
    out = [_group(host.site.value)]
    if host.router:
        out.append("router")
    for leg in host.legs if not host.router else ():
        out.append(f"zone_{_group(leg.zone.value)}")
    out += [f"role_{r}" for r in host.roles]
    return out


def _connection(host: Host, lab: Lab | None, topo: Topology) -> dict[str, Any]:
    if lab is not None:
        cm = lab.state_dir / "cm-%C"
        return {
            "ansible_host": host.address,
            "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(lab.key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes "
                f"-o ControlMaster=auto -o ControlPersist=120s -o ControlPath={cm}"
            ),
        }
    conn: dict[str, Any] = {"ansible_host": host.address, "ansible_user": "ops",
                            "ansible_become": True}
    # the jump host is a bastion-role host in the management zone (hosts elsewhere that run
    # the bastion role are its protected targets: roles/bastion)
    bastions = [b for b in topo.with_role("bastion", host.site)
                if b.name != host.name and b.zone == Zone.MANAGEMENT]
    if bastions:
        conn["ansible_ssh_common_args"] = f"-o ProxyJump=ops@{bastions[0].address}"
    return conn


def ansible_inventory(topo: Topology, hosts: list[Host], lab: Lab | None) -> dict[str, Any]:
    """The Ansible YAML inventory (``all.children.<group>.hosts``) for ``hosts``."""
    children: dict[str, dict[str, Any]] = {}
    for host in hosts:
        for g in groups_of(host):
            children.setdefault(g, {"hosts": {}})["hosts"][host.name] = None
    all_hosts = {
        h.name: {**_connection(h, lab, topo), **host_vars(topo, h, lab is not None)} for h in hosts
    }
    return {"all": {"hosts": all_hosts, "children": dict(sorted(children.items()))}}


def pyinfra_inventory(topo: Topology, hosts: list[Host], lab: Lab | None) -> dict[str, list]:
    """pyinfra groups: ``{group: [(name, data) or name]}``; data rides on the ``all`` group."""
    out: dict[str, list] = {}
    entries = []
    for h in hosts:
        conn = _connection(h, lab, topo)
        data: dict[str, Any] = {"ssh_hostname": conn["ansible_host"],
                                "ssh_user": conn["ansible_user"]}
        if lab is not None:
            data.update(
                ssh_key=str(lab.key),
                ssh_known_hosts_file=str(lab.known_hosts),
                ssh_strict_host_key_checking="yes",
            )
        else:
            data["_sudo"] = True
        data.update(host_vars(topo, h, lab is not None))
        entries.append((h.name, data))
        for g in groups_of(h):
            out.setdefault(g, []).append(h.name)
    out["all_hosts"] = entries
    return out


def render_yaml(inv: dict[str, Any]) -> str:
    header = "# Generated from the estate model by govcloud.lab.inventory; do not edit.\n"
    return header + yaml.safe_dump(inv, sort_keys=False, allow_unicode=True, width=100)


def write_lab_inventories(lab: Lab) -> Path:
    """Write the running lab's Ansible inventory into its state dir."""
    topo = lab.topology
    lab.inventory_yml.write_text(render_yaml(ansible_inventory(topo, list(topo.hosts), lab)))
    return lab.inventory_yml


def site_inventory_yaml(topo: Topology, site: str) -> str:
    """The committed production-shaped Ansible inventory of one site."""
    return render_yaml(ansible_inventory(topo, topo.hosts_on(site), None))


def write_site_inventories(topo: Topology, outdir: Path = INVENTORIES) -> list[Path]:
    """Regenerate ``inventories/<site>.yml`` for every site (``govcloud lab inventory``)."""
    written = []
    for site in topo.profile.sites:
        path = outdir / f"{site.value}.yml"
        path.write_text(site_inventory_yaml(topo, site))
        written.append(path)
    return written
