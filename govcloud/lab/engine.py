"""Build, inspect and tear down the lab: namespaces, bridges, links, nspawn hosts.

Layout (every name carries the lab instance name, ``$GOVCLOUD_LAB_NAME``, default
``govlab``, so several labs coexist on one machine):

- ``<lab>-site-<short>``: one namespace per site holding a bridge per zone (``br-ext``...);
  the site's hosts plug a veth leg into the bridge of each of their zones.
- ``<lab>-<host>``: one namespace per host; ``systemd-nspawn -b`` boots the host's
  overlay (``lowerdir`` = the shared base image) inside it.
- ``<lab>-fabric``: the inter-site fabric and the tools' seat. Each estate link is a
  bridge here (``k-dc1dc2``) joining the two site routers' link legs, shaped with tbf to
  the link's bandwidth; silent cuts are nftables drops on those bridges. The fabric also
  has one leg in every zone of every site (the zone's last address), like an
  out-of-band management NIC, and no IP forwarding: pyinfra, ansible and testinfra run
  here (``ip netns exec <lab>-fabric ...``) and reach hosts without crossing a firewall.

Nothing has a route out; the root namespace never gets a lab address. State (PIDs,
overlays, the SSH key, generated inventories) lives in ``/var/lib/govcloud-lab/<lab>/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from govcloud.lab.topology import ZONE_ABBR, Host, LinkPath, Topology, load_topology
from govcloud.model import SiteName

STATE_ROOT = Path(os.environ.get("GOVCLOUD_LAB_STATE", "/var/lib/govcloud-lab"))
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")


def namespace_sysctls(roles: Iterable[str], router: bool = False) -> dict[str, str]:
    """Per-netns sysctls the hosts' roles ask for: a container cannot write its own, so
    the lab sets them from outside, from the role's own function (one source)."""
    out: dict[str, str] = {}
    roles = list(roles)
    if "baseline" in roles:
        from roles.baseline import hardening

        out.update(hardening.network_settings(router))
    if "anti_ddos" in roles:
        from roles import anti_ddos

        out.update(anti_ddos.kernel_settings())
    if "patroni" in roles:
        from roles import patroni

        out.update(patroni.kernel_settings())
    return out


# Debian's root PATH: runbook helpers (patroni-check) live in /usr/local/bin
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

class LabError(RuntimeError):
    """An operator-facing lab failure (the CLI prints it without a traceback)."""


def lab_name() -> str:
    name = os.environ.get("GOVCLOUD_LAB_NAME", "govlab")
    if not NAME_RE.fullmatch(name):
        raise LabError(f"GOVCLOUD_LAB_NAME={name!r} must match {NAME_RE.pattern}")
    return name


def _sh(cmd: list[str], check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def _poll(pending: set[Any], done: Callable[[Any], bool], timeout: float, interval: float,
          failure: Callable[[set[Any]], str]) -> None:
    """Check every pending item until all are done; past `timeout`, LabError(failure(left)).

    The fabric's state changes (carrier, neighbour resolution) land a moment after the
    command that causes them, so cuts and heals wait for what they report.
    """
    deadline = time.monotonic() + timeout
    while pending:
        pending = {item for item in pending if not done(item)}
        if pending and time.monotonic() > deadline:
            raise LabError(failure(pending))
        if pending:
            time.sleep(interval)


@dataclass
class Timer:
    """Collects step timings; ``up`` prints them and stores them in the state dir."""

    say: Callable[[str], None]
    t0: float = field(default_factory=time.monotonic)
    steps: list[tuple[str, float]] = field(default_factory=list)
    _last: float = field(default_factory=time.monotonic)

    def step(self, label: str) -> None:
        now = time.monotonic()
        self.steps.append((label, now - self._last))
        self.say(f"  {label:<38} {now - self._last:6.1f}s   (t+{now - self.t0:.1f}s)")
        self._last = now

    @property
    def total(self) -> float:
        return time.monotonic() - self.t0


class Lab:
    """One lab instance. All methods are safe to call from tests and the drill runner."""

    def __init__(self, name: str | None = None, topology: Topology | None = None):
        self.name = name or lab_name()
        self._topology = topology
        self.state_dir = STATE_ROOT / self.name

    # ------------------------------------------------------------------ names

    @property
    def topology(self) -> Topology:
        if self._topology is None:
            self._topology = load_topology()
        return self._topology

    @property
    def fabric(self) -> str:
        return f"{self.name}-fabric"

    def site_ns(self, short: str) -> str:
        return f"{self.name}-site-{short}"

    def host_ns(self, host: str) -> str:
        return f"{self.name}-{host}"

    def machine(self, host: str) -> str:
        return f"{self.name}-{host}"

    @property
    def key(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def inventory_yml(self) -> Path:
        return self.state_dir / "inventory.yml"

    def all_netns(self) -> list[str]:
        topo = self.topology
        return (
            [self.host_ns(h.name) for h in topo.hosts]
            + [self.site_ns(s) for s in topo.profile.sites.values()]
            + [self.fabric]
        )

    # ------------------------------------------------------------------ state

    def _state(self) -> dict:
        path = self.state_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_state(self, state: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.rename(self.state_dir / "state.json")

    def is_up(self) -> bool:
        return bool(self._state().get("hosts"))

    # ------------------------------------------------------------------ up

    def up(self, say: Callable[[str], None] = print) -> dict[str, float]:
        """Build the image if needed, the network, the overlays; boot every host; wait for sshd."""
        from govcloud.lab import image

        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, mounts, systemd-nspawn)")
        for tool in ("systemd-nspawn", "debootstrap", "ip", "tc", "nft", "zstd", "ssh-keygen"):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found: run scripts/setup --lab")
        if self._state():
            raise LabError(f"lab {self.name} is already up (govcloud lab down first)")
        topo = self.topology
        say(f"lab {self.name}: {len(topo.hosts)} hosts on {len(topo.profile.sites)} sites")
        timer = Timer(say)
        rootfs = image.ensure_image(say=lambda m: say(f"  image: {m}"))
        timer.step("base image ready")
        _raise_inotify_limits(say)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state: dict = {"lab": self.name, "image": str(rootfs), "netns": [], "mounts": [],
                       "hosts": {}, "started": time.time()}
        self._save_state(state)
        try:
            self._keys()
            self._network(state)
            timer.step("network (netns, bridges, links, tbf)")
            self._overlays(rootfs, state)
            timer.step("overlays + per-host identity")
            self._boot(state)
            timer.step(f"boot {len(topo.hosts)} hosts (nspawn)")
            self.wait_ssh()
            timer.step("sshd reachable from the fabric")
            self.permit_sessions(say)
            timer.step("user sessions permitted")
            from govcloud.lab import inventory

            inventory.write_lab_inventories(self)
            timer.step("inventories generated")
        except BaseException:
            say("up failed: tearing down what was built")
            self.down(say=lambda m: None)
            raise
        timings = dict(timer.steps)
        timings["total"] = timer.total
        state = self._state()
        state["timings_up"] = timings
        self._save_state(state)
        say(f"lab {self.name} up in {timer.total:.1f}s")
        return timings

    def _keys(self) -> None:
        if not self.key.exists():
            _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"govcloud-lab-{self.name}",
                 "-f", str(self.key)])

    def _ip(self, ns: str, *args: str) -> None:
        _sh(["ip", "-n", ns, *args])

    def _addns(self, ns: str, state: dict) -> None:
        _sh(["ip", "netns", "add", ns])
        state["netns"].append(ns)
        self._save_state(state)
        self._ip(ns, "link", "set", "lo", "up")

    def _veth(self, ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
        self._ip(ns_a, "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b)

    def _network(self, state: dict) -> None:
        topo = self.topology
        fab = self.fabric
        self._addns(fab, state)
        _sh(["ip", "netns", "exec", fab, "sysctl", "-qw", "net.ipv4.ip_forward=0"])
        for site, short in topo.profile.sites.items():
            sns = self.site_ns(short)
            self._addns(sns, state)
            for zone, abbr in ZONE_ABBR.items():
                self._ip(sns, "link", "add", f"br-{abbr}", "type", "bridge")
                self._ip(sns, "link", "set", f"br-{abbr}", "up")
                # the fabric's out-of-band leg in this zone
                self._veth(fab, f"{short}-{abbr}", sns, f"fab-{abbr}")
                self._ip(sns, "link", "set", f"fab-{abbr}", "master", f"br-{abbr}", "up")
                addr = topo.tool_addresses[(SiteName(site), zone)]
                self._ip(fab, "addr", "add", str(addr), "dev", f"{short}-{abbr}")
                self._ip(fab, "link", "set", f"{short}-{abbr}", "up")
        for host in topo.hosts:
            hns = self.host_ns(host.name)
            self._addns(hns, state)
            # before any interface exists: "default" values reach every leg created below
            for key, value in namespace_sysctls(host.roles, host.forwarding).items():
                _sh(["ip", "netns", "exec", hns, "sysctl", "-qw", f"{key}={value}"])
            sns = self.site_ns(host.site_short)
            for leg in host.legs:
                abbr = ZONE_ABBR[leg.zone]
                peer = f"{host.function}-{abbr}"
                self._veth(hns, leg.ifname, sns, peer)
                self._ip(sns, "link", "set", peer, "master", f"br-{abbr}", "up")
                self._ip(hns, "addr", "add", str(leg.address), "dev", leg.ifname)
                self._ip(hns, "link", "set", leg.ifname, "up")
            fwd = "1" if host.forwarding else "0"
            _sh(["ip", "netns", "exec", hns, "sysctl", "-qw", f"net.ipv4.ip_forward={fwd}"])
            if host.gateway:
                self._ip(hns, "route", "add", "default", "via", host.gateway)
        for link in topo.links:
            self._link(link)
        for host in topo.hosts:
            for dest, via in host.routes:
                self._ip(self.host_ns(host.name), "route", "add", dest, "via", via)
        self.render_cuts({})

    def _link(self, link: LinkPath) -> None:
        fab = self.fabric
        br = link_bridge(link)
        self._ip(fab, "link", "add", br, "type", "bridge")
        self._ip(fab, "link", "set", br, "up")
        for side, site, addr in (("a", link.a, link.a_addr), ("b", link.b, link.b_addr)):
            router = self.topology.router(site)
            rns = self.host_ns(router.name)
            port = f"{br}-{side}"
            self._veth(rns, link.ifname(site), fab, port)
            self._ip(fab, "link", "set", port, "master", br, "up")
            self._ip(rns, "addr", "add", str(addr), "dev", link.ifname(site))
            self._ip(rns, "link", "set", link.ifname(site), "up")
            # the fabric port's egress carries the traffic towards this router: shaping
            # every port to the link's bandwidth shapes both directions of the link
            _sh(["tc", "-n", fab, "qdisc", "add", "dev", port, "root", *tbf_args(link)])

    def _overlays(self, rootfs: Path, state: dict) -> None:
        pub = self.key.with_suffix(".pub").read_text()
        known: list[str] = []
        topo = self.topology
        for host in topo.hosts:
            base = self.state_dir / "hosts" / host.name
            if base.exists():
                shutil.rmtree(base)
            upper, work, merged = base / "upper", base / "work", base / "merged"
            for d in (upper, work, merged):
                d.mkdir(parents=True)
            etc = upper / "etc"
            (etc / "ssh").mkdir(parents=True)
            (upper / "root/.ssh").mkdir(parents=True, mode=0o700)
            (upper / "root/.ssh/authorized_keys").write_text(pub)
            (upper / "root/.ssh/authorized_keys").chmod(0o600)
            (etc / "hostname").write_text(host.name + "\n")
            (etc / "hosts").write_text(hosts_file(topo, host))
            (etc / "resolv.conf").write_text(resolv_conf(topo, host))
            hk = etc / "ssh/ssh_host_ed25519_key"
            _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host.name}",
                 "-f", str(hk)])
            hostpub = hk.with_suffix(".pub").read_text().split()
            names = [host.name, f"{host.name}.{topo.domain}", *[leg.ip for leg in host.legs]]
            known.append(f"{','.join(names)} {hostpub[0]} {hostpub[1]}")
            _sh(["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={rootfs},upperdir={upper},workdir={work}", str(merged)])
            state["mounts"].append(str(merged))
            self._save_state(state)
        self.known_hosts.write_text("\n".join(known) + "\n")

    def _boot(self, state: dict) -> None:
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        for host in self.topology.hosts:
            merged = self.state_dir / "hosts" / host.name / "merged"
            log = open(logs / f"{host.name}.log", "w")  # noqa: SIM115 - handed to the child
            # CAP_NET_ADMIN acts on the host's own network namespace only; CAP_SYS_PACCT
            # lets the baseline's process accounting (acct) run, and accounting is kept
            # per PID namespace, so a host accounts for its own processes only
            cmd = [
                "systemd-nspawn", "-q", "-b", "-D", str(merged),
                f"--machine={self.machine(host.name)}", f"--hostname={host.name}",
                "--register=no", "--keep-unit",
                f"--network-namespace-path=/run/netns/{self.host_ns(host.name)}",
                "--capability=CAP_NET_ADMIN,CAP_SYS_PACCT", "--console=passive",
                "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            ]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            state["hosts"][host.name] = {"pid": proc.pid, "netns": self.host_ns(host.name),
                                         "merged": str(merged)}
            self._save_state(state)

    def wait_ssh(self, timeout: float = 120.0) -> None:
        """Wait until every host's sshd answers with a banner, probed from the fabric."""
        targets = [f"{h.address}:22" for h in self.topology.hosts]
        res = self.fabric_exec(
            [sys.executable, "-m", "govcloud.lab.probe", "wait", "--timeout", str(timeout),
             *targets],
            check=False,
        )
        if res.returncode != 0:
            dead = [h for h, info in self._state().get("hosts", {}).items()
                    if not _alive(info["pid"])]
            raise LabError(f"sshd not reachable: {res.stdout.strip()} {res.stderr.strip()}"
                           + (f"; nspawn exited for {dead}" if dead else ""))

    def permit_sessions(self, say: Callable[[str], None] = print) -> None:
        """Make sure every host lets non-root users log in.

        With a few dozen hosts booting at once, ``systemd-user-sessions.service`` can
        fail with 219/CGROUP on one of them and leave ``/run/nologin`` in place: sshd
        then refuses every service account (pgBackRest's repository SSH was the one
        that hit it). Starting the unit again is a no-op where it already ran. A CI run
        right after a previous lab's teardown saw the unit fail again on retry on 2 of
        27 hosts, so it is retried for a few seconds, and then the unit's own program is
        run directly (all it does is remove the nologin files).
        """
        from concurrent.futures import ThreadPoolExecutor

        def permit(name: str) -> tuple[str, int, str]:
            res = None
            for attempt in range(5):
                res = self.exec_on(name, "systemctl start systemd-user-sessions.service "
                                         "&& ! test -e /run/nologin", timeout=60)
                if res.returncode == 0:
                    return name, 0, ""
                time.sleep(1 + attempt)
            direct = self.exec_on(name, "/lib/systemd/systemd-user-sessions start "
                                        "&& ! test -e /run/nologin", timeout=60)
            if direct.returncode == 0:
                say(f"  {name}: systemd-user-sessions.service failed "
                    f"({res.stderr.strip()[:120] if res else ''}); nologin removed directly")
                return name, 0, ""
            return name, direct.returncode, (res.stderr if res else "") + direct.stderr.strip()

        with ThreadPoolExecutor(max_workers=8) as pool:
            failed = [r for r in pool.map(permit, [h.name for h in self.topology.hosts])
                      if r[1] != 0]
        if failed:
            raise LabError(f"user sessions still refused on: {failed}")

    # ------------------------------------------------------------------ down

    def down(self, say: Callable[[str], None] = print) -> list[str]:
        """Stop every host, unmount, delete every namespace; return leftovers (empty = clean)."""
        t0 = time.monotonic()
        state = self._state()
        hosts = state.get("hosts", {})
        pids = {h: info["pid"] for h, info in hosts.items() if _alive(info["pid"])}
        for pid in pids.values():
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
            time.sleep(0.2)
        for h, pid in pids.items():
            if _alive(pid):
                say(f"  {h}: nspawn {pid} did not stop, killing its process group")
                _signal(-pid, signal.SIGKILL)
        time.sleep(0.1)
        t_hosts = time.monotonic() - t0
        mounts = set(state.get("mounts", []))
        hostdir = self.state_dir / "hosts"
        if hostdir.exists():
            mounts |= {str(p / "merged") for p in hostdir.iterdir()}
        # the hosts are gone: detach lazily, so umount does not first write back the
        # overlays' dirty pages (hundreds of MB of installed packages) that the rmtree
        # below deletes anyway
        for m in sorted(mounts):
            if os.path.ismount(m):
                _sh(["umount", "-l", m], check=False)
        existing = set(list_netns())
        wanted = set(state.get("netns", []))
        with contextlib.suppress(Exception):
            wanted |= set(self.all_netns())
        t1 = time.monotonic()
        for ns in sorted(wanted & existing):
            _sh(["ip", "netns", "del", ns], check=False)
        t_net = time.monotonic() - t1
        t2 = time.monotonic()
        if hostdir.exists():
            shutil.rmtree(hostdir, ignore_errors=True)
        t_files = time.monotonic() - t2
        for name in ("state.json", "cuts.json"):
            (self.state_dir / name).unlink(missing_ok=True)
        left = self.leftovers(extra_pids=list(pids.values()))
        if left:
            say(f"lab {self.name} down with leftovers: {left}")
        else:
            say(f"lab {self.name} down in {time.monotonic() - t0:.1f}s (hosts stopped in "
                f"{t_hosts:.1f}s, namespaces deleted in {t_net:.1f}s, overlays removed in "
                f"{t_files:.1f}s): no process, mount or "
                "namespace left")
        return left

    def leftovers(self, extra_pids: Iterable[int] = ()) -> list[str]:
        """Anything of this lab still present: nspawn PIDs, overlay mounts, namespaces."""
        left = [f"pid {p}" for p in extra_pids if _alive(p)]
        prefix = str(self.state_dir) + "/"
        with open("/proc/self/mounts") as fh:
            mounts = [line.split()[1] for line in fh]
        left += [f"mount {m}" for m in mounts if m.startswith(prefix)]
        mine = set(self.all_netns())
        left += [f"netns {ns}" for ns in list_netns() if ns in mine]
        return left

    # ------------------------------------------------------------------ running hosts

    def fabric_exec(self, cmd: list[str], check: bool = True, timeout: float | None = None,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the fabric namespace (where every lab tool runs)."""
        full = ["ip", "netns", "exec", self.fabric, *cmd]
        res = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **(env or {})})
        if check and res.returncode != 0:
            raise LabError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n"
                           f"{res.stderr}")
        return res

    @contextlib.contextmanager
    def in_fabric(self) -> Iterator[None]:
        """Move the calling thread into the fabric namespace for the ``with`` block.

        Tests use it so testinfra's ssh (and anything else they spawn) runs from inside
        the lab, exactly like ``ip netns exec <lab>-fabric``; the thread returns to its
        own namespace afterwards.
        """
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{self.fabric}") as fab:
            _setns(fab.fileno())
            try:
                yield
            finally:
                _setns(home.fileno())

    def leader(self, host: str) -> int:
        """The PID (in our PID namespace) of the host's systemd."""
        info = self._state().get("hosts", {}).get(host)
        if info is None:
            self.topology.host(host)  # raises a helpful KeyError for unknown names
            raise LabError(f"host {host} is not running (lab {self.name} up?)")
        pid = info["pid"]
        for child in _children(pid):
            if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                return child
        raise LabError(f"host {host}: no systemd under nspawn {pid}")

    def exec_on(self, host: str, cmd: str | list[str], check: bool = False,
                timeout: float | None = 120,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` on a lab host (via its namespaces; works even when the host is cut off)."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else cmd
        full = ["nsenter", "-t", str(self.leader(host)), "-m", "-u", "-i", "-n", "-p", "-r", "-w",
                "/usr/bin/env", "-i", f"PATH={HOST_PATH}", "HOME=/root", "LANG=C.UTF-8", *argv]
        res = subprocess.run(full, capture_output=True, text=True, timeout=timeout, input=input)
        if check and res.returncode != 0:
            raise LabError(f"{host}: {argv} failed ({res.returncode}): {res.stderr.strip()}")
        return res

    def address(self, host: str, zone: str | None = None) -> str:
        return self.topology.address(host, zone)

    # ------------------------------------------------------------------ faults

    def cuts(self) -> dict[str, str]:
        path = self.state_dir / "cuts.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def render_cuts(self, cuts: dict[str, str]) -> None:
        """Apply the cut set: silent cuts as bridge-family nft drops, the others link down."""
        links = {link_bridge(li): li for li in self.topology.links}
        drops = []
        for br, mode in sorted(cuts.items()):
            if mode == "silent":
                drops += [f'    iifname "{br}-a" drop', f'    iifname "{br}-b" drop']
        ruleset = (
            "table bridge lab_cut\ndelete table bridge lab_cut\n"
            "table bridge lab_cut {\n  chain forward {\n"
            "    type filter hook forward priority filter; policy accept;\n"
            + "\n".join(drops) + ("\n" if drops else "") + "  }\n}\n"
        )
        subprocess.run(["ip", "netns", "exec", self.fabric, "nft", "-f", "-"], input=ruleset,
                       text=True, check=True, capture_output=True)
        for br in links:
            state = "down" if cuts.get(br) == "down" else "up"
            for side in ("a", "b"):
                self._ip(self.fabric, "link", "set", f"{br}-{side}", state)
        (self.state_dir / "cuts.json").write_text(json.dumps(cuts, sort_keys=True))

    def cut_link(self, a: str, b: str, silent: bool = True) -> None:
        """Cut the link between sites ``a`` and ``b`` (silent: packets vanish, no ICMP)."""
        cuts = self.cuts()
        link = self.topology.link(a, b)
        cuts[link_bridge(link)] = "silent" if silent else "down"
        self.render_cuts(cuts)
        if not silent:
            self.wait_carrier_lost([link])

    def heal_link(self, a: str, b: str) -> None:
        cuts = self.cuts()
        link = self.topology.link(a, b)
        cuts.pop(link_bridge(link), None)
        self.render_cuts(cuts)
        self.wait_link([link])

    def cut_site(self, site: str, silent: bool = True) -> None:
        """Isolate a site from the others (every link touching it); tools still reach it."""
        cuts = self.cuts()
        cut = [li for li in self.topology.links if li.touches(SiteName(site))]
        for link in cut:
            cuts[link_bridge(link)] = "silent" if silent else "down"
        self.render_cuts(cuts)
        if not silent:
            self.wait_carrier_lost(cut)

    def wait_carrier_lost(self, links: Iterable[LinkPath], timeout: float = 10.0) -> None:
        """Return once both routers of each link see it without carrier (a silent cut is
        in force as soon as `nft -f` returns: the bridge drops in the same transaction)."""
        def lost(item: tuple[LinkPath, str]) -> bool:
            link, site = item
            rns = self.host_ns(self.topology.router(site).name)
            out = _sh(["ip", "-n", rns, "-o", "link", "show", "dev", link.ifname(site)],
                      check=False).stdout
            return "NO-CARRIER" in out or "state LOWERLAYERDOWN" in out or "state DOWN" in out

        _poll({(li, site) for li in links for site in (li.a, li.b)}, lost, timeout, 0.1,
              lambda left: "link(s) " + ", ".join(sorted(f"{li.name} at {s}" for li, s in left))
              + f" still have carrier {timeout:.0f} s after the cut; see `govcloud lab status`")

    def heal_site(self, site: str) -> None:
        cuts = self.cuts()
        healed = [li for li in self.topology.links if li.touches(SiteName(site))]
        for link in healed:
            cuts.pop(link_bridge(link), None)
        self.render_cuts(cuts)
        self.wait_link([li for li in healed if link_bridge(li) not in cuts])

    def wait_link(self, links: Iterable[LinkPath], timeout: float = 20.0) -> None:
        """Return once each link carries traffic again, both ways; else a clear error.

        A link set up again is not usable at once: the routers' veths regain carrier a
        moment later and their neighbour entries for the peer are FAILED from the pings
        sent during the cut, so the first packet after a heal met "Destination Host
        Unreachable". Flush those entries, then probe across until each router has
        resolved its peer (REACHABLE), which needs the bridge to forward in both
        directions. ARP is answered whatever a router's firewall does with ICMP.
        """
        pending = {(link, side) for link in links for side in ("a", "b")}
        for link, side in pending:
            site = link.a if side == "a" else link.b
            rns = self.host_ns(self.topology.router(site).name)
            _sh(["ip", "-n", rns, "neigh", "flush", "dev", link.ifname(site)], check=False)

        def resolved(item: tuple[LinkPath, str]) -> bool:
            link, side = item
            site, peer = (link.a, link.b_addr) if side == "a" else (link.b, link.a_addr)
            rns = self.host_ns(self.topology.router(site).name)
            dev = link.ifname(site)
            _sh(["ip", "netns", "exec", rns, "ping", "-n", "-c1", "-W1", "-I", dev,
                 str(peer.ip)], check=False)
            neigh = _sh(["ip", "-n", rns, "neigh", "show", str(peer.ip), "dev", dev],
                        check=False).stdout
            return any(state in neigh for state in ("REACHABLE", "STALE", "DELAY"))

        _poll(pending, resolved, timeout, 0.2,
              lambda left: "link(s) " + ", ".join(sorted(f"{li.name} ({s} side)"
                                                         for li, s in left))
              + f" still carry no traffic {timeout:.0f} s after the heal (peer address "
              "unresolved); see `govcloud lab status`")

    # ------------------------------------------------------------------ status

    def status(self) -> list[dict[str, str]]:
        """One row per host: address, process, sshd, systemd state, failed units."""
        state = self._state()
        hosts = state.get("hosts", {})
        rows: list[dict[str, str]] = []
        reach: set[str] = set()
        if hosts:
            res = self.fabric_exec(
                [sys.executable, "-m", "govcloud.lab.probe", "check",
                 *[f"{h.address}:22" for h in self.topology.hosts]], check=False)
            reach = set(res.stdout.split())
        for h in self.topology.hosts:
            info = hosts.get(h.name)
            alive = bool(info and _alive(info["pid"]))
            row = {"host": h.name, "site": h.site.value, "zone": str(h.zone or "router"),
                   "address": h.address, "roles": ",".join(h.roles),
                   "nspawn": "running" if alive else "down",
                   "ssh": "ok" if f"{h.address}:22" in reach else "-", "systemd": "-",
                   "failed": ""}
            row["services"] = "-"
            if alive:
                res = self.exec_on(h.name, "systemctl is-system-running; "
                                   "systemctl list-units --failed --plain --no-legend "
                                   "| cut -d' ' -f1", timeout=20)
                lines = res.stdout.split()
                row["systemd"] = lines[0] if lines else "?"
                row["failed"] = ",".join(lines[1:])
                services = role_services(h)
                if services:
                    res = self.exec_on(h.name, ["systemctl", "is-active", *services], timeout=20)
                    states = res.stdout.split()
                    bad = [f"{s}:{st}" for s, st in zip(services, states, strict=False)
                           if st != "active"]
                    up = len(services) - len(bad)
                    row["services"] = f"{up}/{len(services)}" + (f" {','.join(bad)}" if bad else "")
            rows.append(row)
        return rows


# ---------------------------------------------------------------------- helpers


def role_services(host: Host) -> list[str]:
    """The systemd units the host's roles declare (``SERVICES`` in each role module)."""
    from govcloud.lab.inventory import role_module

    out: list[str] = []
    for role in host.roles:
        mod = role_module(role)
        for unit in getattr(mod, "SERVICES", ()) if mod else ():
            if unit not in out:
                out.append(unit)
    return out


def link_bridge(link: LinkPath) -> str:
    return f"k-{link.a_short}{link.b_short}"


def tbf_args(link: LinkPath) -> list[str]:
    """tbf parameters for the link's bandwidth (burst >= one timer tick at that rate)."""
    rate_bit = int(link.bandwidth_mbps * Decimal(1_000_000))
    burst = max(rate_bit // 8 // 250, 32 * 1024)
    return ["tbf", "rate", f"{rate_bit}bit", "burst", str(burst), "latency", "50ms"]


def hosts_file(topo: Topology, host: Host) -> str:
    lines = ["127.0.0.1 localhost", f"{host.address} {host.name}.{topo.domain} {host.name}"]
    return "\n".join(lines) + "\n"


def resolv_conf(topo: Topology, host: Host) -> str:
    """Hosts resolve through the lab DNS of their site (never the machine's resolver)."""
    servers = [h.address for h in topo.with_role("dns", host.site)] or [
        h.address for h in topo.with_role("dns")
    ]
    lines = [f"search {topo.domain}", *[f"nameserver {s}" for s in servers[:3]],
             "options timeout:1 attempts:2"]
    return "\n".join(lines) + "\n"


#: Every host's systemd takes inotify instances from root's per-user budget (nspawn
#: without user namespaces): the kernel default of 128 runs out after ~20 hosts, and
#: several labs may run at once. Only ever raised, never lowered.
INOTIFY_MINIMUM = {"max_user_instances": 8192, "max_user_watches": 524288}


def _raise_inotify_limits(say: Callable[[str], None]) -> None:
    for key, want in INOTIFY_MINIMUM.items():
        path = Path("/proc/sys/fs/inotify") / key
        have = int(path.read_text())
        if have < want:
            path.write_text(str(want))
            say(f"  raised fs.inotify.{key} {have} -> {want} (one systemd per lab host)")


def _setns(fd: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        err = ctypes.get_errno()
        raise LabError(f"setns failed: {os.strerror(err)}")


def list_netns() -> list[str]:
    res = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out
