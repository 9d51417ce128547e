"""waf — nginx + ModSecurity v3 + OWASP Core Rule Set in front of the internet-zone front end.

Stands in for the WAF (Web 应用防火墙) of the public-web-ingress chain
(anti-ddos -> firewall -> **waf** -> load-balancer) — GB/T 22239-2019 8.1.3.x (安全区域边界:
入侵防范 / 访问控制 at the internet boundary).

Concerns, each behind a flag (secure default = on):

- ``modsecurity``: the ModSecurity engine with the OWASP CRS loaded;
- ``blocking``: ``SecRuleEngine On`` — an anomalous request is refused (403), not only
  logged (``DetectionOnly`` when off);
- ``audit_log``: ModSecurity's audit log of refused requests (集中审计 picks it up);
- ``security_headers`` / ``hide_version``: response hardening;
- ``local_frontend``: when no front-end host exists on the site, the same nginx serves
  the system's static portal on loopback (the internet zone holds "front ends only; no
  databases, no state") and the WAF proxies to it — the WAF still filters every request.

The listening port comes from the flow that reaches the internet zone from the public
internet through a WAF; the front end is the system's internet-zone web component.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, ComponentKind, Estate, External, Protocol, Zone
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.WAF
PACKAGES = ("nginx", "libnginx-mod-http-modsecurity", "modsecurity-crs", "curl")
SERVICES = ("nginx",)
RULES_FILE = "/etc/nginx/modsecurity/govcloud-main.conf"
SITE_FILE = "/etc/nginx/conf.d/govcloud-waf.conf"
PORTAL_ROOT = "/var/www/govcloud-portal"


class ModSecurityEngine(BaseModel):
    """The engine settings ``modsecurity-main.conf.j2`` reads and the nginx hardening the
    WAF and the IPS (roles/ips) share: one CRS setup, one set of flags."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modsecurity: bool = True
    blocking: bool = True
    paranoia_level: int = Field(default=1, ge=1, le=4)
    inbound_anomaly_threshold: int = Field(default=5, ge=1)
    outbound_anomaly_threshold: int = Field(default=4, ge=1)
    audit_log: bool = True
    hide_version: bool = True
    client_max_body_size: str = "10m"


class Data(ModSecurityEngine):
    listen_port: int = Field(default=80, ge=1, le=65535)
    backends: list[str] = Field(default=[], description="front ends host:port (empty: local)")
    security_headers: bool = True
    local_frontend: bool = True
    frontend_port: int = Field(default=8443, ge=1, le=65535)
    portal_title: str = "portal"

    def upstreams(self) -> list[str]:
        """Where the WAF forwards requests that pass the rules."""
        if self.backends:
            return list(self.backends)
        return [f"127.0.0.1:{self.frontend_port}"] if self.local_frontend else []


def ingress_port(estate: Estate) -> int:
    """The plain-HTTP port of the flow from the public internet through a WAF."""
    for flow in estate.flows:
        if flow.source == External.PUBLIC_INTERNET and ApplianceKind.WAF in flow.chain:
            ports = sorted(p.port for p in flow.ports if p.protocol == Protocol.TCP and p.port)
            if 80 in ports:
                return 80
            if ports:
                return ports[0]
    raise LookupError("no flow from public-internet traverses a waf (estate/flows.yaml)")


def frontend(estate: Estate, system: str | None = None) -> tuple[str, int]:
    """(title, port) of the internet-zone web component the WAF protects.

    With ``system`` given, that system; otherwise the first live level-3 system with a web
    component in the internet zone (the portal the lab's service fronts)."""
    for _dept, sys_ in estate.systems():
        if system is not None and sys_.name != system:
            continue
        if not sys_.live:
            continue
        for comp in sys_.components:
            if comp.zone == Zone.INTERNET and comp.kind == ComponentKind.WEB:
                return sys_.title, comp.port
    raise LookupError(f"no internet-zone web component for system {system or '(any)'}")


def _service_system(estate: Estate, host: Any) -> str | None:
    """The estate system behind the lab's first service (``hotline`` -> ``hotline-12345``)."""
    topo = getattr(host, "topology", None)
    for svc in getattr(topo, "services", ()) or ():
        for _dept, sys_ in estate.systems():
            if sys_.name == svc.name or sys_.name.startswith(svc.name + "-"):
                return sys_.name
    return None


def data_for(estate: Estate, host: Any) -> Data:
    """Port from the flow matrix; front ends = the site's ``web`` hosts, else local portal."""
    title, port = frontend(estate, _service_system(estate, host))
    topo = getattr(host, "topology", None)
    backends = []
    if topo is not None:
        backends = [
            f"{h.address}:{port}" for h in topo.with_role("web", host.site) if h.name != host.name
        ]
    return Data(
        listen_port=ingress_port(estate),
        backends=backends,
        frontend_port=port,
        portal_title=title,
    )


def render(name: str, data: Data) -> str:
    """A rendered template of this role (unit tests use the same function)."""
    return _render(__file__, name, d=data)


def modsecurity_engine(d: ModSecurityEngine, packages: tuple[str, ...] = PACKAGES
                       ) -> list[Any]:
    """nginx + ModSecurity + CRS installed, the engine's rules written, Debian's default
    site gone: the part the WAF and the IPS (roles/ips) share. Returns the operations
    whose change means nginx must be reloaded."""
    from io import StringIO

    from pyinfra.operations import apt, files

    apt.packages(name="nginx + ModSecurity + CRS", packages=list(packages), update=False,
                 no_recommends=True)
    files.directory(name="modsecurity dir", path="/etc/nginx/modsecurity", mode="755")
    return [
        files.put(name="ModSecurity: engine + CRS (blocking)" if d.blocking
                  else "ModSecurity: detect only",
                  src=StringIO(render("modsecurity-main.conf.j2", d)), dest=RULES_FILE,
                  mode="644"),
        files.link(name="no default site", path="/etc/nginx/sites-enabled/default",
                   present=False),
    ]


def reload_nginx_on(changed: list[Any]) -> None:
    """``nginx -t`` then reload when any of ``changed`` changed; nginx running either way."""
    from pyinfra.operations import server, systemd

    def any_change() -> bool:
        return any(op.did_change() for op in changed)

    server.shell(name="nginx -t (validate before reload)", commands=["nginx -t -q"],
                 _if=any_change)
    systemd.service(name="nginx reload", service="nginx", running=True, reloaded=True,
                    _if=any_change)
    systemd.service(name="nginx running", service="nginx", running=True, enabled=True)


@deploy("waf")
def apply(data: Data | None = None) -> None:
    """Install nginx + ModSecurity + CRS, write the rules and the site, test, reload."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.operations import files

    d = data or Data.model_validate(host.data.get("waf"))
    changed = modsecurity_engine(d)
    if d.local_frontend and not d.backends:
        files.directory(name="portal root", path=PORTAL_ROOT, mode="755")
        changed.append(files.put(name="portal page", src=StringIO(render("index.html.j2", d)),
                                 dest=f"{PORTAL_ROOT}/index.html", mode="644"))
    changed.append(files.put(name="nginx site: WAF in front of the front end",
                             src=StringIO(render("waf-site.conf.j2", d)), dest=SITE_FILE,
                             mode="644"))
    reload_nginx_on(changed)
