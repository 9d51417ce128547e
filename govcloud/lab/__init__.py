"""The local lab: the three sites as network namespaces with real (systemd-nspawn) hosts.

Public API (used by the CLI, the lab tests and the drill runner)::

    from govcloud.lab import Lab
    lab = Lab()                      # instance name from $GOVCLOUD_LAB_NAME (default govlab)
    lab.up(); deploy(lab)            # build + boot; apply roles (govcloud.lab.deploy)
    lab.exec_on("dc1-pg", "psql -c 'select 1'")
    lab.address("dc2-pg")            # primary address; lab.address("dc1-gk", "extranet")
    lab.cut_site("region-a-dc1")     # silent: nftables drop in the fabric
    lab.heal_site("region-a-dc1")
    lab.cut_link("region-a-dc1", "region-b-dr", silent=False)  # link down
    lab.heal_link("region-a-dc1", "region-b-dr")
    repoint(lab, "hotline", "region-a-dc2")   # govcloud.lab.dns; resolve(lab, host, name)
    lab.in_fabric()                  # context manager: this thread joins the fabric netns
    lab.down()

Nothing here runs at import time.
"""

from govcloud.lab.engine import Lab, LabError, lab_name
from govcloud.lab.topology import Host, Topology, build_topology, load_topology

__all__ = ["Host", "Lab", "LabError", "Topology", "build_topology", "lab_name", "load_topology"]
