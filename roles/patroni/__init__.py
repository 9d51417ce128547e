"""PostgreSQL 15 under Patroni (Debian packages), for the dual-active data tier.

Region A runs one Patroni cluster with a member in DC1 and one in DC2 in
``synchronous_mode`` (RPO 0 in-city); region B runs a Patroni *standby cluster* that
streams asynchronously from region A and is promoted by removing ``standby_cluster``
from its DCS configuration.

Debian specifics this role handles (LAB-NOTES): ``patroni@.service`` is multi-instance
(``patroni@15-main`` reads ``/etc/patroni/15-main.yml`` and silently skips when it is
missing, ``Restart=no``); installing ``postgresql-15`` creates a ``15/main`` cluster that
must not exist when Patroni bootstraps, so ``create_main_cluster = false`` is set before
the install and a cluster created anyway is dropped.

The failover timings (ttl / loop_wait / retry_timeout) are data, not constants: the
drill reports read them back from the running cluster.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, server, systemd

from govcloud import datatier, secrets
from govcloud.model import Estate

PACKAGES = ("postgresql-15", "postgresql-client-15", "patroni", "python3-psycopg2", "pgbackrest")
TEMPLATES = Path(__file__).parent / "templates"
INSTANCE = "15-main"
CONFIG = f"/etc/patroni/{INSTANCE}.yml"
UNIT = f"patroni@{INSTANCE}"


class Timings(BaseModel):
    """Patroni's failover clock. Defaults (30/10/10) give RTO ~26 s; these ~11 s.

    A silently lost leader's key expires ``ttl - loop_wait`` to ``ttl`` s after the cut;
    the survivor then spends up to 2 s asking the lost member's REST API for its WAL
    position before it promotes. ttl 9 / loop_wait 1 keeps that inside the in-city
    tier's 15 s with room for the application to reconnect (ttl 10 / loop_wait 2 was
    measured at 18.8 s including a 6 s application gap, since removed).

    Cost of the tuning: the leader renews its key every second, so a DCS or network
    stall longer than ``retry_timeout`` (4 s) demotes a healthy leader (a needless
    failover), and the DCS sees ~10x Patroni's default write rate. Patroni requires
    ``loop_wait + 2 * retry_timeout <= ttl``; the model refuses timings that break it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl: int = 9
    loop_wait: int = 1
    retry_timeout: int = 4

    @model_validator(mode="after")
    def _patroni_rule(self) -> Timings:
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError(
                f"loop_wait + 2*retry_timeout must be <= ttl "
                f"({self.loop_wait} + 2*{self.retry_timeout} > {self.ttl})"
            )
        return self


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: str
    name: str
    address: str
    etcd_hosts: list[str] = Field(description="host:port of this cluster's own etcd")
    allowed_cidrs: list[str] = Field(description="networks allowed in pg_hba (from the model)")
    timings: Timings = Timings()
    synchronous_mode: bool = True
    synchronous_mode_strict: bool = False
    port: int = Field(default=5432, description="the database component's port (model)")
    standby_hosts: list[str] | None = Field(
        default=None, description="region A members to stream from: makes a standby cluster"
    )
    app_user: str = "hotline"
    app_database: str = "hotline"
    pgbackrest_stanza: str | None = None
    wal_receiver_timeout: str = "5s"
    parameters: dict[str, str] = Field(
        default={}, description="extra local parameters (pgaudit from roles/db_audit)"
    )
    extra_packages: list[str] = []
    tcp_syn_retries: int = Field(
        default=2,
        ge=1,
        description="kernel SYN retries on this host: PostgreSQL's walreceiver ignores "
        "connect_timeout, so a silently lost upstream holds it for the kernel's whole "
        "SYN back-off (default 6 retries = 127 s) before it tries the next host",
    )


def data_for(estate: Estate, host: Any) -> Data:
    """Region A members get the synchronous cluster; DR-site members the standby cluster."""
    tier = datatier.layout(estate, host.topology.hosts)
    me = next(h for h in tier.primary_region_members + tier.dr_members if h.name == host.name)
    standby = None
    if tier.cluster_of(me) == "b":
        standby = [m.address for m in tier.primary_region_members]
    params: dict[str, str] = {}
    extra: list[str] = []
    if "db_audit" in host.roles:
        # roles/db_audit owns the audit settings; Patroni writes postgresql.conf, so they
        # go into its parameters (and pgaudit is installed before Patroni starts postgres)
        from roles import db_audit

        params = db_audit.settings(db_audit.data_for(estate, host))
        extra = list(db_audit.PACKAGES)
    return Data(
        scope=tier.scope,
        name=host.name,
        parameters=params,
        extra_packages=extra,
        address=host.address,
        etcd_hosts=[f"{e.address}:2379" for e in tier.etcd_cluster_of(_etcd_peer(tier, me))],
        allowed_cidrs=tier.db_zone_cidrs,
        port=tier.db_port,
        standby_hosts=standby,
        pgbackrest_stanza=tier.scope if tier.repo else None,
    )


def _etcd_peer(tier: datatier.DataTier, me: Any) -> Any:
    """The etcd member that decides which DCS this Patroni uses (its own host, or B's)."""
    if me in tier.etcd_b or me in tier.etcd_a:
        return me
    return tier.etcd_b[0] if tier.cluster_of(me) == "b" and tier.etcd_b else tier.etcd_a[0]


SYSCTL_FILE = "/etc/sysctl.d/60-govcloud-patroni.conf"


def kernel_settings(d: Data | None = None) -> dict[str, str]:
    """Per-network-namespace sysctls this role needs. Measured in the DC1-loss drill:
    region B's walreceiver stayed on the silent DC1 address for over a minute (until DC1
    came back) instead of moving to DC2; 2 retries give up after 7 s. A container
    cannot write them, so the lab sets them from outside from this same function."""
    retries = d.tcp_syn_retries if d else Data.model_fields["tcp_syn_retries"].default
    return {"net.ipv4.tcp_syn_retries": str(retries)}


def dcs_settings(d: Data) -> dict[str, Any]:
    """The dynamic settings this role owns in the DCS (``standby_cluster`` it does not:
    promoting region B removes it, and a deploy must not undo a DR decision)."""
    return {
        **d.timings.model_dump(),
        "synchronous_mode": d.synchronous_mode,
        "synchronous_mode_strict": d.synchronous_mode_strict,
    }


def dcs_drift(live: dict[str, Any] | None, d: Data) -> dict[str, Any]:
    """Settings whose live DCS value differs from the model; nothing while Patroni is
    not answering (a cluster still bootstrapping takes them from ``bootstrap.dcs``)."""
    if not live:
        return {}
    return {k: v for k, v in dcs_settings(d).items() if live.get(k) != v}


def edit_config_command(d: Data) -> str:
    sets = " ".join(
        f"-s {k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in dcs_settings(d).items()
    )
    return f"patronictl -c {CONFIG} edit-config --force --quiet {sets}"


def passwords(scope: str) -> dict[str, str]:
    """Resolved on the control machine at deploy time (never in inventories)."""
    return {
        "superuser": secrets.password(f"{scope}/postgres"),
        "replication": secrets.password(f"{scope}/replicator"),
        "app": secrets.password(f"{scope}/app"),
    }


@deploy("patroni")
def apply(data: Data | None = None) -> None:
    d = data or Data.model_validate(host.data.get("patroni"))
    pw = passwords(d.scope)
    files.directory(name="createcluster.d", path="/etc/postgresql-common/createcluster.d")
    files.put(
        name="no 15/main cluster on install (Patroni bootstraps its own)",
        src=str(TEMPLATES / "no-main-cluster.conf"),
        dest="/etc/postgresql-common/createcluster.d/govcloud.conf",
    )
    install = apt.packages(
        name="PostgreSQL 15 and Patroni",
        packages=[*PACKAGES, *d.extra_packages],
        update=False,
    )
    server.shell(
        name="drop a packaged 15/main cluster",
        commands=["if [ -d /etc/postgresql/15/main ]; then pg_dropcluster --stop 15 main; fi"],
        _if=install.did_change,
    )
    kernel = kernel_settings(d)
    conf = files.put(
        name="kernel settings at boot (sysctl.d)",
        src=StringIO("".join(f"{k} = {v}\n" for k, v in kernel.items())),
        dest=SYSCTL_FILE,
        mode="644",
    )
    current = host.get_fact(
        Command,
        command="cat " + " ".join("/proc/sys/" + k.replace(".", "/") for k in kernel),
    ).split()
    # applied now where the host may write them; a container's are set from outside
    # (govcloud lab), so there the step only checks them and fails if they differ
    checks = " && ".join(
        f"grep -qx {v} /proc/sys/{k.replace('.', '/')}" for k, v in kernel.items()
    )
    server.shell(
        name="kernel settings now",
        commands=[
            f"sysctl -q -p {SYSCTL_FILE} 2>/dev/null || {{ {checks}; }} || "
            "{ echo 'kernel settings differ and cannot be written here' >&2; exit 1; }"
        ],
        _if=lambda: conf.did_change() or current != list(kernel.values()),
    )
    files.put(
        name="patroni-check (runbook helper)",
        src=str(Path(__file__).parent / "files" / "patroni-check"),
        dest="/usr/local/bin/patroni-check",
        mode="755",
    )
    files.directory(name="/etc/patroni", path="/etc/patroni", mode="755")
    files.template(
        name="post-bootstrap script (app role and database)",
        src=str(TEMPLATES / "post_bootstrap.sh.j2"),
        dest="/etc/patroni/post_bootstrap.sh",
        user="postgres",
        group="postgres",
        mode="750",
        d=d,
        pw=pw,
    )
    cfg = files.template(
        name="Patroni configuration",
        src=str(TEMPLATES / "patroni.yml.j2"),
        dest=CONFIG,
        user="postgres",
        group="postgres",
        mode="600",
        d=d,
        pw=pw,
    )
    files.directory(name="unit drop-in dir", path=f"/etc/systemd/system/{UNIT}.service.d")
    unit = files.put(
        name="restart Patroni on failure",
        src=str(TEMPLATES / "restart.conf"),
        dest=f"/etc/systemd/system/{UNIT}.service.d/govcloud.conf",
    )
    systemd.daemon_reload(name="systemd reload", _if=unit.did_change)
    started = systemd.service(name="Patroni running", service=UNIT, running=True, enabled=True)
    # A changed config is re-read on SIGHUP (bootstrap.dcs only matters once). Never HUP a
    # Patroni that was only just started: before its handler is installed HUP kills it.
    systemd.service(
        name="Patroni reload on config change",
        service=UNIT,
        reloaded=True,
        _if=lambda: cfg.did_change() and not started.did_change(),
    )

    def drift() -> bool:
        # asked when the operation runs (Patroni may only just have been started), with a
        # command string of its own so no plan-time fact answers it
        out = host.get_fact(
            Command,
            command="true dcs-drift; /usr/local/bin/patroni-check timings 2>/dev/null || true",
        )
        try:
            live = json.loads(out or "{}")
        except ValueError:
            live = {}
        return bool(dcs_drift(live, d))

    # bootstrap.dcs is read once, when the cluster is created: a changed ttl in the model
    # reaches a running cluster only through the DCS
    server.shell(
        name="DCS failover settings match the model",
        commands=[edit_config_command(d)],
        _if=drift,
    )
