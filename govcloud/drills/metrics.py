"""RTO / RPO arithmetic over a drill's write timeline (pure functions, unit-tested).

The load client records one :class:`Attempt` per write: when it was sent, when the answer
(or the error) came back, and whether the service acknowledged it. An acknowledgement
means COMMIT returned on the database (the service answers only after it), so an
acknowledged write that is missing after recovery is data lost.

Definitions (stated in every report):

* **RTO** — from the fault to the first acknowledged write that was *sent* after the
  fault (a write already in flight at the fault does not prove the service recovered).
* **write pause** — the longest gap between two consecutive acknowledgements inside a
  window (used for planned switchovers, which have no fault instant).
* **RPO count** — acknowledged writes absent from the database after recovery.
* **RPO seconds** — from the last acknowledged write that survived (before the first
  lost one) to the last lost write: the span of committed work that is gone. 0 when
  nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from govcloud.model.schema import Edition, TierDef


@dataclass(frozen=True)
class Attempt:
    """One write through the service, as the client saw it (wall-clock seconds)."""

    req: str
    sent: float
    done: float
    ok: bool
    seq: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Rpo:
    lost: int
    seconds: float
    first_lost: str | None = None
    last_lost: str | None = None


def acked(attempts: Iterable[Attempt]) -> list[Attempt]:
    """Acknowledged writes ordered by acknowledgement time."""
    return sorted((a for a in attempts if a.ok), key=lambda a: a.done)


def rto(attempts: Iterable[Attempt], fault_at: float) -> float | None:
    """Seconds from the fault to the first acknowledged write sent after it (None: never)."""
    after = [a.done for a in attempts if a.ok and a.sent >= fault_at]
    return (min(after) - fault_at) if after else None


def write_pause(attempts: Iterable[Attempt], start: float, end: float) -> float:
    """Longest stretch without an acknowledgement between ``start`` and ``end``.

    The stretch from ``start`` to the first acknowledgement and from the last one to
    ``end`` count too, so a window with no acknowledgement at all is ``end - start``.
    """
    if end < start:
        raise ValueError("window end before start")
    times = [a.done for a in acked(attempts) if start <= a.done <= end]
    edges = [start, *times, end]
    return max(b - a for a, b in pairwise(edges))


def rpo(attempts: Sequence[Attempt], present: set[str]) -> Rpo:
    """Acknowledged writes missing from ``present`` (the request ids found after recovery)."""
    ok = acked(attempts)
    lost = [a for a in ok if a.req not in present]
    if not lost:
        return Rpo(0, 0.0)
    first, last = lost[0], lost[-1]
    survivors_before = [a.done for a in ok if a.req in present and a.done <= first.done]
    anchor = max(survivors_before) if survivors_before else first.sent
    return Rpo(len(lost), last.done - anchor, first.req, last.req)


def ambiguous(attempts: Iterable[Attempt], present: set[str]) -> int:
    """Writes the client saw fail that are nevertheless in the database (not data loss)."""
    return sum(1 for a in attempts if not a.ok and a.req in present)


# --------------------------------------------------------------------------- levels

_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _upper_bound(text: str) -> float:
    """Upper bound in seconds of a GB/T 20988-2007 range such as '0-30 minutes'.

    '... or more' has no bound; a bare unit ('minutes', 'hours') means less than one of
    the next unit up (the annex's wording for level 6 RTO is simply 'minutes').
    """
    t = text.strip().lower()
    if "or more" in t:
        return float("inf")
    if t == "0":
        return 0.0
    nums = re.findall(r"(\d+(?:\.\d+)?)\s*(second|minute|hour|day)s?", t)
    if nums:
        n, unit = nums[-1]
        return float(n) * _UNIT[unit]
    m = re.search(r"-\s*(\d+)\s*(second|minute|hour|day)", t)
    if m:
        return float(m.group(1)) * _UNIT[m.group(2)]
    bare = re.findall(r"(second|minute|hour|day)s?", t)
    if bare:
        nxt = {"second": 60, "minute": 3600, "hour": 86400, "day": 7 * 86400}
        return float(nxt[bare[-1]])
    raise ValueError(f"cannot read a duration from {text!r}")


def table_level(edition: Edition, rpo_s: float, rto_s: float) -> int | None:
    """Highest level of the edition's table whose RPO and RTO ranges hold the figures."""
    best = None
    for lv in edition.levels:
        if rpo_s <= _upper_bound(lv.rpo) and rto_s <= _upper_bound(lv.rto):
            best = lv.level if best is None else max(best, lv.level)
    return best


def tier_level(
    tiers: Iterable[TierDef], rpo_s: float, rto_s: float, *, offsite: bool
) -> tuple[int | None, str | None]:
    """Highest GB/T 20988 level among the estate's tiers whose targets the figures meet."""
    best: tuple[int | None, str | None] = (None, None)
    for t in tiers:
        rpo_t, rto_t = (
            (t.offsite_rpo_seconds, t.offsite_rto_seconds)
            if offsite
            else (t.rpo_seconds, t.rto_seconds)
        )
        if rpo_s <= rpo_t and rto_s <= rto_t and (best[0] is None or t.gbt20988_level > best[0]):
            best = (t.gbt20988_level, str(t.name))
    return best
