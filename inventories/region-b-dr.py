"""pyinfra inventory of region-b-dr (production-shaped), generated from the estate model.

    pyinfra inventories/region-b-dr.py deploy.py

Same hosts, roles and addresses as the committed Ansible inventory `region-b-dr.yml`
(regenerate it with `govcloud lab inventory`); hosts are reached as `ops` with sudo.
"""

from govcloud.lab.inventory import pyinfra_inventory
from govcloud.lab.topology import load_topology

_topo = load_topology()
globals().update(pyinfra_inventory(_topo, _topo.hosts_on("region-b-dr"), None))
