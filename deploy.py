"""Apply each host's roles: ``pyinfra inventories/<site>.py deploy.py``.

pyinfra runs this file once per host. The roles a host runs, and their data, come from
the inventory (``host.data.govcloud.roles`` and ``host.data.<role>``), which is
generated from the estate model and ``estate/lab.yaml``. Roles that are reserved but
not written yet are skipped. ``GOVCLOUD_ROLES=a,b`` restricts the run to those roles.
"""

import os

from pyinfra import host

from govcloud.lab.inventory import role_module

_only = {r for r in os.environ.get("GOVCLOUD_ROLES", "").split(",") if r}

for _role in host.data.govcloud["roles"]:
    if _only and _role not in _only:
        continue
    _mod = role_module(_role)
    if _mod is not None:
        _mod.apply()
