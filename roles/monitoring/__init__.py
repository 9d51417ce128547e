"""monitoring — Prometheus in the security-management zone, watching replication lag.

Why: region B's standby streams asynchronously over the shaped inter-region link; at a
month-end peak the link can fall behind, and a region-A loss at that moment loses more
than the tier's ``offsite_rpo_seconds``. This role makes that visible before a disaster:
every site's log-audit host runs a Prometheus that scrapes every database host of the
data tier (roles/pg_exporter), records the off-site lag and alerts when it exceeds the
target. All thresholds come from the model (the hotline system's DR tier); nothing is
typed twice.

Series and alerts (``govcloud-rules.yml``):

- ``govcloud:offsite_replay_lag_seconds`` / ``govcloud:offsite_replay_lag_bytes``: the
  lag of the standbys on DR sites (region B's Patroni members), worst member;
- ``govcloud:offsite_backlog_seconds``: the bytes not yet replayed in region B divided by
  the inter-region link's bandwidth (``estate/sites.yaml``): how long the backlog needs to
  cross. PostgreSQL's ``replay_lag`` times WAL from when the *sender* read it, so while
  the link is the bottleneck it under-reads (measured: 5.4 s with 266 MB, 21 s of link
  time, outstanding); the backlog seconds do not;
- ``OffsiteReplicationLagOverRpo``: either figure is above ``offsite_rpo_seconds``;
- ``OffsiteStandbyNotStreaming``: no off-site standby streams from any region-A member
  (a broken link would otherwise read as "no lag").

Concerns (flags, secure default = on): ``local_only`` (Prometheus listens on loopback
only: no flow admits anyone to it; operators use it through the bastion), ``alerts``,
``node_metrics`` (scrape the node exporters too).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud import datatier
from govcloud.model import Estate
from roles._render import render as _render

PACKAGES = ("prometheus",)
SERVICES = ("prometheus",)
CONFIG = "/etc/prometheus/prometheus.yml"
RULES = "/etc/prometheus/govcloud-rules.yml"
LAG_SERIES = "govcloud:offsite_replay_lag_seconds"
BACKLOG_SERIES = "govcloud:offsite_backlog_seconds"
LAG_ALERT = "OffsiteReplicationLagOverRpo"


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    site: str
    address: str


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str
    cluster: str = Field(description="the Patroni scope of the data tier")
    system: str
    tier: str
    offsite_rpo_seconds: int = Field(ge=0)
    offsite_standbys: list[str] = Field(min_length=1, description="Patroni member names")
    offsite_link_bytes_per_second: int = Field(
        gt=0, description="the slowest link from region A's members to the DR site")
    targets: list[Target] = Field(min_length=1)
    postgres_port: int = Field(ge=1, le=65535)
    node_port: int = Field(ge=1, le=65535)
    scrape_interval_seconds: int = Field(default=5, ge=1, le=300)
    retention_days: int = Field(default=15, ge=1)
    listen: str = "127.0.0.1:9090"
    local_only: bool = True
    alerts: bool = True
    node_metrics: bool = True

    @property
    def listen_address(self) -> str:
        return self.listen if self.local_only else "0.0.0.0:" + self.listen.rsplit(":", 1)[1]

    @property
    def standby_regex(self) -> str:
        return "|".join(self.offsite_standbys)


def data_for(estate: Estate, host: Any) -> Data:
    """Targets: the data tier's Patroni members on every site; the off-site standbys and
    the threshold: the hotline system's DR tier (estate/dr-tiers.yaml)."""
    from roles import pg_exporter

    tier = datatier.layout(estate, host.topology.hosts)
    members = tier.primary_region_members + tier.dr_members
    links = tier.offsite_links(estate)
    if not links:
        raise LookupError("no link joins region A's database sites to the DR site "
                          "(estate/sites.yaml links)")
    mbps = min(li.bandwidth for li in links)
    return Data(
        offsite_link_bytes_per_second=int(mbps * 1_000_000 / 8),
        site=str(host.site),
        cluster=tier.scope,
        system=datatier.SYSTEM,
        tier=str(tier.tier.name),
        offsite_rpo_seconds=tier.tier.offsite_rpo_seconds,
        offsite_standbys=[m.name for m in tier.dr_members],
        targets=[Target(name=m.name, site=str(m.site), address=m.address) for m in members],
        postgres_port=pg_exporter.POSTGRES_PORT,
        node_port=pg_exporter.NODE_PORT,
    )


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data, lag_series=LAG_SERIES, lag_alert=LAG_ALERT,
                   backlog_series=BACKLOG_SERIES, rules=RULES)


@deploy("monitoring")
def apply(data: Data | None = None) -> None:
    """Prometheus installed, configured (checked with promtool before it is used), on
    loopback, with the recording and alert rules; reloaded when they change."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("monitoring"))
    apt.packages(name="prometheus", packages=list(PACKAGES), update=False, no_recommends=True)
    files.directory(name="/etc/govcloud", path="/etc/govcloud", mode="755")
    staged = [
        files.put(name="stage rules (off-site lag, alerts from the DR tier)",
                  src=StringIO(render("govcloud-rules.yml.j2", d)),
                  dest="/etc/govcloud/prometheus-rules.yml", mode="644"),
        files.put(name="stage prometheus.yml (the data tier's exporters)",
                  src=StringIO(render("prometheus.yml.j2", d)),
                  dest="/etc/govcloud/prometheus.yml", mode="644"),
    ]
    server.shell(
        name="promtool check, install, reload",
        commands=["promtool check rules /etc/govcloud/prometheus-rules.yml >/dev/null",
                  f"install -m 0644 /etc/govcloud/prometheus-rules.yml {RULES}",
                  # the staged config names the installed rules file: check it in place
                  f"install -m 0644 /etc/govcloud/prometheus.yml {CONFIG}.new",
                  f"promtool check config {CONFIG}.new >/dev/null",
                  f"mv {CONFIG}.new {CONFIG}",
                  "systemctl reload-or-restart prometheus"],
        _if=lambda: any(op.did_change() for op in staged))
    defaults = files.put(name="prometheus: listen address and retention",
                         src=StringIO(render("prometheus-defaults.j2", d)),
                         dest="/etc/default/prometheus", mode="644")
    systemd.service(name="prometheus restart (arguments changed)", service="prometheus",
                    running=True, restarted=True, _if=defaults.did_change)
    systemd.service(name="prometheus running", service="prometheus", running=True,
                    enabled=True)
