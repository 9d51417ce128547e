"""Build the engine toolchain from its Go modules into a cache outside the work tree.

Nothing here downloads a prebuilt binary: every tool is compiled from the module the Go
module proxy serves, in a throw-away wrapper module, with its version stamped through
`-ldflags` (unstamped, `pulumi version` prints nothing and the Automation API refuses the
CLI; kube-apiserver reports v0.0.0-master). Each tool lands in
`<cache>/<tool>-<version>/bin/` with a stamp file written last, so a half-finished build
is rebuilt and a finished one is reused by every clone on the machine. `<cache>/bin`
links the pinned set together for PATH.

Stdlib only: `scripts/setup --engine` runs it before anything else needs the venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.engine import versions as v

STAMP = ".complete.json"


def cache_root() -> Path:
    """Where built tools live: outside any clone, keyed by version below it."""
    if env := os.environ.get("GOVCLOUD_ENGINE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "govcloud" / "engine"


def bin_dir() -> Path:
    return cache_root() / "bin"


@dataclass(frozen=True)
class Tool:
    """One Go build: a module at a version, the binaries it yields, how to stamp them."""

    name: str
    version: str
    binaries: dict[str, str]  # binary name -> Go package path
    build: Callable[[Tool, Path, Path], None] = field(compare=False, repr=False)
    ldflags: tuple[str, ...] = ()

    @property
    def home(self) -> Path:
        return cache_root() / f"{self.name}-{self.version}"

    def done(self) -> bool:
        return (self.home / STAMP).is_file() and all(
            (self.home / "bin" / b).is_file() for b in self.binaries
        )


class ToolchainError(RuntimeError):
    """A build step failed; the message says which tool and step, and what to do."""


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists()
                                else None)
    if go is None:
        raise ToolchainError(
            "the engine toolchain is built from Go modules and no `go` was found on PATH "
            "(nor /usr/local/go/bin/go); install Go >= 1.26 and run `scripts/setup --engine` again"
        )
    return go


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Static binaries, no toolchain switching (the local Go is newer than every go.mod here).
    env.update(CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=mod")
    return env


def _run(tool: Tool, step: str, argv: list[str], cwd: Path, **extra: str) -> str:
    env = _env() | extra
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise ToolchainError(
            f"{tool.name} {tool.version}: `{step}` failed (exit {proc.returncode}) in {cwd}:\n"
            f"{tail}"
        )
    return proc.stdout


def _mod_download(tool: Tool, module: str, version: str, cwd: Path) -> dict:
    out = _run(tool, f"go mod download {module}@{version}",
               [_go(), "mod", "download", "-json", f"{module}@{version}"], cwd)
    return json.loads(out)


def _replaces(tool: Tool, gomod: str, cwd: Path, local_version: str) -> Iterator[str]:
    """The upstream go.mod's replaces, re-aimed so they work outside its repository.

    A replace to another module (pulumi's go-diff/ssh-agent/clipboard forks) is kept as is;
    one to a local path (Kubernetes' staging modules, pulumi's `../sdk`) points at the same
    module published at `local_version`.
    """
    edit = json.loads(_run(tool, "go mod edit -json", [_go(), "mod", "edit", "-json", gomod], cwd))
    for rep in edit.get("Replace") or []:
        old, new = rep["Old"], rep["New"]
        left = old["Path"] + (f"@{old['Version']}" if old.get("Version") else "")
        if new.get("Version"):
            yield f"{left}={new['Path']}@{new['Version']}"
        elif local_version and _major_fits(old["Path"], local_version):
            yield f"{left}={old['Path']}@{local_version}"


def _major_fits(module: str, version: str) -> bool:
    """Whether `module@version` can exist (etcd's go.mod also replaces its v0 root module)."""
    last = module.rsplit("/", 1)[-1]
    major = version.lstrip("v").split(".", 1)[0]
    if last.startswith("v") and last[1:].isdigit():
        return last[1:] == major
    return major in ("0", "1")


def _wrapper(tool: Tool, work: Path, module: str, version: str, local_version: str = "") -> None:
    """A module of our own that requires `module@version` with its replaces inherited."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "go.mod").write_text(f"module govcloud.invalid/engine/{tool.name}\n\ngo 1.26.0\n")
    info = _mod_download(tool, module, version, work)
    reps = list(_replaces(tool, info["GoMod"], work, local_version))
    if reps:
        _run(tool, "go mod edit -replace", [_go(), "mod", "edit",
                                            *[f"-replace={r}" for r in reps]], work)
    # every package at the module's version: a bare path would mean @upgrade
    _run(tool, "go get", [_go(), "get", *(f"{pkg}@{version}"
                                         for pkg in [module, *tool.binaries.values()])], work)


def _go_build(tool: Tool, work: Path, out: Path) -> None:
    flags = " ".join(["-s", "-w", *tool.ldflags])
    for name, pkg in tool.binaries.items():
        _run(tool, f"go build {pkg}", [_go(), "build", "-trimpath", "-ldflags", flags,
                                       "-o", str(out / name), pkg], work)


def _build_wrapped(module: str, local_version: str = "") -> Callable[[Tool, Path, Path], None]:
    def build(tool: Tool, work: Path, out: Path) -> None:
        version = tool.version if tool.version.startswith("v") else f"v{tool.version}"
        _wrapper(tool, work, module, version, local_version)
        _go_build(tool, work, out)

    return build


def _build_provider(tool: Tool, work: Path, out: Path) -> None:
    """The provider embeds a schema generated at release time, absent from the module zip.

    Its go.mod also points the SDK at `../sdk`; dropping that replace lets the SDK resolve
    from the proxy at the version the go.mod requires.
    """
    info = _mod_download(tool, v.PROVIDER_MODULE, v.PROVIDER_PSEUDO, cache_root())
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(info["Dir"], work)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    _run(tool, "go mod edit -dropreplace", [_go(), "mod", "edit",
         "-dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4"], work)
    cmd = work / "cmd" / "pulumi-resource-kubernetes"
    _run(tool, "go run generate.go", [_go(), "run", "generate.go"], cmd, VERSION=tool.version)
    _go_build(tool, cmd, out)


def _kube_ldflags(version: str) -> tuple[str, ...]:
    major, minor, _ = version.split(".")
    pkg = "k8s.io/component-base/version"
    return (f"-X {pkg}.gitVersion=v{version}", f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean")


def tools() -> list[Tool]:
    """The pinned set, in build order (the longest, most shared builds first)."""
    kube_staging = "v0." + v.KUBERNETES.split(".", 1)[1]
    return [
        Tool("kubernetes", v.KUBERNETES, {
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            "kubectl": "k8s.io/kubernetes/cmd/kubectl",
        }, _build_wrapped("k8s.io/kubernetes", kube_staging), _kube_ldflags(v.KUBERNETES)),
        Tool("etcd", v.ETCD, {"etcd": "go.etcd.io/etcd/server/v3"},
             _build_wrapped("go.etcd.io/etcd/server/v3", f"v{v.ETCD}")),
        Tool("kwok", v.KWOK, {"kwok": "sigs.k8s.io/kwok/cmd/kwok",
                              "kwokctl": "sigs.k8s.io/kwok/cmd/kwokctl"},
             _build_wrapped("sigs.k8s.io/kwok"),
             (f"-X sigs.k8s.io/kwok/pkg/consts.Version=v{v.KWOK}",
              f"-X sigs.k8s.io/kwok/pkg/consts.KubeVersion=v{v.KUBERNETES}")),
        Tool("pulumi", v.PULUMI, {"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"},
             _build_wrapped("github.com/pulumi/pulumi/pkg/v3", f"v{v.PULUMI}"),
             (f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v{v.PULUMI}",)),
        Tool("pulumi-resource-kubernetes", v.PROVIDER,
             {"pulumi-resource-kubernetes": "."}, _build_provider,
             (f"-X {v.PROVIDER_MODULE}/pkg/version.Version={v.PROVIDER}",)),
    ]


def system_pulumi() -> Path | None:
    """A stock Pulumi install of the pinned version, if one is on PATH (used instead)."""
    found = shutil.which("pulumi")
    if not found or Path(found).resolve().is_relative_to(cache_root().resolve()):
        return None
    try:
        out = subprocess.run([found, "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(found) if out.stdout.strip().lstrip("v") == v.PULUMI else None


def binaries() -> dict[str, Path]:
    """Binary name -> path of every tool of the pinned set that is built (or found)."""
    found: dict[str, Path] = {}
    for tool in tools():
        if tool.done():
            found.update({b: tool.home / "bin" / b for b in tool.binaries})
    if "pulumi" not in found and (stock := system_pulumi()):
        found["pulumi"] = stock
    return found


def missing() -> list[str]:
    """Names of the pinned tools not built yet (empty when the toolchain is ready)."""
    have = binaries()
    return [t.name for t in tools() if not all(b in have for b in t.binaries)]


def _link_bin() -> None:
    out = bin_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name, path in binaries().items():
        link = out / name
        if link.is_symlink() or link.exists():
            if link.is_symlink() and Path(os.readlink(link)) == path:
                continue
            link.unlink()
        link.symlink_to(path)


def ensure(log: Callable[[str], None] = print) -> dict[str, Path]:
    """Build whatever of the pinned set is missing; print progress per tool with its time."""
    start = time.monotonic()
    cache_root().mkdir(parents=True, exist_ok=True)
    for tool in tools():
        if tool.name == "pulumi" and not tool.done() and (stock := system_pulumi()):
            log(f"engine: pulumi {tool.version}: using {stock} (already on PATH)")
            continue
        if tool.done():
            log(f"engine: {tool.name} {tool.version}: cached ({tool.home})")
            continue
        log(f"engine: {tool.name} {tool.version}: building {', '.join(tool.binaries)} ...")
        t0 = time.monotonic()
        staging = tool.home.with_name(tool.home.name + ".partial")
        if staging.exists():
            shutil.rmtree(staging)
        (staging / "bin").mkdir(parents=True)
        tool.build(tool, cache_root() / "work" / tool.name, staging / "bin")
        took = time.monotonic() - t0
        (staging / STAMP).write_text(json.dumps({
            "tool": tool.name, "version": tool.version, "seconds": round(took, 1),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }) + "\n")
        if tool.home.exists():
            shutil.rmtree(tool.home)
        staging.rename(tool.home)
        shutil.rmtree(cache_root() / "work" / tool.name, ignore_errors=True)
        log(f"engine: {tool.name} {tool.version}: built in {took:.0f} s")
    _link_bin()
    log(f"engine: toolchain ready in {bin_dir()} ({time.monotonic() - start:.0f} s)")
    return binaries()


def main(argv: list[str] | None = None) -> int:
    try:
        ensure()
    except ToolchainError as err:
        print(f"engine: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
