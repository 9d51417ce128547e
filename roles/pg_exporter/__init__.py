"""pg_exporter — the PostgreSQL and node exporters on every database host, for Prometheus.

Why: a DR-drill lead needs to see region B's replication lag *before* a disaster, not
learn it from the RPO a drill measures. The PostgreSQL exporter publishes, per standby
streaming from this member, the replay lag in seconds and in bytes of WAL
(``govcloud_replication_replay_lag_seconds`` / ``_bytes``, from ``pg_stat_replication``);
roles/monitoring turns the off-site one into a recorded series and an alert.

Concerns (flags, secure default = on):

- ``postgres_exporter``: Debian's prometheus-postgres-exporter as a login role
  ``prometheus`` that is only a member of ``pg_monitor`` (peer authentication over the
  local socket: no password anywhere), with the govcloud replication query;
- ``node_exporter``: Debian's prometheus-node-exporter (CPU, memory, disk, network);
- ``listen_on_zone_leg``: both listen on the host's zone address only, on the ports of
  the ``metrics-scrape`` flow (the firewall admits the scrape from the
  security-management zone and nothing else).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import Estate, Protocol, Zone
from roles._render import render as _render
from roles.db_audit import psql_probe

PACKAGES = ("prometheus-postgres-exporter", "prometheus-node-exporter")
SERVICES = ("prometheus-postgres-exporter", "prometheus-node-exporter")
SCRAPE_FLOW = "metrics-scrape"
POSTGRES_PORT = 9187
NODE_PORT = 9100
QUERIES = "/etc/prometheus/govcloud-postgres-queries.yaml"
DB_ROLE = "prometheus"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = Field(description="the host's address in its zone (where exporters listen)")
    postgres_port: int = Field(default=POSTGRES_PORT, ge=1, le=65535)
    node_port: int = Field(default=NODE_PORT, ge=1, le=65535)
    postgres_exporter: bool = True
    node_exporter: bool = True
    listen_on_zone_leg: bool = True

    def listen(self, port: int) -> str:
        return f"{self.address if self.listen_on_zone_leg else '0.0.0.0'}:{port}"


def scrape_ports(estate: Estate) -> list[int]:
    """The TCP ports of the scrape flow: security-management -> extranet."""
    flow = next((f for f in estate.flows if f.id == SCRAPE_FLOW), None)
    if flow is None or (flow.source, flow.destination) != (Zone.SECURITY_MANAGEMENT,
                                                            Zone.EXTRANET):
        raise LookupError(f"flow {SCRAPE_FLOW} (security-management -> extranet) is not in "
                          "estate/flows.yaml")
    return sorted(p.port for p in flow.ports if p.protocol == Protocol.TCP and p.port)


def data_for(estate: Estate, host: Any) -> Data:
    ports = scrape_ports(estate)
    if ports != sorted((POSTGRES_PORT, NODE_PORT)):
        raise ValueError(f"flow {SCRAPE_FLOW} admits tcp {ports}; the exporters listen on "
                         f"{POSTGRES_PORT} (postgres) and {NODE_PORT} (node)")
    return Data(address=host.address)


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data, db_role=DB_ROLE, queries=QUERIES)


@deploy("pg_exporter")
def apply(data: Data | None = None) -> None:
    """Exporters installed, configured to listen on the zone leg, the monitor role on the
    primary (it replicates to every standby), services running."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("pg_exporter"))
    wanted = [p for p, on in zip(PACKAGES, (d.postgres_exporter, d.node_exporter), strict=True)
              if on]
    # configuration first: the packages start their services at install, and Debian's
    # default (empty) DSN makes the postgres exporter exit until systemd's start limit
    # refuses the restart that would have read ours (measured on the first lab deploy)
    if d.postgres_exporter:
        files.directory(name="/etc/prometheus", path="/etc/prometheus", mode="755")
        q = files.put(name="replication query (lag per standby: seconds, bytes)",
                      src=StringIO(render("postgres-queries.yaml.j2", d)), dest=QUERIES,
                      mode="644")
        env = files.put(name="postgres exporter: local socket as the monitor role, zone leg",
                        src=StringIO(render("prometheus-postgres-exporter.j2", d)),
                        # 0640 as the package's postinst leaves it (it also chowns it to
                        # prometheus): anything else is changed back on every deploy
                        dest="/etc/default/prometheus-postgres-exporter", mode="640")
    if d.node_exporter:
        node = files.put(name="node exporter: zone leg only",
                         src=StringIO(render("prometheus-node-exporter.j2", d)),
                         dest="/etc/default/prometheus-node-exporter", mode="644")
    apt.packages(name="exporters", packages=wanted, update=False, no_recommends=True)
    if d.postgres_exporter:

        def role_missing() -> bool:
            state = host.get_fact(Command, command="true monitor-role; " + psql_probe(
                "select case when pg_is_in_recovery() then 'standby' when exists (select 1 "
                f"from pg_roles where rolname = '{DB_ROLE}') then 'present' else 'missing' end"))
            return state.strip() == "missing"

        server.shell(name=f"monitor role {DB_ROLE} in pg_monitor (primary)",
                     commands=["runuser -u postgres -- psql -Xqc "
                               f"'CREATE ROLE {DB_ROLE} LOGIN IN ROLE pg_monitor'"],
                     _if=role_missing)
        systemd.service(name="postgres exporter restart", service=SERVICES[0], running=True,
                        restarted=True, _if=lambda: q.did_change() or env.did_change())
        systemd.service(name="postgres exporter running", service=SERVICES[0], running=True,
                        enabled=True)
    if d.node_exporter:
        systemd.service(name="node exporter restart", service=SERVICES[1], running=True,
                        restarted=True, _if=node.did_change)
        systemd.service(name="node exporter running", service=SERVICES[1], running=True,
                        enabled=True)
