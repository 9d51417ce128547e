"""ips — an inline intrusion-prevention proxy (nginx + ModSecurity v3 + OWASP CRS, blocking).

Stands in for the IPS (入侵防御) of the ``egov-wan-ingress`` (firewall -> **ips** ->
load-balancer) and ``dedicated-to-extranet`` (firewall -> **ips**) chains — GB/T
22239-2019 8.1.3.3 a/b (入侵防范 at the zone boundary: detect *and stop* attacks from
outside and inside). Every port of those flows is HTTP(S), so an HTTP reverse proxy that
evaluates each request before it is forwarded is inline for all of their traffic; it
refuses an attack (403) instead of banning its source after the fact, as fail2ban does.

*Inline* is enforced by the router, not by convention: the firewall role admits the
flows whose chain names ``ips`` only to the addresses of the hosts running this role
(:func:`roles.firewall.inline_destinations`), so the API behind it is unreachable from
the dedicated zone except through these rules.

Concerns (flags, secure default = on):

- ``modsecurity`` / ``blocking``: the CRS in blocking mode (``DetectionOnly`` when off),
  with the WAF role's engine configuration (one ModSecurity setup for both appliances);
- ``syslog``: every refusal goes to the local syslog and from there to the site's log
  audit (集中审计), tagged ``govcloud_ips``; ``audit_log`` keeps ModSecurity's own record;
- ``tls``: the HTTPS port (443) terminates TLS with the suites the crypto profile
  (``estate/crypto.yaml``) gives the flows it carries, on a key generated on the host at
  first deploy (it never leaves the host; a production IPS gets its certificate from the
  cloud's CA); ``hide_version``.

Listeners come from the flows (their ports toward this host's zone); upstreams are the
lab services' VIPs on the host's site (the load balancer behind the IPS).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pyinfra.api import deploy

from govcloud.model import ApplianceKind, Estate, Protocol
from roles import waf
from roles._render import render as _render

# the appliance of estate/appliances.yaml this role stands in for
APPLIANCE_KIND = ApplianceKind.IPS
PACKAGES = ("nginx", "libnginx-mod-http-modsecurity", "modsecurity-crs", "openssl")
SERVICES = ("nginx",)
RULES_FILE = waf.RULES_FILE
SITE_FILE = "/etc/nginx/conf.d/govcloud-ips.conf"
TLS_DIR = "/etc/nginx/govcloud-ips"
TLS_KEY = f"{TLS_DIR}/key.pem"
TLS_CERT = f"{TLS_DIR}/cert.pem"
SYSLOG_TAG = "govcloud_ips"  # nginx allows letters, digits and underscores only
#: ports that carry TLS (the others of the IPS flows carry plain HTTP, as the lab's API)
HTTPS_PORTS = frozenset({443})


class Listener(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(ge=1, le=65535)
    tls: bool
    flows: list[str] = Field(min_length=1, description="the flows that arrive on this port")


class Upstream(BaseModel):
    """A service behind the IPS: its name (``server_name``) and where requests go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    fqdn: str
    targets: list[str] = Field(min_length=1, description="host:port (the load balancer VIP)")


class Data(waf.ModSecurityEngine):
    hostname: str
    address: str = Field(description="the host's address in its zone: where it listens")
    listeners: list[Listener] = Field(min_length=1)
    upstreams: list[Upstream] = Field(min_length=1)
    syslog: bool = True
    tls: bool = True
    tls_suites: list[str] = Field(default=["TLS_AES_256_GCM_SHA384"],
                                  description="crypto.yaml suites of the flows (1.3 and 1.2)")

    @property
    def tls13_suites(self) -> list[str]:
        return [s for s in self.tls_suites if s.startswith("TLS_")]

    @property
    def tls12_ciphers(self) -> list[str]:
        return [s for s in self.tls_suites if not s.startswith("TLS_")]

    @property
    def tls_protocols(self) -> list[str]:
        return (["TLSv1.2"] if self.tls12_ciphers else []) + ["TLSv1.3"]


def ips_flows(estate: Estate, zone: str) -> list[Any]:
    """The flows whose chain names an IPS and that arrive in ``zone``."""
    return [f for f in estate.flows
            if ApplianceKind.IPS in f.chain and str(f.destination) == str(zone)]


def listeners(estate: Estate, zone: str) -> list[Listener]:
    """One listener per TCP port of the IPS flows into ``zone`` (443 is TLS)."""
    by_port: dict[int, list[str]] = {}
    for flow in ips_flows(estate, zone):
        for p in flow.ports:
            if p.protocol != Protocol.TCP or not p.port:
                raise ValueError(f"flow {flow.id}: {p} cannot pass an HTTP IPS (tcp ports only)")
            by_port.setdefault(p.port, []).append(flow.id)
    return [Listener(port=port, tls=port in HTTPS_PORTS, flows=flows)
            for port, flows in sorted(by_port.items())]


def tls_suites(estate: Estate, flows: list[str]) -> list[str]:
    """The crypto profile's suites for the flows, in profile order, each once."""
    out: list[str] = []
    for ch in estate.crypto:
        if str(ch.kind) == "tls" and ch.flow in flows:
            out += [s for s in ch.suites if s not in out]
    return out


def data_for(estate: Estate, host: Any) -> Data:
    """Listeners from the flow matrix, suites from the crypto profile, upstreams from the
    lab's services on this site (VIP and port of the system's component in the zone)."""
    from roles.loadbalancer import service_component

    zone = str(host.zone)
    lst = listeners(estate, zone)
    if not lst:
        raise LookupError(f"no flow whose chain names ips arrives in zone {zone}")
    topo = host.topology
    ups = []
    for svc in topo.services:
        if str(svc.zone) != zone or host.site not in svc.vips:
            continue
        _system, port = service_component(estate, svc.name, zone)
        ups.append(Upstream(name=svc.name, fqdn=svc.fqdn,
                            targets=[f"{svc.vips[host.site]}:{port}"]))
    tls_flows = sorted({f for li in lst if li.tls for f in li.flows})
    return Data(hostname=host.name, address=host.address, listeners=lst, upstreams=ups,
                tls_suites=tls_suites(estate, tls_flows) or Data.model_fields["tls_suites"].default)


def render(name: str, data: Data) -> str:
    """A rendered template (unit tests use the same function). The ModSecurity engine file
    is the WAF role's template: one CRS setup for both appliances."""
    if name == "modsecurity-main.conf.j2":
        return waf.render(name, data)  # type: ignore[arg-type]  # the shared engine fields
    return _render(__file__, name, d=data)


@deploy("ips")
def apply(data: Data | None = None) -> None:
    """Install nginx + ModSecurity + CRS, the host's TLS key, the proxy; test, reload."""
    from io import StringIO

    from pyinfra import host
    from pyinfra.facts.files import File
    from pyinfra.operations import files, server

    d = data or Data.model_validate(host.data.get("ips"))
    changed = waf.modsecurity_engine(d, PACKAGES)
    if d.tls and any(li.tls for li in d.listeners):
        files.directory(name="TLS dir (root only)", path=TLS_DIR, mode="700")
        # generated here, once: the private key is never in the repo or an inventory. The
        # operation is always planned and decides when it runs, so every deploy plans
        # the same operations
        changed.append(server.shell(
            name="TLS key + self-signed certificate (rsa-2048)",
            commands=[f"openssl req -x509 -newkey rsa:2048 -nodes -days 825 "
                      f"-subj '/CN={d.hostname}' -keyout {TLS_KEY} -out {TLS_CERT}",
                      f"chmod 600 {TLS_KEY}"],
            _if=lambda: not host.get_fact(File, path=TLS_KEY)))
    changed.append(files.put(name="nginx site: IPS in front of the load balancer",
                             src=StringIO(render("ips-site.conf.j2", d)), dest=SITE_FILE,
                             mode="644"))
    waf.reload_nginx_on(changed)
