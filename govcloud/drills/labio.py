"""The drill runner's hands on the lab: commands on hosts, faults, DNS, the outside view.

Everything here goes through the lab engine's API (``govcloud.lab``): ``exec_on`` for
commands on hosts, ``cut_site``/``heal_site`` for silent cuts (nftables drops in the
fabric) and the ``dns`` role's repoint hook. The one addition is the *outside view*:
the lab's fabric namespace can reach every site over its out-of-band legs even while a
site is cut (that is what lets tools fence a lost site), so the citizens' client and the
GSLB probes run there as an unprivileged user whose traffic to a lost site is dropped
too — a lost DC is lost for the public as well.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcloud.model import SiteName

OUTSIDE = "outside"  # pseudo-host: the public's vantage point (fabric, unprivileged)
OUTSIDE_UID = 65534
TEMPLATE_RE = re.compile(r"\{\{\s*(\w+)((?:\s+[\w.-]+)*)\s*\}\}")


@dataclass
class Result:
    rc: int
    out: str
    err: str


class LabIO:
    """Adapter over a running :class:`govcloud.lab.engine.Lab`."""

    def __init__(self, lab: Any):
        self.lab = lab
        self.topo = lab.topology
        self.estate = self.topo.estate
        self._outside_cut: set[SiteName] = set()
        self._dns_records = {s.name: s.vips[s.primary] for s in self.topo.services}

    # ---------------------------------------------------------------- naming

    def render(self, text: str) -> str:
        """Expand ``{{addr HOST}}``, ``{{vip SERVICE SITE}}``, ``{{port SERVICE}}``."""

        def sub(m: re.Match[str]) -> str:
            fn, args = m.group(1), m.group(2).split()
            if fn == "addr" and len(args) == 1:
                return self.topo.address(args[0])
            if fn == "vip" and len(args) == 2:
                return self.topo.service(args[0]).vips[SiteName(args[1])]
            if fn == "port" and len(args) == 1:
                from govcloud import datatier

                return str(datatier.layout(self.estate, self.topo.hosts).app_port)
            raise ValueError(f"unknown template {m.group(0)!r}")

        return TEMPLATE_RE.sub(sub, text)

    # ---------------------------------------------------------------- commands

    def _as_citizen(self, *argv: str) -> list[str]:
        """``argv`` in the fabric namespace as the unprivileged "outside" user: the
        public's vantage point, for probes and for the drill load alike."""
        return [
            "ip", "netns", "exec", self.lab.fabric, "setpriv", f"--reuid={OUTSIDE_UID}",
            f"--regid={OUTSIDE_UID}", "--clear-groups", *argv,
        ]

    def run(self, host: str, cmd: str, timeout: float) -> Result:
        """Run a shell command on a lab host, or outside (the public's vantage point)."""
        try:
            if host == OUTSIDE:
                res = subprocess.run(
                    self._as_citizen("/bin/sh", "-c", cmd),
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    cwd="/",
                )
            else:
                res = self.lab.exec_on(host, ["/bin/bash", "-c", cmd], timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result(124, "", f"timed out after {timeout:.0f}s")
        return Result(res.returncode, res.stdout, res.stderr)

    def psql(self, host: str, sql: str, db: str = "hotline", timeout: float = 30) -> Result:
        cmd = f"runuser -u postgres -- psql -X -qAt -d {db} -c {shlex.quote(sql)}"
        return self.run(host, cmd, timeout)

    # ---------------------------------------------------------------- faults

    def cut(self, site: str) -> None:
        """Silent cut of a site (lab API), and the public loses it too."""
        self.lab.cut_site(site, silent=True)
        self._outside_cut.add(SiteName(site))
        self._render_outside()

    def heal(self, site: str) -> None:
        self.lab.heal_site(site)
        self._outside_cut.discard(SiteName(site))
        self._render_outside()

    def heal_all(self) -> None:
        for site in self.estate.sites:
            self.lab.heal_site(site.name)
        self._outside_cut.clear()
        self._render_outside()

    def _render_outside(self) -> None:
        cidrs = sorted(
            cidr for z in self.estate.zones for s, cidr in z.cidrs.items() if s in self._outside_cut
        )
        drop = (
            f"    meta skuid {OUTSIDE_UID} ip daddr {{ {', '.join(cidrs)} }} drop\n"
            if cidrs
            else ""
        )
        ruleset = (
            "table inet drill_outside\ndelete table inet drill_outside\n"
            "table inet drill_outside {\n  chain output {\n"
            "    type filter hook output priority filter; policy accept;\n"
            f"{drop}  }}\n}}\n"
        )
        subprocess.run(
            ["ip", "netns", "exec", self.lab.fabric, "nft", "-f", "-"],
            input=ruleset,
            text=True,
            check=True,
            capture_output=True,
        )

    # ---------------------------------------------------------------- DNS

    def repoint(self, service: str, site: str) -> None:
        """Point a service name at a site's VIP through the lab dns role's hook.

        Uses ``govcloud.lab.dns.repoint`` when the lab provides it; otherwise the dns
        role's own record format (``roles.dns``: the service records file, re-read by
        dnsmasq on SIGHUP) on every DNS host, so a repointed name is served everywhere.
        """
        try:
            from govcloud.lab import dns as labdns  # type: ignore[attr-defined]
        except ImportError:
            labdns = None
        if labdns is not None and hasattr(labdns, "repoint"):
            labdns.repoint(self.lab, service, SiteName(site))
            return
        from roles import dns

        self._dns_records[service] = self.topo.service(service).vips[SiteName(site)]
        text = dns.hosts_text(self._dns_records, self.topo.domain)
        for h in self.topo.with_role("dns"):
            r = self.run(
                h.name,
                f"printf %s {shlex.quote(text)} > {dns.SERVICES_FILE}.new && "
                f"mv {dns.SERVICES_FILE}.new {dns.SERVICES_FILE} && pkill -HUP -x dnsmasq",
                timeout=15,
            )
            if r.rc != 0:
                raise RuntimeError(f"repoint {service} on {h.name}: {r.err.strip()}")

    def resolve(self, service: str) -> list[str]:
        """What the public resolver answers for a service (first DNS server that answers)."""
        fqdn = self.topo.service(service).fqdn
        dns = " ".join(f"--dns {s}" for s in self.dns_servers())
        res = self.run(
            OUTSIDE,
            f"{shlex.quote(sys.executable)} {shlex.quote(str(LOADGEN))} --resolve "
            f"{shlex.quote(fqdn)} {dns} --port 0 --out -",
            timeout=10,
        )
        return res.out.split() if res.rc == 0 else []

    def dns_servers(self) -> list[str]:
        return [h.address for h in self.topo.with_role("dns")]

    # ---------------------------------------------------------------- load

    def start_load(self, service: str, out: Path, run_id: str, **opts: Any) -> subprocess.Popen:
        fqdn = self.topo.service(service).fqdn
        from govcloud import datatier

        port = datatier.layout(self.estate, self.topo.hosts).app_port
        cmd = self._as_citizen(
            sys.executable,
            str(LOADGEN),
            "--name",
            fqdn,
            "--port",
            str(port),
            "--out",
            "-",
            "--run",
            run_id,
        )
        for server in self.dns_servers():
            cmd += ["--dns", server]
        for k, v in opts.items():
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        fh = open(out, "w", encoding="utf-8")  # noqa: SIM115 - owned by the Popen
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, cwd="/")
        fh.close()
        time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(
                f"load client exited at once: {proc.stderr.read() if proc.stderr else ''}"
            )
        return proc


LOADGEN = Path(__file__).with_name("loadgen.py")
