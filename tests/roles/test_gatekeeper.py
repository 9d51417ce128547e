"""roles/gatekeeper: legs and ferries from the model, packet filter, rsync modules, mover."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from govcloud.lab import Topology, build_topology
from govcloud.lab.profile import load_profile
from govcloud.model import Estate
from roles import gatekeeper as gk

MOVER = Path(gk.__file__).parent / "files" / "govcloud-ferry"


@pytest.fixture(scope="module")
def topo(estate: Estate) -> Topology:
    return build_topology(estate, load_profile(estate))


@pytest.fixture(scope="module")
def data(estate: Estate, topo: Topology) -> gk.Data:
    return gk.data_for(estate, topo.host("dc1-gk"))


def test_ferries_come_from_the_flow_matrix(data: gk.Data) -> None:
    by_name = {f.name: f for f in data.ferries}
    assert set(by_name) == {"inward", "outward"}
    assert by_name["inward"].flow == "internet-to-extranet-ferry"
    assert by_name["inward"].source_zone == "internet"
    assert by_name["outward"].flow == "extranet-to-internet-ferry"
    assert data.ports == [873]


def test_legs_are_the_hosts_two_zones(estate: Estate, topo: Topology, data: gk.Data) -> None:
    host = topo.host("dc1-gk")
    assert data.leg("internet").address == host.leg("internet").ip
    assert data.leg("extranet").address == host.leg("extranet").ip
    assert data.leg("extranet").clients == sorted(estate.zone("extranet").cidrs.values())
    assert set(estate.zone("management").cidrs.values()) <= set(data.admin_sources)


def test_packet_filter_forward_drop_and_per_leg_port(data: gk.Data) -> None:
    nft = gk.render("nftables.nft.j2", data)
    assert "hook forward priority filter; policy drop;" in nft
    assert "hook input priority filter; policy drop;" in nft
    for leg in data.legs:
        zone = leg.zone.replace("-", "_")
        assert (f'iifname "{leg.ifname}" ip daddr {leg.address} ip saddr @clients_{zone} '
                "tcp dport 873 accept") in nft
    # port 80/443 or any other interactive port is never opened
    assert "dport 80" not in nft and "dport 443" not in nft
    assert "tcp dport 22 ip saddr @admin_v4 accept" in nft


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="nft -c needs root")
def test_packet_filter_is_valid_nftables(data: gk.Data, tmp_path: Path) -> None:
    path = tmp_path / "gk.nft"
    path.write_text(gk.render("nftables.nft.j2", data))
    out = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_rsync_modules_write_only_in_read_only_out(data: gk.Data) -> None:
    outer = gk.render("rsyncd.conf.j2", data, leg=data.leg("internet"))
    inner = gk.render("rsyncd.conf.j2", data, leg=data.leg("extranet"))
    assert f"address = {data.leg('internet').address}" in outer
    # the internet side may drop files for the extranet, never read them back
    push = outer.split("[to-extranet]")[1].split("[")[0]
    assert "write only = yes" in push and "list = no" in push and "read only = no" in push
    assert "refuse options = delete*" in push
    pull = inner.split("[from-internet]")[1].split("[")[0]
    assert "read only = yes" in pull and "write only = no" in pull
    # each module is served on one leg only
    assert "[from-internet]" not in outer and "[to-extranet]" not in inner


def test_mover_has_no_network(data: gk.Data) -> None:
    unit = gk.render("govcloud-ferry.service.j2", data, f=data.ferries[0])
    assert "PrivateNetwork=yes" in unit and "User=ferry" in unit


def test_forwarding_off_persisted(data: gk.Data) -> None:
    assert "net.ipv4.ip_forward = 0" in gk.render("sysctl.conf.j2", data)


# ---------------------------------------------------------------- the mover itself


def _mover() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("govcloud_ferry", str(MOVER))
    spec = importlib.util.spec_from_loader("govcloud_ferry", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


@pytest.fixture
def spool(tmp_path: Path) -> dict:
    for sub in ("inbox", "outbox", "quarantine"):
        (tmp_path / sub).mkdir()
    return {"flow": "internet-to-extranet-ferry", "name": "inward",
            "inbox": str(tmp_path / "inbox"), "outbox": str(tmp_path / "outbox"),
            "quarantine": str(tmp_path / "quarantine"), "content_checks": True,
            "malware_scan": False,  # the scanner's own cases below use a stand-in
            "allowed_suffixes": [".txt", ".csv", ".json", ".xml", ".pdf"], "max_bytes": 1024}


def test_mover_checks_content(spool: dict, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = Path(spool["inbox"])
    (inbox / "report.json").write_text(json.dumps({"ticket": 1, "text": "路灯坏了"}))
    (inbox / "notes.txt").write_text("plain text\n")
    (inbox / "doc.pdf").write_bytes(b"%PDF-1.4\n...")
    (inbox / "fake.pdf").write_bytes(b"MZ\x90\x00")
    (inbox / "bad.json").write_text("{not json")
    (inbox / "bin.txt").write_bytes(b"text\x00with nul")
    (inbox / "run.sh").write_text("#!/bin/sh\n")
    (inbox / "big.txt").write_text("x" * 2000)
    (inbox / ".partial.txt.XyZ").write_text("rsync still writing")
    (inbox / "link.txt").symlink_to("/etc/passwd")
    mod = _mover()
    moved, refused = mod.sweep(spool)
    assert sorted(os.listdir(spool["outbox"])) == ["doc.pdf", "notes.txt", "report.json"]
    assert sorted(os.listdir(spool["quarantine"])) == [
        "bad.json", "big.txt", "bin.txt", "fake.pdf", "run.sh"]
    assert (moved, refused) == (3, 6)
    # the file rsync is still writing stays; the symlink is gone, never followed
    assert os.listdir(spool["inbox"]) == [".partial.txt.XyZ"]
    log = capsys.readouterr().out
    assert "action=refused file='link.txt' reason='not a regular file'" in log
    assert "action=moved file=report.json sha256=" in log
    assert Path(spool["outbox"], "report.json").read_text() == json.dumps(
        {"ticket": 1, "text": "路灯坏了"})


def test_mover_without_content_checks_moves_any_regular_file(spool: dict) -> None:
    spool["content_checks"] = False
    Path(spool["inbox"], "run.sh").write_text("#!/bin/sh\n")
    assert _mover().sweep(spool) == (1, 0)


# A stand-in with clamscan's interface (exit 0 clean, 1 found with "<path>: <sig> FOUND",
# 2 error): the mover's decisions are tested here, the real ClamAV on the lab gatekeeper.
FAKE_CLAMSCAN = """#!/bin/sh
f="$4"
if grep -q EICAR "$f"; then echo "$f: Test.EICAR FOUND"; exit 1; fi
if grep -q BROKEN "$f"; then
  echo "LibClamAV Error: cli_loaddbdir(): No supported database files found" >&2; exit 2
fi
exit 0
"""


@pytest.fixture
def scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    fake = tmp_path / "clamscan"
    fake.write_text(FAKE_CLAMSCAN)
    fake.chmod(0o755)
    mod = _mover()
    monkeypatch.setattr(mod, "SCANNER", str(fake))
    return mod


def test_mover_refuses_what_the_scanner_finds(spool: dict, scanner: ModuleType,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    spool["malware_scan"] = True
    inbox = Path(spool["inbox"])
    (inbox / "clean.txt").write_text("plain text\n")
    (inbox / "eicar.txt").write_text("X5O EICAR test\n")
    (inbox / "unjudged.txt").write_text("BROKEN signatures\n")
    assert scanner.sweep(spool) == (1, 2)
    assert os.listdir(spool["outbox"]) == ["clean.txt"]
    log = capsys.readouterr().out
    assert "file='eicar.txt' reason='malware: Test.EICAR'" in log
    # fails closed: no verdict, no crossing
    assert ("file='unjudged.txt' reason='malware scan failed (LibClamAV Error: "
            "cli_loaddbdir(): No supported database files found)'") in log


def test_mover_refuses_everything_without_a_scanner(spool: dict, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spool["malware_scan"] = True
    mod = _mover()
    monkeypatch.setattr(mod, "SCANNER", str(tmp_path / "absent"))
    Path(spool["inbox"], "clean.txt").write_text("plain text\n")
    assert mod.sweep(spool) == (0, 1)
    assert mod.check(str(Path(spool["quarantine"], "clean.txt")), "clean.txt", spool) == (
        "malware scanner missing")
