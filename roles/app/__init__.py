"""app — the 12345 hotline ticket service (``hotline-12345`` of ``data-bureau``).

The sample migrated e-government system the DR drills write through: a small stdlib
HTTP service (``files/hotline.py``) under systemd, one instance per site, behind the
site's load balancer. Its database connection string lists the Patroni members with
the local site first and ``target_session_attrs=read-write``, so a new connection finds
whichever member leads. Timeouts are on the *connection* (connect_timeout, TCP
keepalives, tcp_user_timeout) and never on statements (LAB-NOTES: a cancelled
synchronous-commit wait would acknowledge a write that exists only locally).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, systemd

from govcloud import datatier, secrets
from govcloud.model import Estate

PACKAGES = ("python3", "python3-psycopg2")
HERE = Path(__file__).parent
SYSTEM = "hotline-12345"
DEPARTMENT = "data-bureau"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str
    port: int = Field(description="the api component's port, from the model")
    db_hosts: list[str] = Field(description="database members, local site first")
    db_port: int = 5432
    db_name: str = "hotline"
    db_user: str = "hotline"
    secret: str = Field(description="name of the database password in the secret store")
    connect_timeout: int = 2
    tcp_user_timeout_ms: int = 4000

    def dsn(self, password: str) -> str:
        return (
            f"host={','.join(self.db_hosts)} port={self.db_port} dbname={self.db_name} "
            f"user={self.db_user} password={password} "
            f"target_session_attrs=read-write connect_timeout={self.connect_timeout} "
            f"keepalives=1 keepalives_idle=2 keepalives_interval=1 keepalives_count=2 "
            f"tcp_user_timeout={self.tcp_user_timeout_ms} application_name={SYSTEM}@{self.site}"
        )


def data_for(estate: Estate, host: Any) -> Data:
    """Region A apps reach region A's members (local DC first); the DR app its own site's."""
    tier = datatier.layout(estate, host.topology.hosts)
    members = [m for m in tier.dr_members if m.site == host.site] or tier.primary_region_members
    return Data(
        site=str(host.site),
        port=tier.app_port,
        db_hosts=[m.address for m in datatier.local_first(members, host.site)],
        db_port=tier.db_port,
        secret=f"{tier.scope}/app",
    )


@deploy("app")
def apply(data: Data | None = None) -> None:
    d = data or Data.model_validate(host.data.get("app"))
    apt.packages(name="python3 + psycopg2", packages=list(PACKAGES), update=False)
    files.directory(name="/opt/hotline", path="/opt/hotline", mode="755")
    code = files.put(
        name="hotline service",
        src=str(HERE / "files" / "hotline.py"),
        dest="/opt/hotline/hotline.py",
        mode="755",
    )
    env = files.template(
        name="hotline environment (DSN)",
        src=str(HERE / "templates" / "hotline.env.j2"),
        dest="/etc/default/hotline-12345",
        mode="600",
        d=d,
        dsn=d.dsn(secrets.password(d.secret)),
    )
    unit = files.template(
        name="hotline unit",
        src=str(HERE / "templates" / "hotline-12345.service.j2"),
        dest="/etc/systemd/system/hotline-12345.service",
        d=d,
    )
    systemd.daemon_reload(name="systemd reload", _if=unit.did_change)
    systemd.service(
        name="hotline running",
        service="hotline-12345",
        running=True,
        enabled=True,
        restarted=False,
        _if=lambda: not (code.did_change() or env.did_change() or unit.did_change()),
    )
    systemd.service(
        name="hotline restarted on change",
        service="hotline-12345",
        running=True,
        enabled=True,
        restarted=True,
        _if=lambda: code.did_change() or env.did_change() or unit.did_change(),
    )
