"""Metering: what each department's allocated quota costs per month.

A system is billed for every day it appears in the usage export (it held its
resources that day), at the catalogue's unit prices, for its footprint on *every* site
its DR tier places it on — the standby and backup copies are part of what the
department asked for. Monthly prices (GiB-month, IP-month, Mbps-month) are prorated by
day: a day costs 1/(days in that month) of the monthly price; vCPU is priced per hour
(24 per day). Amounts are exact decimals, rounded half-up to 0.01 once per
(department, month).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from govcloud.model import Estate, Resources, System
from govcloud.tenants.ledger import GIB
from govcloud.tenants.policy import PriceCatalogue
from govcloud.tenants.usage import Usage

CENT = Decimal("0.01")


def total_footprint(estate: Estate, system: System) -> Resources:
    """The system's quota summed over every site (as held while live)."""
    total = Resources()
    for site in estate.sites:
        total = total + estate.footprint(system, site.name, ignore_lifecycle=True)
    return total


def daily_cost(res: Resources, prices: PriceCatalogue, days_in_month: int) -> Decimal:
    """Cost of holding ``res`` for one day of a month with ``days_in_month`` days."""
    p = prices.prices
    monthly = (
        res.memory / GIB * p.memory_gib_month
        + res.storage / GIB * p.storage_gib_month
        + res.public_ips * p.public_ip_month
        + res.bandwidth * p.bandwidth_mbps_month
    )
    return res.vcpu * 24 * p.vcpu_hour + monthly / days_in_month


def monthly_cost(res: Resources, prices: PriceCatalogue, year: int, month: int) -> Decimal:
    """Cost of holding ``res`` for the whole of a month."""
    days = calendar.monthrange(year, month)[1]
    return daily_cost(res, prices, days) * days


@dataclass(frozen=True)
class Bill:
    department: str
    month: str  # YYYY-MM
    amount: Decimal  # rounded to 0.01
    system_days: int


def meter(estate: Estate, usage: Usage, prices: PriceCatalogue) -> list[Bill]:
    """One bill per (department, month) present in the export, sorted."""
    systems = {(d.name, s.name): s for d, s in estate.systems()}
    raw: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    days_billed: dict[tuple[str, str], int] = defaultdict(int)
    for (dept, name), days in usage.series.items():
        res = total_footprint(estate, systems[(dept, name)])
        for d in days:
            month = f"{d.date.year:04d}-{d.date.month:02d}"
            dim = calendar.monthrange(d.date.year, d.date.month)[1]
            raw[(dept, month)] += daily_cost(res, prices, dim)
            days_billed[(dept, month)] += 1
    return [
        Bill(dept, month, amount.quantize(CENT, rounding=ROUND_HALF_UP), days_billed[(dept, month)])
        for (dept, month), amount in sorted(raw.items())
    ]
