"""The runbook parser: the shipped runbooks parse, and each malformed block is refused
with the file, line and rule named."""

from __future__ import annotations

from pathlib import Path

import pytest

from govcloud.drills.runbook import (
    Phase,
    RunbookError,
    StepKind,
    TargetSet,
    load_runbook,
    parse_runbook,
)

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"

HEAD = """---
drill:
  targets: in-city
  preconditions: {state: dual-active, leader: dc1-pg}
---
# Loss of DC1

## Steps
"""


def _rb(body: str, head: str = HEAD) -> str:
    return head + body


def test_steps_in_order_with_attributes() -> None:
    rb = parse_runbook(
        _rb(
            "### Cut\n"
            "```drill id=cut kind=fault marks=fault\ncut region-a-dc1\n```\n"
            "Some prose with a normal block:\n```sh\nnot a step\n```\n"
            '```drill id=wait-leader kind=wait host=dc2-pg timeout=20 interval=0.2 title="leader"\n'
            "patronictl -c /etc/patroni/15-main.yml list | grep Leader\n```\n"
            "```drill id=undo kind=exec host=dc1-pg phase=rollback\n"
            "systemctl start patroni@15-main\n```\n"
        ),
        "x.md",
    )
    assert rb.title == "Loss of DC1"
    assert rb.targets == TargetSet.IN_CITY
    assert rb.preconditions == {"state": "dual-active", "leader": "dc1-pg"}
    assert [s.id for s in rb.steps] == ["cut", "wait-leader", "undo"]
    cut, wait, undo = rb.steps
    assert (
        cut.kind == StepKind.FAULT and cut.commands == ["cut region-a-dc1"] and cut.title == "Cut"
    )
    assert rb.fault_step is cut
    assert (wait.host, wait.timeout, wait.interval, wait.title) == ("dc2-pg", 20.0, 0.2, "leader")
    assert wait.body.startswith("patronictl")
    assert undo.phase == Phase.ROLLBACK and rb.phase(Phase.ROLLBACK) == [undo]


@pytest.mark.parametrize(
    ("body", "rule", "line"),
    [
        ("```drill kind=exec host=a\ntrue\n```\n", "missing-id", 9),
        ("```drill id=a kind=teleport\n```\n", "unknown-kind", 9),
        ("```drill id=a kind=exec\ntrue\n```\n", "missing-host", 9),
        (
            "```drill id=a kind=fault host=x marks=fault\ncut region-a-dc1\n```\n",
            "unexpected-host",
            9,
        ),
        ("```drill id=a kind=exec host=h colour=red\ntrue\n```\n", "unknown-attr", 9),
        ("```drill id=a kind=exec host=h timeout=soon\ntrue\n```\n", "bad-number", 9),
        ("```drill id=a kind=exec host=h\n\n```\n", "empty-body", 9),
        ("```drill id=a kind=fault marks=fault\nexplode dc1\n```\n", "fault-syntax", 9),
        ("```drill id=a kind=load\nfaster\n```\n", "load-syntax", 9),
        ("```drill id=a kind=exec host=h\ntrue\n", "unclosed-block", 9),
        (
            "```drill id=a kind=fault marks=fault\ncut x\n```\n```drill id=a kind=pause\n```\n",
            "duplicate-id",
            12,
        ),
        ("```drill id=a kind=pause\n```\n", "fault-missing", 2),
        ("no blocks at all\n", "no-steps", 1),
        ("```drill id=a kind=dns\nmove hotline dc2\n```\n", "dns-syntax", 9),
        ("```drill id=a kind=pause marks=later\n```\n", "unknown-mark", 9),
    ],
)
def test_malformed_blocks_name_line_and_rule(body: str, rule: str, line: int) -> None:
    with pytest.raises(RunbookError) as err:
        parse_runbook(_rb(body), "bad.md")
    assert err.value.rule == rule
    assert err.value.line == line
    assert str(err.value).startswith(f"bad.md:{line}: [{rule}]")


def test_front_matter_is_required() -> None:
    with pytest.raises(RunbookError) as err:
        parse_runbook("# no front matter\n", "nf.md")
    assert err.value.rule == "front-matter"
    with pytest.raises(RunbookError) as err:
        parse_runbook("---\ndrill:\n  targets: sometime\n---\n", "t.md")
    assert err.value.rule == "targets"


@pytest.mark.parametrize(
    ("name", "targets"),
    [
        ("switchover-dc1-to-dc2.md", TargetSet.SWITCHOVER),
        ("failover-dc1-loss.md", TargetSet.IN_CITY),
        ("failover-region-a-loss.md", TargetSet.OFFSITE),
        ("failback-to-region-a.md", TargetSet.FAILBACK),
    ],
)
def test_shipped_runbooks_parse(name: str, targets: TargetSet) -> None:
    rb = load_runbook(RUNBOOKS / name)
    assert rb.targets == targets
    kinds = {s.kind for s in rb.steps}
    assert StepKind.LOAD in kinds
    # every runbook verifies its outcome and documents a rollback
    assert rb.phase(Phase.VERIFY), name
    assert rb.phase(Phase.ROLLBACK), name
    if targets in (TargetSet.IN_CITY, TargetSet.OFFSITE):
        assert rb.fault_step is not None and rb.fault_step.kind == StepKind.FAULT
