"""pyinfra inventory of region-a-dc2 (production-shaped), generated from the estate model.

    pyinfra inventories/region-a-dc2.py deploy.py

Same hosts, roles and addresses as the committed Ansible inventory `region-a-dc2.yml`
(regenerate it with `govcloud lab inventory`); hosts are reached as `ops` with sudo.
"""

from govcloud.lab.inventory import pyinfra_inventory
from govcloud.lab.topology import load_topology

_topo = load_topology()
globals().update(pyinfra_inventory(_topo, _topo.hosts_on("region-a-dc2"), None))
