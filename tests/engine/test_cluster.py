"""What a site's control plane offers, derived from the model (no toolchain needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from govcloud.engine import cluster
from govcloud.model.quantity import parse_bytes
from govcloud.plan import stack_names


def _cpu(q: str) -> Decimal:
    return Decimal(q.removesuffix("m")) / 1000


@pytest.mark.parametrize("site", stack_names())
def test_nodes_offer_exactly_the_sites_pool_never_more(estate, site) -> None:
    spec = next(s for s in estate.sites if str(s.name) == site)
    nodes = cluster.node_manifests(site)
    assert len(nodes) == spec.capacity.hosts
    assert len({n["metadata"]["name"] for n in nodes}) == len(nodes)
    cpu = sum(_cpu(n["status"]["allocatable"]["cpu"]) for n in nodes)
    mem = sum(int(n["status"]["allocatable"]["memory"].removesuffix("Ki")) * 1024
              for n in nodes)
    pool = spec.allocatable()
    assert cpu <= pool["vcpu"] and pool["vcpu"] - cpu < spec.capacity.hosts  # rounding only
    assert mem <= pool["memory"] and pool["memory"] - mem < spec.capacity.hosts * 2048
    for n in nodes:
        assert n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert n["metadata"]["labels"][cluster.NODE_LABEL] == site
        assert n["status"]["allocatable"]["pods"] == str(spec.capacity.pods_per_host)


def test_claims_cover_every_statefulset_pod_and_standalone_claim(stack_plans) -> None:
    manifests = stack_plans["region-a-dc1"].manifests
    got = cluster.claims(manifests)
    want = sum(1 for m in manifests if m["kind"] == "PersistentVolumeClaim") + sum(
        len(m["spec"].get("volumeClaimTemplates") or []) * int(m["spec"].get("replicas", 1))
        for m in manifests if m["kind"] == "StatefulSet")
    assert want > 0 and len(got) == want
    names = [c.volume_name for c in got]
    assert len(set(names)) == len(names)  # one volume per claim, deterministic names
    assert names == [c.volume_name for c in cluster.claims(manifests)]
    assert all(len(n) <= 63 for n in names)
    pv = cluster.volume_manifest("region-a-dc1", got[0])
    assert pv["spec"]["claimRef"] == {"namespace": got[0].namespace, "name": got[0].name}
    assert pv["spec"]["storageClassName"] == cluster.STORAGE_CLASS
    assert parse_bytes(pv["spec"]["capacity"]["storage"]) == parse_bytes(got[0].size)


def test_contexts_come_from_the_stack_files() -> None:
    from govcloud.plan.engine import read_stack_config

    contexts = cluster.site_contexts()
    assert sorted(contexts) == sorted(stack_names())
    for stack in stack_names():
        assert contexts[stack] == read_stack_config(stack)[0]["govcloud:kubeContext"]


def test_kwokctl_config_binds_loopback_with_admission_and_rbac(tmp_path) -> None:
    import yaml

    tools = {n: tmp_path / n for n in ("etcd", "kube-apiserver", "kube-controller-manager",
                                       "kube-scheduler", "kubectl", "kwok")}
    opts = yaml.safe_load(cluster._kwokctl_config(tools))["options"]
    assert opts["bindAddress"] == "127.0.0.1"
    assert opts["runtime"] == "binary"
    assert opts["kubeAuthorization"] is True and opts["kubeAdmission"] is True
    assert opts["kubeApiserverBinary"] == str(tools["kube-apiserver"])


def test_service_range_holds_every_planned_service_with_room(stack_plans) -> None:
    import ipaddress

    import yaml

    conf = yaml.safe_load(cluster._kwokctl_config({n: Path(n) for n in (
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
        "kwok")}))
    (patch,) = conf["componentsPatches"]
    assert patch["name"] == "kube-apiserver"
    (arg,) = patch["extraArgs"]
    assert arg["key"] == "service-cluster-ip-range"
    room = ipaddress.ip_network(arg["value"]).num_addresses - 2
    for stack, plan in stack_plans.items():
        services = sum(1 for m in plan.manifests if m["kind"] == "Service")
        assert services * 100 < room, (stack, services)  # a hundredfold estate still fits


def test_tools_missing_names_what_to_run(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GOVCLOUD_ENGINE_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(cluster.ClusterError, match=r"scripts/setup --engine"):
        cluster.up(["region-a-dc1"], log=lambda _m: None)


def test_restart_refuses_a_port_another_process_took(monkeypatch, tmp_path) -> None:
    import socket

    monkeypatch.setattr(cluster, "kwok_workdir", lambda: tmp_path)
    workdir = tmp_path / "clusters" / cluster.cluster_name("region-a-dc2")
    (workdir / "pids").mkdir(parents=True)
    (workdir / "pids" / "kube-apiserver.pid").write_text("999999999\n")  # gone
    with socket.socket() as other:  # the other process, on loopback
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        (workdir / "kubeconfig.yaml").write_text(
            f"clusters:\n- cluster:\n    server: https://127.0.0.1:{port}\n  name: x\n")
        with pytest.raises(cluster.ClusterError,
                           match=rf"port 127.0.0.1:{port} is now used by another process.*"
                                 r"govcloud cluster down"):
            cluster._refuse_taken_port("region-a-dc2")
    cluster._refuse_taken_port("region-a-dc2")  # the port is free again: start may go on


def _pid_files(tmp_path, **pids: int) -> None:
    piddir = tmp_path / "clusters" / cluster.cluster_name("region-a-dc2") / "pids"
    piddir.mkdir(parents=True, exist_ok=True)
    for name, pid in pids.items():
        (piddir / f"{name}.pid").write_text(f"{pid}\n")


def _component(tmp_path, name: str, *args: str) -> subprocess.Popen:
    """A real process run from the cluster's bin/ as kwokctl runs its components."""
    bindir = tmp_path / "clusters" / cluster.cluster_name("region-a-dc2") / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / name
    if not exe.exists():  # kwokctl links each binary to its cache: so here
        real = tmp_path / "cache" / name
        real.parent.mkdir(exist_ok=True)
        shutil.copy2(shutil.which("sleep"), real)
        exe.symlink_to(real)
    return subprocess.Popen([str(exe), *args])


def _zombie(tmp_path, name: str) -> subprocess.Popen:
    proc = _component(tmp_path, name, "0")  # exits at once and is not reaped: a zombie
    deadline = time.monotonic() + 10
    while cluster._process_state(proc.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_only_live_processes_of_the_cluster_count_as_running(monkeypatch, tmp_path) -> None:
    """kwokctl's own check (signal 0) takes a zombie, or any process that was given a
    recorded pid again, for a running component; ours must not."""
    monkeypatch.setattr(cluster, "kwok_workdir", lambda: tmp_path)
    zombie = _zombie(tmp_path, "kube-apiserver")
    etcd = _component(tmp_path, "etcd", "30")
    try:
        assert cluster._process_state(zombie.pid) == "Z"
        _pid_files(tmp_path, **{"kube-apiserver": zombie.pid, "etcd": etcd.pid,
                                "kube-scheduler": 999_999_999,  # gone
                                "kwok-controller": os.getpid()})  # another program now
        assert cluster._alive_components("region-a-dc2") == {"etcd"}
    finally:
        for proc in (zombie, etcd):
            proc.kill()
            proc.wait()


def test_stop_waits_for_old_processes_and_names_one_that_stays(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(cluster, "kwok_workdir", lambda: tmp_path)
    stops = []
    monkeypatch.setattr(cluster, "kwokctl", lambda *a, **kw: stops.append(a))
    piddir = tmp_path / "clusters" / cluster.cluster_name("region-a-dc2") / "pids"
    zombie = _zombie(tmp_path, "kube-apiserver")
    try:
        _pid_files(tmp_path, **{"kube-apiserver": zombie.pid, "kwok-controller": os.getpid()})
        cluster._stop_components("region-a-dc2", timeout=5)  # a zombie holds no port: done
        # a pid given to another program is forgotten, so kwokctl cannot signal it
        assert not (piddir / "kwok-controller.pid").exists()
    finally:
        zombie.wait()
    stayer = _component(tmp_path, "kube-controller-manager", "30")
    try:
        _pid_files(tmp_path, **{"kube-controller-manager": stayer.pid})
        with pytest.raises(cluster.ClusterError,
                           match=rf"kube-controller-manager did not exit within 1 s.*"
                                 rf"pids {stayer.pid}.*govcloud cluster down"):
            cluster._stop_components("region-a-dc2", timeout=1)
    finally:
        stayer.kill()
        stayer.wait()
    assert stops == [("stop", "cluster", "--name", cluster.cluster_name("region-a-dc2"))] * 2
