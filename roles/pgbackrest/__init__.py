"""pgBackRest — WAL archive and backups of the data tier, in a repository in region B.

Two sides of one stanza:

* ``db`` side (every Patroni member): ``archive_command`` pushes WAL to the repository
  host over SSH; the member's ``postgres`` user holds the repository's key.
* ``repo`` side (the region-B repository host): owns ``/var/lib/pgbackrest``, reaches the
  members over SSH to take backups (pgBackRest picks the current primary itself) and
  runs the scheduled full backup from the DR tier's ``backup_schedule``.

Keys come in as data (the lab generates one pair per lab instance); SSH host keys are
accepted on first use for these two service users only.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server

from govcloud import datatier, secrets
from govcloud.model import Estate

PACKAGES = ("pgbackrest", "openssh-client")
TEMPLATES = Path(__file__).parent / "templates"
REPO_USER = "pgbackrest"
REPO_PATH = "/var/lib/pgbackrest"


class Side(StrEnum):
    DB = "db"
    REPO = "repo"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Side
    stanza: str
    repo_host: str = Field(description="address of the region-B repository host")
    db_hosts: list[str] = Field(description="addresses of every member of the stanza")
    key: str = Field(description="name of the SSH key pair in the secret store")
    retention_full: int = 2
    backup_cron: str | None = Field(default=None, description="cron schedule (repo side)")

    @property
    def user(self) -> str:
        return "postgres" if self.side == Side.DB else REPO_USER

    @property
    def home(self) -> str:
        return "/var/lib/postgresql" if self.side == Side.DB else REPO_PATH


def data_for(estate: Estate, host: Any) -> Data:
    """Members push WAL to the region-B repository; the repository backs the members up."""
    tier = datatier.layout(estate, host.topology.hosts)
    if not tier.repo:
        raise LookupError("no pgBackRest repository host (pgbackrest role without patroni)")
    members = tier.primary_region_members + tier.dr_members
    return Data(
        side=Side.DB if "patroni" in host.roles else Side.REPO,
        stanza=tier.scope,
        repo_host=tier.repo[0].address,
        db_hosts=[m.address for m in members],
        key=f"{tier.scope}-pgbackrest",
        backup_cron=tier.tier.backup_schedule,
    )


@deploy("pgbackrest")
def apply(data: Data | None = None) -> None:
    d = data or Data.model_validate(host.data.get("pgbackrest"))
    private_key, public_key = secrets.keypair(d.key)
    apt.packages(name="pgBackRest", packages=list(PACKAGES), update=False)
    if d.side == Side.REPO:
        server.user(
            name="repository user",
            user=REPO_USER,
            home=REPO_PATH,
            shell="/bin/bash",
            system=True,
            ensure_home=True,
        )
        files.directory(
            name="repository", path=REPO_PATH, user=REPO_USER, group=REPO_USER, mode="750"
        )
    files.directory(name="~/.ssh", path=f"{d.home}/.ssh", user=d.user, group=d.user, mode="700")
    files.template(
        name="ssh key",
        src=str(TEMPLATES / "key.j2"),
        dest=f"{d.home}/.ssh/id_ed25519",
        user=d.user,
        group=d.user,
        mode="600",
        key=private_key,
    )
    files.template(
        name="authorized key",
        src=str(TEMPLATES / "key.j2"),
        dest=f"{d.home}/.ssh/authorized_keys",
        user=d.user,
        group=d.user,
        mode="600",
        key=public_key,
    )
    files.put(
        name="ssh client config",
        src=str(TEMPLATES / "ssh_config"),
        dest=f"{d.home}/.ssh/config",
        user=d.user,
        group=d.user,
        mode="600",
    )
    files.template(
        name="pgbackrest.conf",
        src=str(TEMPLATES / f"pgbackrest-{d.side}.conf.j2"),
        dest="/etc/pgbackrest.conf",
        mode="644",
        d=d,
        repo_user=REPO_USER,
        repo_path=REPO_PATH,
    )
    if d.side == Side.REPO and d.backup_cron:
        minute, hour, dom, month, dow = d.backup_cron.split()
        server.crontab(
            name="scheduled full backup (DR tier backup_schedule)",
            command=f"pgbackrest --stanza={d.stanza} --type=full backup",
            user=REPO_USER,
            minute=minute,
            hour=hour,
            day_of_month=dom,
            month=month,
            day_of_week=dow,
            cron_name="govcloud-pgbackrest-full",
        )
