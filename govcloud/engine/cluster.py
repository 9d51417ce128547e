"""One Kubernetes control plane per site, on this machine: `govcloud cluster up|status|down`.

kwokctl (runtime `binary`) runs, per site, etcd, kube-apiserver (RBAC, admission on:
Pod Security, ResourceQuota, LimitRanger...), controller-manager, scheduler and the KWOK
controller, all from the toolchain `scripts/setup --engine` built, all on 127.0.0.1
(kwokctl's default bind is 0.0.0.0). Its PKI is made at create time under `.engine/`
(ignored by git) and removed by `down`.

What the site offers comes from the model, never typed here:
- one KWOK node per compute host of `capacity.hosts`, each with its share of the site's
  allocatable pool (`Site.host_allocatable`), so the scheduler proves the placed
  workloads fit the site;
- a default StorageClass and one PersistentVolume per claim the site's stack makes,
  pre-bound to that claim, sized as the claim; their sum is refused when it exceeds the
  site's allocatable storage.

The kubeconfig's context names are the stack files' `govcloud:kubeContext` values.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from govcloud.engine import toolchain
from govcloud.engine import versions as v
from govcloud.model.loader import REPO_ROOT

STORAGE_CLASS = "govcloud-local"
POOL_LABEL = "govcloud.io/volume-pool"
NODE_LABEL = "govcloud.io/site"


class ClusterError(RuntimeError):
    """A control plane is missing, down or refused a step; the message says what to run."""


def engine_dir() -> Path:
    """Per-clone engine state (ignored by git): KWOK workdir, kubeconfig, Pulumi state."""
    return Path(os.environ.get("GOVCLOUD_ENGINE_DIR", REPO_ROOT / ".engine"))


def kubeconfig_path() -> Path:
    return engine_dir() / "kubeconfig"


def kwok_workdir() -> Path:
    return engine_dir() / "kwok"


def cluster_name(site: str) -> str:
    return f"govcloud-{site}"


def site_contexts() -> dict[str, str]:
    """Stack (= site) -> kube context, from the stack files (the one place they live)."""
    from govcloud.plan.engine import read_stack_config, stack_names

    contexts = {}
    for stack in stack_names():
        config, _ = read_stack_config(stack)
        contexts[config.get("govcloud:site", stack)] = config["govcloud:kubeContext"]
    return contexts


def _require_tools(*names: str) -> dict[str, Path]:
    have = toolchain.binaries()
    lacking = [n for n in names if n not in have]
    if lacking:
        raise ClusterError(
            f"the engine toolchain is not built yet ({', '.join(lacking)} missing from "
            f"{toolchain.cache_root()}); run `scripts/setup --engine` (about 45 min cold on "
            "2 cores, seconds once cached)"
        )
    return have


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(kwok_workdir())
    env["PATH"] = f"{toolchain.bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    return env


def kwokctl(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    tools = _require_tools("kwokctl")
    proc = subprocess.run([str(tools["kwokctl"]), *args], env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise ClusterError(f"kwokctl {' '.join(args)} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc


def kubectl(context: str, *args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """kubectl against one site's control plane through the engine's kubeconfig."""
    tools = _require_tools("kubectl")
    proc = subprocess.run(
        [str(tools["kubectl"]), "--kubeconfig", str(kubeconfig_path()), "--context", context,
         "--request-timeout=30s", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=_env())
    if check and proc.returncode != 0:
        raise ClusterError(f"kubectl --context {context} {' '.join(args)} failed:\n"
                           f"{proc.stderr.strip()[-2000:]}")
    return proc


def kube_json(context: str, *args: str) -> Any:
    return json.loads(kubectl(context, *args, "-o", "json").stdout)


# ------------------------------------------------------------------ what a site offers


def node_manifests(site: str) -> list[dict[str, Any]]:
    """The site's compute hosts as KWOK nodes (annotation `kwok.x-k8s.io/node: fake`)."""
    from govcloud.model import load_estate

    estate = load_estate()
    spec = next(s for s in estate.sites if str(s.name) == site)
    share = spec.host_allocatable()
    cpu_milli = int(Decimal(share["vcpu"]) * 1000)
    memory_ki = int(share["memory"]) // 1024
    nodes = []
    for i in range(spec.capacity.hosts):
        name = f"{site}-host-{i + 1:03d}"
        resources = {"cpu": f"{cpu_milli}m", "memory": f"{memory_ki}Ki",
                     "pods": str(share["pods"]), "ephemeral-storage": "1Ti"}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake",
                                "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok",
                           "topology.kubernetes.io/region": str(spec.region),
                           "topology.kubernetes.io/zone": spec.failure_domain(i),
                           NODE_LABEL: site},
            },
            "spec": {},
            "status": {"allocatable": resources, "capacity": resources,
                       "nodeInfo": {"kubeletVersion": f"v{v.KUBERNETES}-kwok",
                                    "architecture": "amd64", "operatingSystem": "linux"}},
        })
    return nodes


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    size: str  # Kubernetes quantity, as the claim asks

    @property
    def volume_name(self) -> str:
        """Deterministic, DNS-safe, unique per claim."""
        digest = hashlib.sha256(f"{self.namespace}/{self.name}".encode()).hexdigest()[:10]
        return f"pv-{self.name[:40].rstrip('-')}-{digest}"


def claims(manifests: Iterable[dict[str, Any]]) -> list[Claim]:
    """Every PersistentVolumeClaim the manifests make: stand-alone and per StatefulSet pod."""
    out = []
    for m in manifests:
        meta = m.get("metadata") or {}
        if m.get("kind") == "PersistentVolumeClaim":
            out.append(Claim(meta["namespace"], meta["name"],
                             m["spec"]["resources"]["requests"]["storage"]))
        elif m.get("kind") == "StatefulSet":
            spec = m["spec"]
            for tpl in spec.get("volumeClaimTemplates") or []:
                size = tpl["spec"]["resources"]["requests"]["storage"]
                for ordinal in range(int(spec.get("replicas", 1))):
                    out.append(Claim(meta["namespace"],
                                     f"{tpl['metadata']['name']}-{meta['name']}-{ordinal}", size))
    return sorted(out, key=lambda c: (c.namespace, c.name))


def volume_manifest(site: str, claim: Claim) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": claim.volume_name, "labels": {POOL_LABEL: site}},
        "spec": {
            "capacity": {"storage": claim.size},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "claimRef": {"namespace": claim.namespace, "name": claim.name},
            "hostPath": {"path": f"/var/lib/govcloud/volumes/{claim.volume_name}"},
        },
    }


STORAGE_CLASS_MANIFEST: dict[str, Any] = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": STORAGE_CLASS,
                 "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubernetes.io/no-provisioner",
    "reclaimPolicy": "Retain",
    "volumeBindingMode": "Immediate",
}


def _bytes(quantity: str) -> int:
    from govcloud.model.quantity import parse_bytes

    return int(parse_bytes(quantity))


# ------------------------------------------------------------------ the clusters


# kube-apiserver's default Service range is 10.0.0.0/24: 254 ClusterIPs, refused as "the
# serviceIP range is full" by the engine bench's N=100 estate (400 Services on one site).
# A /16 is what a production control plane is given; loopback-only, it routes nowhere.
SERVICE_RANGE = "10.0.0.0/16"


def _kwokctl_config(tools: dict[str, Path]) -> str:
    conf = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "securePort": True,
            "kubeAuthorization": True,
            "kubeAdmission": True,
            "kubeVersion": f"v{v.KUBERNETES}",
            "etcdVersion": v.ETCD,
            "kwokVersion": f"v{v.KWOK}",
            "etcdBinary": str(tools["etcd"]),
            "kubeApiserverBinary": str(tools["kube-apiserver"]),
            "kubeControllerManagerBinary": str(tools["kube-controller-manager"]),
            "kubeSchedulerBinary": str(tools["kube-scheduler"]),
            "kubectlBinary": str(tools["kubectl"]),
            "kwokControllerBinary": str(tools["kwok"]),
        },
        "componentsPatches": [{
            "name": "kube-apiserver",
            "extraArgs": [{"key": "service-cluster-ip-range", "value": SERVICE_RANGE}],
        }],
    }
    return yaml.safe_dump(conf, sort_keys=False)


def _cluster_dir(site: str) -> Path:
    """kwokctl's folder for the site: kubeconfig.yaml, bin/ (links), pids/, logs/, etcd/."""
    return kwok_workdir() / "clusters" / cluster_name(site)


def _cluster_kubeconfig(site: str) -> Path:
    return _cluster_dir(site) / "kubeconfig.yaml"


def _pid_dir(site: str) -> Path:
    return _cluster_dir(site) / "pids"


def _component_pids(site: str) -> dict[str, int]:
    """The process each component was last started as (from kwokctl's pid files)."""
    pids = {}
    for path in sorted(_pid_dir(site).glob("*.pid")):
        try:
            pids[path.stem] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return pids


def _process_state(pid: int) -> str | None:
    """The kernel's state letter of `pid` (`Z` for a zombie), None when it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _binaries(site: str) -> set[Path]:
    """The programs the cluster's components run (bin/ holds links to the tool cache)."""
    bindir = _cluster_dir(site) / "bin"
    return {b.resolve() for b in bindir.iterdir()} if bindir.is_dir() else set()


def _ours(pid: int, binaries: set[Path]) -> bool:
    """`pid` is a live process of the cluster: not gone, not a zombie (which has no exe),
    and not an unrelated process that was given a recorded pid again."""
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return False
    return exe in binaries and _process_state(pid) not in (None, "Z")


def _alive_components(site: str) -> set[str]:
    binaries = _binaries(site)
    return {name for name, pid in _component_pids(site).items() if _ours(pid, binaries)}


def _stop_components(site: str, timeout: float = 60) -> None:
    """Stop what is left of a half-dead control plane and wait until its processes are gone.

    kwokctl starts only the components whose recorded process still answers signal 0. After
    the API server was killed, that is wrong twice: the killed server lingers as a zombie
    for a moment (so it counted as running and was never started again), and the
    controller manager and scheduler, still alive then, exit seconds later when they lose
    their leases. Seen as a restart that never became ready. A clean stop first makes
    `kwokctl start` start every component.
    """
    binaries = _binaries(site)
    recorded = _component_pids(site)
    old = {n: p for n, p in recorded.items() if _ours(p, binaries)}
    for name in set(recorded) - set(old):
        # kwokctl would signal whatever process has that pid now
        (_pid_dir(site) / f"{name}.pid").unlink(missing_ok=True)
    kwokctl("stop", "cluster", "--name", cluster_name(site), timeout=120)
    deadline = time.monotonic() + timeout
    while True:
        left = {n: p for n, p in old.items() if _ours(p, binaries)}
        if not left:
            return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"cluster {site}: {', '.join(sorted(left))} did not exit within {timeout:.0f} s "
                f"of `kwokctl stop` (pids {', '.join(str(p) for p in left.values())}); "
                f"run `govcloud cluster down` and `govcloud cluster up` to recreate it")
        time.sleep(0.5)


def _refuse_taken_port(site: str) -> None:
    """A stopped cluster restarts on the ports it was created with; if another process
    took its API server's port meanwhile (seen when a second set of clusters was created
    while one was down), `kwokctl start` would wait on the wrong server for minutes. Called
    after `_stop_components`, so a listener on the port is never the cluster's own."""
    import socket
    from urllib.parse import urlparse

    try:
        cfg = yaml.safe_load(_cluster_kubeconfig(site).read_text())
        port = urlparse(cfg["clusters"][0]["cluster"]["server"]).port
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return
    if port is None:
        return
    with socket.socket() as sock:
        sock.settimeout(1)
        taken = sock.connect_ex(("127.0.0.1", port)) == 0
    if taken:
        raise ClusterError(
            f"cluster {site}: its API server's port 127.0.0.1:{port} is now used by another "
            f"process, so it cannot start again there. Run `govcloud cluster down` and "
            f"`govcloud cluster up` to recreate it on free ports (its objects are lost; "
            f"`govcloud up` puts them back)."
        )


def existing() -> list[str]:
    """Sites whose control plane was created (running or not)."""
    if not (kwok_workdir() / "clusters").is_dir():
        return []
    return sorted(p.name.removeprefix("govcloud-") for p in (kwok_workdir() / "clusters").iterdir()
                  if p.name.startswith("govcloud-") and (p / "kwok.yaml").exists())


def write_kubeconfig() -> Path:
    """One kubeconfig with every created site, its context named as its stack file says."""
    contexts = site_contexts()
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                              "clusters": [], "users": [], "contexts": []}
    for site in existing():
        path = _cluster_kubeconfig(site)
        if site not in contexts or not path.exists():
            continue
        src = yaml.safe_load(path.read_text())
        ctx = contexts[site]
        merged["clusters"].append({"name": ctx, "cluster": src["clusters"][0]["cluster"]})
        merged["users"].append({"name": ctx, "user": src["users"][0]["user"]})
        merged["contexts"].append({"name": ctx, "context": {"cluster": ctx, "user": ctx}})
    if merged["contexts"]:
        merged["current-context"] = merged["contexts"][0]["name"]
    path = kubeconfig_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    path.chmod(0o600)
    return path


def _apply(context: str, manifests: list[dict[str, Any]]) -> None:
    if manifests:
        kubectl(context, "apply", "--server-side", "--force-conflicts",
                "--field-manager=govcloud-cluster", "-f", "-",
                stdin="\n---\n".join(json.dumps(m) for m in manifests), timeout=300)


def ensure_nodes(site: str) -> int:
    """Create the site's KWOK nodes that are missing (status is only settable at create)."""
    context = site_contexts()[site]
    have = {n["metadata"]["name"] for n in kube_json(context, "get", "nodes")["items"]}
    missing = [n for n in node_manifests(site) if n["metadata"]["name"] not in have]
    if missing:
        kubectl(context, "create", "-f", "-",
                stdin="\n---\n".join(json.dumps(m) for m in missing), timeout=300)
    return len(missing)


def ensure_volumes(site: str, manifests: Iterable[dict[str, Any]]) -> int:
    """One pre-bound volume per claim of the site's stack; released ones are re-offered.

    Refused when the claims need more than the site's allocatable storage (the model's
    capacity), exactly as the admission ledger would refuse the departments.
    """
    from govcloud.model import load_estate

    context = site_contexts()[site]
    wanted = claims(manifests)
    spec = next(s for s in load_estate().sites if str(s.name) == site)
    total = sum(_bytes(c.size) for c in wanted)
    allocatable = int(spec.allocatable()["storage"])
    if total > allocatable:
        raise ClusterError(f"site {site}: its claims need {total / 2**40:.1f} TiB, more than "
                           f"its allocatable storage ({allocatable / 2**40:.1f} TiB)")
    _apply(context, [STORAGE_CLASS_MANIFEST])
    have = {p["metadata"]["name"]: p for p in
            kube_json(context, "get", "pv", "-l", f"{POOL_LABEL}={site}")["items"]}
    created = [volume_manifest(site, c) for c in wanted if c.volume_name not in have]
    _apply(context, created)
    for c in wanted:
        pv = have.get(c.volume_name)
        if pv and pv.get("status", {}).get("phase") == "Released":
            # the claim was deleted (destroy) and will be made again: offer the volume anew
            kubectl(context, "patch", "pv", c.volume_name, "--type=json", "-p", json.dumps(
                [{"op": "remove", "path": "/spec/claimRef/uid"},
                 {"op": "remove", "path": "/spec/claimRef/resourceVersion"}]), check=False)
    return len(created)


def _healthy(context: str) -> bool:
    proc = kubectl(context, "get", "--raw", "/readyz", check=False, timeout=40)
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def wait_ready(context: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _healthy(context):
            return
        time.sleep(1)
    raise ClusterError(f"the API server of context {context} did not become ready in "
                       f"{timeout:.0f} s (see `govcloud cluster status`)")


def up(sites: list[str] | None = None, log: Callable[[str], None] = print) -> Path:
    """Create (or start again) the control planes of `sites` (default: every stack)."""
    tools = _require_tools("kwokctl", "kwok", "etcd", "kube-apiserver",
                           "kube-controller-manager", "kube-scheduler", "kubectl")
    contexts = site_contexts()
    sites = sites or sorted(contexts)
    kwok_workdir().mkdir(parents=True, exist_ok=True)
    config = engine_dir() / "kwokctl.yaml"
    config.write_text(_kwokctl_config(tools))
    for site in sites:
        if site not in contexts:
            raise ClusterError(f"no stack for site {site!r} (known: {', '.join(sorted(contexts))})")
        t0 = time.monotonic()
        name = cluster_name(site)
        if site in existing():
            write_kubeconfig()
            if _alive_components(site) == set(_component_pids(site)) and _healthy(contexts[site]):
                verb = "already running"
            else:
                _stop_components(site)
                _refuse_taken_port(site)
                kwokctl("start", "cluster", "--name", name, timeout=300)
                verb = "started"
        else:
            kwokctl("--config", str(config), "create", "cluster", "--name", name,
                    "--kubeconfig", str(engine_dir() / f"{name}.kwokctl-kubeconfig"),
                    "--wait", "120s", timeout=300)
            verb = "created"
        write_kubeconfig()
        wait_ready(contexts[site])
        nodes = ensure_nodes(site)
        _apply(contexts[site], [STORAGE_CLASS_MANIFEST])
        log(f"cluster {site}: {verb} ({contexts[site]}), {nodes} node(s) added, "
            f"{time.monotonic() - t0:.1f} s")
    path = write_kubeconfig()
    log(f"kubeconfig: {path}")
    return path


def status() -> list[dict[str, str]]:
    """One row per stack's site: created?, API server health, nodes ready, PVs bound."""
    contexts = site_contexts()
    made = set(existing())
    rows = []
    for site, context in sorted(contexts.items()):
        row = {"site": site, "context": context, "cluster": cluster_name(site),
               "state": "absent", "server": "-", "nodes": "-", "volumes": "-"}
        if site in made:
            row["state"] = "down"
            src = yaml.safe_load(_cluster_kubeconfig(site).read_text()) \
                if _cluster_kubeconfig(site).exists() else None
            if src:
                row["server"] = src["clusters"][0]["cluster"]["server"]
            if kubeconfig_path().exists() and _healthy(context):
                row["state"] = "up"
                nodes = kube_json(context, "get", "nodes")["items"]
                ready = sum(1 for n in nodes for c in n["status"].get("conditions", [])
                            if c["type"] == "Ready" and c["status"] == "True")
                row["nodes"] = f"{ready}/{len(nodes)} ready"
                pvs = kube_json(context, "get", "pv")["items"]
                bound = sum(1 for p in pvs if p.get("status", {}).get("phase") == "Bound")
                row["volumes"] = f"{bound}/{len(pvs)} bound"
        rows.append(row)
    return rows


def down(log: Callable[[str], None] = print) -> bool:
    """Delete every control plane this clone created; True when something was left behind."""
    leftover = False
    for site in existing():
        t0 = time.monotonic()
        proc = kwokctl("delete", "cluster", "--name", cluster_name(site), check=False)
        if proc.returncode != 0:
            leftover = True
            log(f"cluster {site}: delete failed: {proc.stderr.strip()[-500:]}")
        else:
            log(f"cluster {site}: processes stopped, etcd data and PKI removed "
                f"({time.monotonic() - t0:.1f} s)")
    for path in [kubeconfig_path(), *engine_dir().glob("*.kwokctl-kubeconfig")]:
        path.unlink(missing_ok=True)
    if (kwok_workdir() / "clusters").is_dir() and not any((kwok_workdir() / "clusters").iterdir()):
        shutil.rmtree(kwok_workdir() / "clusters")
    left = existing()
    if left:
        leftover = True
        log(f"still present: {', '.join(left)} under {kwok_workdir()}")
    else:
        log("clusters: none left")
    return leftover
