"""Apply each host's roles: ``pyinfra inventories/<site>.py deploy.py``.

pyinfra runs this file once per host. The roles a host runs, and their data, come from
the inventory (``host.data.govcloud.roles`` and ``host.data.<role>``), which is
generated from the estate model and ``estate/lab.yaml``. Roles that are reserved but
not written yet are skipped. ``GOVCLOUD_ROLES=a,b`` restricts the run to those roles.

Why one line per role: pyinfra orders operations across hosts by the *line numbers* of
the call stack below this file, without regard to which file a line is in. Applying
every role from the same loop line made operations of different roles (e.g. line 120 of
one role, line 120 of another) share order keys, and hosts running different role sets
produced contradictory orders ("Cycle detected in operation ordering DAG"). Each role
is therefore applied from a call site of its own, in ``ORDER`` — one global order that
agrees with every host's order in ``estate/lab.yaml`` (tests/lab/test_deploy_order.py).

The baseline's integrity seal is the last line: it rebuilds the file-integrity baseline
when this run changed the host, whichever roles the run was restricted to.
"""

import os

from pyinfra import host

from govcloud.lab.inventory import role_module

_only = {r for r in os.environ.get("GOVCLOUD_ROLES", "").split(",") if r}
_mine = list(host.data.govcloud["roles"])

ORDER = ("baseline", "firewall", "anti_ddos", "dns", "log_audit", "monitoring", "waf", "ids",
         "ips", "loadbalancer", "gatekeeper", "bastion", "etcd", "postgres", "patroni",
         "db_audit", "pg_exporter", "pgbackrest", "app")
_unknown = [r for r in _mine if r not in ORDER]
if _unknown:
    raise SystemExit(f"deploy.py: role(s) {_unknown} have no place in ORDER; add them there")


def _apply(role: str) -> None:
    if role in _mine and (not _only or role in _only):
        mod = role_module(role)
        if mod is not None:
            mod.apply()


_apply("baseline")
_apply("firewall")
_apply("anti_ddos")
_apply("dns")
_apply("log_audit")
_apply("monitoring")
_apply("waf")
_apply("ids")
_apply("ips")
_apply("loadbalancer")
_apply("gatekeeper")
_apply("bastion")
_apply("etcd")
_apply("postgres")
_apply("patroni")
_apply("db_audit")
_apply("pg_exporter")
_apply("pgbackrest")
_apply("app")

if "baseline" in _mine:
    _seal = role_module("baseline")
    if _seal is not None:
        _seal.seal()
