"""Validation problems: what every bad-input message is made of.

A problem always names the file, the field (a dotted path inside that file) and the
rule it breaks, so an engineer can go straight to the line. Commands print them and
exit with status 2; nothing is rendered or applied while any exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: [{self.rule}] {self.message}"


class EstateError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=_reading_order)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"estate data is invalid ({len(self.problems)} problem(s)):"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def rules(self) -> set[str]:
        return {p.rule for p in self.problems}


def _reading_order(p: Problem) -> tuple[object, ...]:
    """File, then field with list indices compared as numbers (flows[4] before flows[10])."""
    parts = re.split(r"(\d+)", p.field)
    field = tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in parts)
    return (p.file, field, p.rule, p.message)


def field_path(*parts: object) -> str:
    """``("systems", 2, "mlps_level")`` -> ``systems[2].mlps_level``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
