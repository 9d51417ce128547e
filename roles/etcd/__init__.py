"""etcd — the distributed configuration store (DCS) Patroni elects its leader in.

Two clusters are built from this role, never one shared cluster (LAB-NOTES: a region-B
cluster sharing region A's etcd loses quorum with region A):

* region A's cluster: a member in DC1, one in DC2 and a *witness* in region B, so
  quorum (2 of 3) survives the loss of either DC;
* region B's own single-member cluster for the DR standby cluster, which must keep
  working when region A is gone.

``ETCD_PRE_VOTE=true`` stops an isolated member from disrupting the cluster when it
rejoins (etcd 3.4 default is off; without it terms jump and the cluster is leaderless
for ~4 s after a heal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files, server, systemd

from govcloud import datatier
from govcloud.model import Estate

PACKAGES = ("etcd-server", "etcd-client")
TEMPLATES = Path(__file__).parent / "templates"


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="member name (the lab host name)")
    address: str = Field(description="address the member listens and advertises on")
    cluster: dict[str, str] = Field(description="member name -> address, the whole cluster")
    token: str = Field(description="initial-cluster-token: which cluster this member joins")
    heartbeat_ms: int = 100
    election_ms: int = 1000
    pre_vote: bool = True

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{n}=http://{a}:2380" for n, a in sorted(self.cluster.items()))

    @property
    def client_urls(self) -> list[str]:
        return [f"{a}:2379" for _, a in sorted(self.cluster.items())]


def data_for(estate: Estate, host: Any) -> Data:
    """Region A's cluster (DC members + region-B witness) or region B's own cluster."""
    tier = datatier.layout(estate, host.topology.hosts)
    me = next(h for h in tier.etcd_a + tier.etcd_b if h.name == host.name)
    members = tier.etcd_cluster_of(me)
    region = "b" if members is tier.etcd_b else "a"
    return Data(
        name=host.name,
        address=host.address,
        cluster={m.name: m.address for m in members},
        token=f"{tier.scope}-{region}",
    )


@deploy("etcd")
def apply(data: Data | None = None) -> None:
    d = data or Data.model_validate(host.data.get("etcd"))
    apt.packages(name="etcd packages", packages=list(PACKAGES), update=False)
    cfg = files.template(
        name="etcd member configuration",
        src=str(TEMPLATES / "etcd.default.j2"),
        dest="/etc/default/etcd",
        mode="644",
        d=d,
    )
    files.directory(name="unit drop-in dir", path="/etc/systemd/system/etcd.service.d")
    unit = files.put(
        name="etcd restarts on failure",
        src=str(TEMPLATES / "restart.conf"),
        dest="/etc/systemd/system/etcd.service.d/govcloud.conf",
    )
    systemd.daemon_reload(name="systemd reload", _if=unit.did_change)
    # The package starts a single-node etcd on install; a member whose data dir belongs
    # to another cluster (that one, or an older token) can never join. Start clean
    # exactly when the membership configuration changed.
    server.shell(
        name="etcd: reset data dir for new membership",
        commands=[
            "systemctl stop etcd",
            "sleep 1",
            f"rm -rf /var/lib/etcd/{d.token}.etcd /var/lib/etcd/default",
        ],
        _if=cfg.did_change,
    )
    # A new member's start only completes once a quorum of its peers is up, and pyinfra
    # starts all members at once: the first attempt can time out on every member while
    # the others are still coming up. Retry (as systemd's Restart=on-failure does)
    # instead of failing the host out of the rest of the deploy.
    systemd.service(
        name="etcd running",
        service="etcd",
        running=True,
        enabled=True,
        restarted=False,
        _if=cfg.did_not_change,
        _retries=6,
        _retry_delay=5,
    )
    systemd.service(
        name="etcd (re)started",
        service="etcd",
        running=True,
        enabled=True,
        restarted=True,
        _if=cfg.did_change,
        _retries=6,
        _retry_delay=5,
    )
