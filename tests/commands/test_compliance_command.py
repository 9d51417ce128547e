"""``govcloud compliance check|report`` end to end (policies that need no plan, to stay fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govcloud.cli import main

ESTATE_ONLY = [
    "--policy",
    "separation-of-duties",
    "--policy",
    "crypto-sm",
    "--policy",
    "mlps3-offsite-realtime",
]


def test_report_writes_markdown_html_and_diagram(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rep"
    assert (
        main(
            [
                "compliance",
                "report",
                "--out",
                str(out),
                "--today",
                "2026-11-21",
                "--stack",
                "region-a-dc1",
                *ESTATE_ONLY,
            ]
        )
        == 0
    )
    md = (out / "compliance.md").read_text(encoding="utf-8")
    assert "### GB/T 22239-2019 8.1.4.2 d) — 安全计算环境 / 访问控制" in md
    assert "### GB/T 39786-2021 6.2 (section; item number unverified)" not in md  # ref only
    assert "GB/T 39786-2021 6.2 — 密码应用技术要求 / 网络和通信安全" in md
    assert "| [`separation-of-duties`](#separation-of-duties) | mandatory |" in md
    assert "waived: crypto.yaml: channel ops-ssh" in md
    assert "![segmentation diagram](segmentation.svg)" in md
    # what the lab really deploys, and what it cannot show, stated plainly
    assert "## Security appliances" in md
    assert ("| dc1-ips | ips | region-a-dc1 | in chain of egov-wan-ingress, "
            "dedicated-to-extranet |") in md and "| **not deployed** |" in md
    assert "| dc1-anti-ddos | anti-ddos | region-a-dc1 | in chain of public-web-ingress |" in md
    assert "## Host baseline" in md
    # (only some policies are evaluated here: the row carries no status mark)
    assert "| file integrity (AIDE) | `file_integrity` | `host-file-integrity` |" in md
    assert "vendor signatures: **not verifiable in the lab**" in md
    html = (out / "compliance.html").read_text(encoding="utf-8")
    assert '<h3 id="crypto-sm">' in html and "赵敏 (security-admin)" in html
    assert "<h2>Security appliances</h2>" in html and "<h2>Host baseline</h2>" in html
    svg = (out / "segmentation.svg").read_text(encoding="utf-8").replace("&#45;", "-")
    for flow in ("internet-to-extranet-ferry", "ops-access", "public-web-ingress"):
        assert flow in svg
    assert (out / "segmentation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "compliance report written to" in capsys.readouterr().out


def test_check_passes_the_sample_and_fails_a_broken_estate(estate_copy: Path, capsys) -> None:
    assert (
        main(
            [
                "--estate",
                str(estate_copy),
                "compliance",
                "check",
                "--today",
                "2026-11-21",
                *ESTATE_ONLY,
            ]
        )
        == 0
    )
    ops = estate_copy / "operators.yaml"
    data = yaml.safe_load(ops.read_text(encoding="utf-8"))
    data["operators"][2]["roles"] = ["audit-admin", "security-admin"]
    ops.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert (
        main(
            [
                "--estate",
                str(estate_copy),
                "compliance",
                "check",
                "--today",
                "2026-11-21",
                *ESTATE_ONLY,
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "MANDATORY fail        separation-of-duties @ estate" in out
    assert "liu-yang (刘洋) holds audit-admin + security-admin" in out


def test_check_fails_once_a_waiver_expires(capsys) -> None:
    assert main(["compliance", "check", "--today", "2028-01-01", "--policy", "crypto-sm"]) == 1
    out = capsys.readouterr().out
    assert "expired on 2027-03-31 (today is 2028-01-01)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compliance", "check", "--policy", "nope"], "unknown policy nope"),
        (["compliance", "check", "--stack", "region-c"], "unknown stack region-c"),
    ],
)
def test_bad_arguments_are_refused_without_traceback(argv, message: str, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_waiver_file_names_file_field_rule(estate_copy: Path, capsys) -> None:
    (estate_copy / "waivers.yaml").write_text(
        "waivers:\n  - {policy: crypto-sm, scope: '*', approver: me, expires: soon,\n"
        "     justification: long enough to be a justification}\n",
        encoding="utf-8",
    )
    assert main(["--estate", str(estate_copy), "compliance", "check", *ESTATE_ONLY]) == 2
    err = capsys.readouterr().err
    assert "waivers.yaml: waivers[0].expires: [schema]" in err
