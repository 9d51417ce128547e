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
from pyinfra.operations import apt, files, server, systemd

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
    files.directory(
        name="log dir", path="/var/log/pgbackrest", user=d.user, group=d.user, mode="750"
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
        unit = files.template(
            name="full backup service", src=str(TEMPLATES / "pgbackrest-full.service.j2"),
            dest="/etc/systemd/system/pgbackrest-full.service", d=d, repo_user=REPO_USER,
        )
        timer = files.template(
            name="full backup timer (DR tier backup_schedule)",
            src=str(TEMPLATES / "pgbackrest-full.timer.j2"),
            dest="/etc/systemd/system/pgbackrest-full.timer",
            on_calendar=on_calendar(d.backup_cron), cron=d.backup_cron,
        )
        systemd.daemon_reload(
            name="systemd reload", _if=lambda: unit.did_change() or timer.did_change()
        )
        systemd.service(
            name="backup timer enabled", service="pgbackrest-full.timer", running=True,
            enabled=True,
        )


def on_calendar(cron: str) -> str:
    """A systemd OnCalendar= for a five-field cron schedule (numbers, lists, ``*``).

    The lab hosts (and minimal servers) have no cron daemon; systemd timers are there.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"backup_schedule {cron!r} is not a five-field cron expression")
    minute, hour, dom, month, dow = (f.replace("*/", "0/") for f in fields)
    days = {"0": "Sun", "1": "Mon", "2": "Tue", "3": "Wed", "4": "Thu", "5": "Fri", "6": "Sat",
            "7": "Sun"}
    wd = "" if dow == "*" else ",".join(days[x] for x in dow.split(",")) + " "
    return f"{wd}*-{month}-{dom} {hour}:{minute}:00"
