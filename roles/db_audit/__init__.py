"""db_audit — pgaudit on the PostgreSQL hosts, its records shipped to the log audit.

Stands in for the database-audit appliance (数据库审计) on the ``management-to-extranet``
chain (bastion -> firewall -> **db-audit**): GB/T 22239-2019 8.1.4.3 / 8.1.5.x (安全审计
of privileged and data-changing operations, centrally collected).

This role owns only the audit configuration; the database itself belongs to the
PostgreSQL / Patroni roles. It provides:

- ``settings(data)``: the PostgreSQL parameters (``shared_preload_libraries``,
  ``pgaudit.*``, syslog destination). For a Debian cluster the deploy writes them as a
  ``conf.d`` drop-in and restarts the cluster when pgaudit is not loaded yet. A Patroni
  member gets its postgresql.conf from Patroni, which reads no conf.d: the Patroni role
  merges ``settings(host.data.db_audit)`` into its ``postgresql.parameters``, so the
  server starts with pgaudit from bootstrap on and never needs a restart for it.
  ``manager = "auto"`` (default) tells the two apart on the host when the operations
  run (a Patroni config present -> Patroni), after the database roles before it ran;
- ``CREATE EXTENSION pgaudit`` on the primary once pgaudit is loaded (guarded: zero
  changes when present or on a standby).

Flags (secure default = on): ``audit`` (load pgaudit and log the classes),
``log_relation`` (one record per table touched), ``to_syslog`` (records go to syslog
facility ``local0`` — which roles/baseline forwards to the site's log-audit host),
``create_extension``. ``log_parameter`` is off by default: bind values may carry
personal data (个人信息), which an audit trail should not copy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate
from roles._render import render as _render

PG_VERSION = "15"
# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.DB_AUDIT
PACKAGES = (f"postgresql-{PG_VERSION}-pgaudit",)
SERVICES: tuple[str, ...] = ()
CLASSES = ("read", "write", "function", "role", "ddl", "misc", "misc_set", "all")


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pg_version: str = PG_VERSION
    cluster: str = "main"
    manager: Literal["auto", "debian", "patroni"] = "auto"
    audit: bool = True
    log_classes: list[str] = ["ddl", "role", "write", "misc_set"]
    log_relation: bool = True
    log_parameter: bool = False
    log_catalog: bool = False
    to_syslog: bool = True
    syslog_facility: str = Field(default="local0", pattern=r"^local[0-7]$")
    syslog_ident: str = "postgres"
    create_extension: bool = True
    extra_preload: list[str] = Field(default=[], description="other preloaded libraries")

    @field_validator("log_classes")
    @classmethod
    def _classes(cls, v: list[str]) -> list[str]:
        for c in v:
            if c.lstrip("-") not in CLASSES:
                raise ValueError(f"unknown pgaudit.log class {c!r} (known: {', '.join(CLASSES)})")
        if not v:
            raise ValueError("log_classes is empty: nothing would be audited")
        return v

    @property
    def conf_dir(self) -> str:
        return f"/etc/postgresql/{self.pg_version}/{self.cluster}/conf.d"

    @property
    def unit(self) -> str:
        return f"postgresql@{self.pg_version}-{self.cluster}"


def settings(d: Data) -> dict[str, str]:
    """PostgreSQL parameters for pgaudit (values as postgresql.conf text, unquoted)."""
    if not d.audit:
        return {}
    out = {
        "shared_preload_libraries": ",".join([*d.extra_preload, "pgaudit"]),
        "pgaudit.log": ",".join(d.log_classes),
        "pgaudit.log_catalog": "on" if d.log_catalog else "off",
        "pgaudit.log_relation": "on" if d.log_relation else "off",
        "pgaudit.log_parameter": "on" if d.log_parameter else "off",
        "pgaudit.log_level": "log",
    }
    if d.to_syslog:
        out.update({
            "log_destination": "stderr,syslog",
            "syslog_facility": d.syslog_facility.upper(),
            "syslog_ident": d.syslog_ident,
        })
    return out


def data_for(estate: Estate, host: Any) -> Data:
    """Secure defaults; who writes postgresql.conf is found on the host (``auto``)."""
    return Data()


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data, settings=settings(data))


def psql_probe(sql: str) -> str:
    """A shell probe: the answer of a local superuser query, or ``down``."""
    return f"runuser -u postgres -- psql -XAtqc \"{sql}\" 2>/dev/null || echo down"


@deploy("db_audit")
def apply(data: Data | None = None) -> None:
    """pgaudit package, the conf.d drop-in, restart when not loaded, extension on the primary.

    The restart and extension decisions are taken when the operations *run* (``_if``
    callables asking the live server), not when the deploy is planned: PostgreSQL may be
    installed or started by an earlier role of the same deploy."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.server import Command
    from pyinfra.operations import apt, files, server

    d = data or Data.model_validate(host.data.get("db_audit"))
    apt.packages(name="pgaudit", packages=list(PACKAGES), update=False, no_recommends=True)

    def live(sql: str, tag: str) -> str:
        # a command string of its own per call site, so no plan-time fact answers it
        return host.get_fact(Command, command=f"true {tag}; {psql_probe(sql)}").strip()

    def debian() -> bool:
        if d.manager != "auto":
            return d.manager == "debian"
        found = host.get_fact(Command, command="true manager-check; test -e /etc/patroni/"
                              f"{d.pg_version}-{d.cluster}.yml && echo patroni || echo debian")
        return found.strip() == "debian"

    files.directory(name="conf.d", path=d.conf_dir, user="postgres", group="postgres",
                    mode="755", _if=debian)
    files.put(name="pgaudit drop-in", src=StringIO(render("pgaudit.conf.j2", d)),
              dest=f"{d.conf_dir}/50-govcloud-pgaudit.conf", user="postgres",
              group="postgres", mode="644", _if=debian)
    if not d.audit:
        return

    def plain_cluster_needs_restart() -> bool:
        if not debian():
            return False
        active = host.get_fact(
            Command, command=f"true restart-check; systemctl is-active {d.unit} || true")
        if active.strip() != "active":
            return False  # Patroni-managed or stopped: its own start reads the settings
        return "pgaudit" not in live("show shared_preload_libraries", "preload-check")

    server.shell(name="restart PostgreSQL to load pgaudit (shared_preload_libraries)",
                 commands=[f"systemctl restart {d.unit}"], _if=plain_cluster_needs_restart)
    if d.create_extension:
        def extension_missing() -> bool:
            state = live("select case when not current_setting('shared_preload_libraries') "
                         "like '%pgaudit%' then 'not-loaded' when pg_is_in_recovery() then "
                         "'standby' when exists (select 1 from pg_extension where "
                         "extname = 'pgaudit') then 'present' else 'missing' end",
                         "extension-check")
            return state == "missing"

        server.shell(name="CREATE EXTENSION pgaudit (primary)",
                     commands=["runuser -u postgres -- psql -Xqc "
                               "'CREATE EXTENSION IF NOT EXISTS pgaudit'"],
                     _if=extension_missing)
