"""The rule ids the README promises are exactly the ones the bad-input cases exercise."""

from __future__ import annotations

import re

from test_loader import CASES as LOADER_CASES
from test_rules import CASES as RULE_CASES

from govcloud.model.loader import REPO_ROOT


def _readme_rule_ids() -> set[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Validating the estate", 1)[1].split("\n## ", 1)[0]
    listed = section.split("Rules (ids are stable", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z][a-z-]+)`", listed))


def test_every_readme_rule_has_a_case() -> None:
    tested = {c.rule for c in [*LOADER_CASES.values(), *RULE_CASES.values()]}
    listed = _readme_rule_ids()
    assert len(listed) >= 20
    assert listed <= tested, f"README rules without a test: {sorted(listed - tested)}"
    assert tested <= listed, f"rules tested but missing from the README: {sorted(tested - listed)}"
