"""log_audit — the central syslog collector (集中审计) with the model's retention.

Stands in for the log-audit appliance in the security-management zone: every zone's
hosts send their records to it (flows ``audit-from-*``, tcp/514; the sending side is
``roles/baseline``'s forwarding), and it keeps them at least
``estate.cloud.audit_retention_days`` (180: GB/T 22239-2019 8.1.4.3 c — audit records
kept ≥ 6 months, and 8.1.10.x 集中管控: audit records collected centrally).

Concerns (flags, secure default = on):

- ``receiver``: rsyslog ``imtcp`` on the audit port, accepting senders only from the
  zones whose audit flows lead here (``$AllowedSender``); one file per sending host and
  day under ``/var/log/remote/<host>/``;
- ``retention``: a daily systemd timer deletes remote log files older than
  ``retention_days`` — and never anything younger (the check refuses a retention below
  the model's floor); ``compress`` gzips files older than a day meanwhile.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate, Protocol, Zone
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.LOG_AUDIT
PACKAGES = ("rsyslog", "gzip", "findutils")
SERVICES = ("rsyslog",)
REMOTE_DIR = "/var/log/remote"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(default=514, ge=1, le=65535)
    senders: list[str] = Field(default=[], description="CIDRs allowed to send")
    retention_days: int = Field(default=180, ge=1)
    min_retention_days: int = Field(default=180, ge=1, description="the model's floor")
    receiver: bool = True
    retention: bool = True
    compress: bool = True
    remote_dir: str = REMOTE_DIR

    @model_validator(mode="after")
    def _floor(self) -> Data:
        if self.retention_days < self.min_retention_days:
            raise ValueError(
                f"retention_days {self.retention_days} is below the model's audit retention "
                f"of {self.min_retention_days} days (estate/cloud.yaml audit_retention_days)")
        return self


def audit_flows(estate: Estate) -> tuple[int, list[str]]:
    """(tcp port, sender CIDRs) of the flows that bring audit records to security-management."""
    ports: set[int] = set()
    senders: set[str] = set(estate.zone(Zone.SECURITY_MANAGEMENT).cidrs.values())
    for flow in estate.zone_flows():
        if flow.destination != Zone.SECURITY_MANAGEMENT:
            continue
        tcp = {p.port for p in flow.ports if p.protocol == Protocol.TCP and p.port == 514}
        if tcp:
            ports |= tcp
            senders |= set(estate.zone(flow.source).cidrs.values())
    if not ports:
        raise LookupError("no flow brings tcp/514 into security-management (estate/flows.yaml)")
    return min(ports), sorted(senders)


def data_for(estate: Estate, host: Any) -> Data:
    """Port and senders from the flow matrix, retention from ``estate.cloud``."""
    port, senders = audit_flows(estate)
    days = estate.cloud.audit_retention_days
    return Data(port=port, senders=senders, retention_days=days, min_retention_days=days)


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data)


@deploy("log_audit")
def apply(data: Data | None = None) -> None:
    """rsyslog receiver + per-host files, retention timer; validated with ``rsyslogd -N1``."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("log_audit"))
    apt.packages(name="rsyslog", packages=list(PACKAGES), update=False, no_recommends=True)
    files.directory(name=d.remote_dir, path=d.remote_dir, user="root", group="adm",
                    mode="750")
    conf = files.put(name="rsyslog: central receiver (imtcp)" if d.receiver else
                     "rsyslog: receiver off", src=StringIO(render("rsyslog-collector.conf.j2", d)),
                     dest="/etc/rsyslog.d/10-govcloud-collector.conf", mode="644")
    server.shell(name="rsyslogd -N1 (validate)", commands=["rsyslogd -N1 -f /etc/rsyslog.conf"],
                 _if=conf.did_change)
    systemd.service(name="rsyslog restart", service="rsyslog", running=True, restarted=True,
                    _if=conf.did_change)
    systemd.service(name="rsyslog running", service="rsyslog", running=True, enabled=True)

    if d.retention:
        units = [
            files.put(name="retention service",
                      src=StringIO(render("govcloud-log-retention.service.j2", d)),
                      dest="/etc/systemd/system/govcloud-log-retention.service", mode="644"),
            files.put(name="retention timer",
                      src=StringIO(render("govcloud-log-retention.timer.j2", d)),
                      dest="/etc/systemd/system/govcloud-log-retention.timer", mode="644"),
        ]
        systemd.daemon_reload(name="daemon-reload (retention)",
                              _if=lambda: any(u.did_change() for u in units))
        systemd.service(name="retention timer active", service="govcloud-log-retention.timer",
                        running=True, enabled=True)
