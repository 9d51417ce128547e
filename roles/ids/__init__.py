"""ids — fail2ban: detect an SSH brute force and block the attacker (nftables).

Stands in for the IDS/IPS appliances (入侵检测/防范, GB/T 22239-2019 8.1.3.3 and the
cloud extension's 入侵防范): it watches sshd's authentication failures in the journal and,
past ``maxretry`` failures within ``findtime``, bans the source address on *every* port
of the host (nftables set in table ``inet f2b-table``) for ``bantime`` — growing for
repeat offenders (``bantime_increment``). A ``recidive`` jail bans hosts that keep
coming back for a week.

Why fail2ban and not Suricata/CrowdSec: Suricata is not in the Debian mirrors here, and
CrowdSec's detection scenarios come from its online hub; fail2ban's filters ship in the
package, so detection works on a host without internet.

The sshd filter runs in its ``normal`` mode: authentication failures and unknown users
count, bare TCP connects do not — the lab's segmentation probes (plain connects to
port 22) must not get lab hosts banned.

Flags (secure default = on): ``sshd_jail``, ``ban_all_ports`` (else only the SSH port),
``bantime_increment``, ``recidive``. ``ignore`` lists the addresses that are never
banned: loopback and the lab's own tool address (the deploy tool must keep access).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.IDS
PACKAGES = ("fail2ban", "python3-systemd", "nftables")
SERVICES = ("fail2ban",)


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sshd_jail: bool = True
    maxretry: int = Field(default=5, ge=1, le=20)
    findtime_seconds: int = Field(default=600, ge=60)
    bantime_seconds: int = Field(default=3600, ge=60)
    bantime_increment: bool = True
    ban_all_ports: bool = True
    recidive: bool = True
    ignore: list[str] = ["127.0.0.1/8", "::1"]


def data_for(estate: Estate, host: Any) -> Data:
    """Secure defaults; never ban the lab's tool address on the host's zones."""
    topo = getattr(host, "topology", None)
    tools = getattr(topo, "tool_addresses", {}) or {}
    ignore = ["127.0.0.1/8", "::1"]
    for leg in host.legs:
        tool = tools.get((host.site, leg.zone))
        if tool is not None:
            ignore.append(f"{tool.ip}/32")
    return Data(ignore=ignore)


def render(name: str, data: Data) -> str:
    return _render(__file__, name, d=data)


@deploy("ids")
def apply(data: Data | None = None) -> None:
    """fail2ban with the jails enabled by the flags, validated, running."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.operations import apt, files, server, systemd

    d = data or Data.model_validate(host.data.get("ids"))
    apt.packages(name="fail2ban", packages=list(PACKAGES), update=False, no_recommends=True)
    jail = files.put(name="fail2ban jails (sshd, recidive)",
                     src=StringIO(render("jail.local.j2", d)),
                     dest="/etc/fail2ban/jail.d/govcloud.local", mode="644")
    # Debian's own defaults file enables sshd against /var/log/auth.log; ours replaces it
    debian = files.file(name="no Debian jail defaults", path="/etc/fail2ban/jail.d/"
                        "defaults-debian.conf", present=False)
    server.shell(name="fail2ban-client -t (validate)", commands=["fail2ban-client -t"],
                 _if=lambda: jail.did_change() or debian.did_change())
    systemd.service(name="fail2ban restart", service="fail2ban", running=True, restarted=True,
                    _if=lambda: jail.did_change() or debian.did_change())
    systemd.service(name="fail2ban running", service="fail2ban", running=True, enabled=True)
