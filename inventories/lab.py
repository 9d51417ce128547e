"""pyinfra inventory of the running lab ($GOVCLOUD_LAB_NAME, default govlab).

Run from the lab's fabric namespace, where the lab addresses are reachable::

    ip netns exec govlab-fabric .venv/bin/pyinfra inventories/lab.py deploy.py

(``govcloud lab deploy`` does exactly that.) Generated from the model at load time.
"""

from govcloud.lab.engine import Lab
from govcloud.lab.inventory import pyinfra_inventory

_lab = Lab()
globals().update(pyinfra_inventory(_lab.topology, list(_lab.topology.hosts), _lab))
