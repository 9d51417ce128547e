"""The base root filesystem every lab host boots from (an overlay per host on top of it).

Built once with ``debootstrap --variant=minbase bookworm`` plus the lab's base packages,
then every role's ``PACKAGES`` are pre-downloaded into ``/var/cache/apt/archives``
(hosts have no internet: roles install from there with ``update=False``). The result
is cached as ``base-<key>.tar.zst`` and extracted once as ``base-<key>/`` under
``/var/cache/govcloud-lab``; the key hashes the package lists, so adding a role
package rebuilds the image and nothing else does. An ``flock`` serialises concurrent
builds (several labs may start at once).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

CACHE = Path(os.environ.get("GOVCLOUD_LAB_CACHE", "/var/cache/govcloud-lab"))
SUITE = "bookworm"
MIRROR = os.environ.get("GOVCLOUD_LAB_MIRROR", "http://deb.debian.org/debian")
ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"

#: Installed into the base image: what every host needs before any role runs
#: (systemd as PID 1, sshd for pyinfra/ansible, python3-apt so Ansible's apt module
#: does not stall, nftables/iproute2 for the network, tools the probes use).
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-apt",
    "iproute2",
    "nftables",
    "sudo",
    "iputils-ping",
    "procps",
    "netcat-openbsd",
    "ca-certificates",
)


def discover_roles() -> dict[str, ModuleType]:
    """Import every ``roles/<name>`` package (importing a role has no side effects)."""
    out: dict[str, ModuleType] = {}
    for init in sorted(ROLES_DIR.glob("*/__init__.py")):
        name = init.parent.name
        out[name] = importlib.import_module(f"roles.{name}")
    return out


def role_packages() -> list[str]:
    """The union of every role's ``PACKAGES`` (pre-downloaded into the image)."""
    pkgs: set[str] = set()
    for mod in discover_roles().values():
        pkgs.update(getattr(mod, "PACKAGES", ()))
    return sorted(pkgs - set(BASE_PACKAGES))


def cloud_mirror() -> str:
    """The Debian mirror hosts are configured for (``cloud.yaml`` ``mirrors.debian``)."""
    from govcloud.model import load_estate

    return load_estate().cloud.mirrors.debian


def image_key(extra: list[str] | None = None, cloud: str | None = None) -> str:
    """Hash of everything that goes into the image: suite, mirrors, both package lists."""
    extra = role_packages() if extra is None else extra
    cloud = cloud_mirror() if cloud is None else cloud
    blob = json.dumps(
        {"v": 3, "suite": SUITE, "mirror": MIRROR, "cloud_mirror": cloud,
         "base": sorted(BASE_PACKAGES), "extra": extra},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def _uri_file(uri: str) -> str:
    """apt's file name prefix for an archive URI (``URItoFileName``: scheme dropped,
    ``/`` as ``_``, ``:`` escaped)."""
    rest = uri.split("://", 1)[-1].rstrip("/")
    return rest.replace(":", "%3a").replace("/", "_")


def _file_index_under(target: Path, cloud: str) -> None:
    """Point the image's APT at the cloud's internal mirror, as a host installed from it
    would be. The lab serves no mirror: the index fetched from the build mirror is filed
    under the cloud mirror's name, so ``apt-get install`` from the pre-downloaded
    packages keeps working once the baseline role writes the mirror's sources."""
    lists = target / "var/lib/apt/lists"
    old, new = _uri_file(MIRROR), _uri_file(cloud)
    for f in lists.glob(f"{old}_*"):
        f.rename(lists / (new + f.name[len(old):]))
    (target / "etc/apt/sources.list").write_text(f"deb {cloud} {SUITE} main\n")


def _debootstrap(target: Path, extra: list[str], say: Callable[[str], None],
                 cloud: str) -> None:
    say(f"debootstrap {SUITE} minbase + {len(BASE_PACKAGES)} base packages")
    _run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
         SUITE, str(target), MIRROR],
        stdout=subprocess.DEVNULL,
    )
    etc = target / "etc"
    (etc / "apt/apt.conf.d/99govlab").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        'Binary::apt::APT::Keep-Downloaded-Packages "true";\n'
    )
    # the build needs names for apt; bind the machine's resolver for the build only and
    # leave a lab resolv.conf behind (hosts get theirs from the lab at boot)
    resolv = etc / "resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.touch()
    _run(["mount", "--bind", "/etc/resolv.conf", str(resolv)])
    _run(["mount", "-t", "proc", "proc", str(target / "proc")])
    try:
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        _run(["chroot", str(target), "apt-get", "update", "-qq"], env=env)
        if extra:
            say(f"pre-downloading {len(extra)} role packages (+ dependencies)")
            _run(["chroot", str(target), "apt-get", "install", "-y", "-qq", "--download-only",
                  *extra], env=env, stdout=subprocess.DEVNULL)
    finally:
        _run(["umount", str(target / "proc")])
        _run(["umount", str(resolv)])
    resolv.write_text("# written per host by govcloud lab\n")
    _file_index_under(target, cloud)
    # per-host identities are made at boot by the lab, never shared through the image
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    (etc / "machine-id").write_text("")
    (etc / "hostname").write_text("lab\n")
    # sshd: only the ed25519 key the lab writes; pyinfra/ansible log in as root by key
    (etc / "ssh/sshd_config.d/00-govlab.conf").write_text(
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\n"
        "UseDNS no\n"
    )
    # no consoles and nothing that waits for a network manager the lab does not use
    wants = etc / "systemd/system"
    for unit in ("getty@tty1.service", "console-getty.service",
                 "systemd-networkd-wait-online.service", "apt-daily.timer",
                 "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
        link = wants / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")


def ensure_image(say: Callable[[str], None] = print) -> Path:
    """Return the extracted base rootfs for the current package lists, building if needed."""
    extra = role_packages()
    cloud = cloud_mirror()
    key = image_key(extra, cloud)
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"base-{key}.tar.zst"
    rootfs = CACHE / f"base-{key}"
    with _locked(CACHE / f"base-{key}.lock"):
        if (rootfs / ".complete").exists():
            return rootfs
        if not tarball.exists():
            t0 = time.monotonic()
            build = CACHE / f"build-{key}"
            shutil.rmtree(build, ignore_errors=True)
            build.mkdir()
            try:
                _debootstrap(build, extra, say, cloud)
                say(f"packing {tarball.name}")
                tmp = tarball.with_suffix(".tmp")
                _run(["tar", "--zstd", "-C", str(build), "--numeric-owner", "-cpf", str(tmp),
                      "."])
                tmp.rename(tarball)
            finally:
                shutil.rmtree(build, ignore_errors=True)
            say(f"image built in {time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.mkdir()
        _run(["tar", "--zstd", "-C", str(rootfs), "--numeric-owner", "-xpf", str(tarball)])
        (rootfs / ".complete").touch()
        say(f"image {key} extracted in {time.monotonic() - t0:.1f}s")
    return rootfs
