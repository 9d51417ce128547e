"""Tenancy data files: the price catalogue and the lifecycle / idle policy.

They live under ``estate/tenancy/`` next to the rest of the estate data and are parsed
with the model's own loader, so a typo gives the same file/field/rule message (and
exit 2) as any other estate file instead of a silently wrong bill.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from govcloud.model import load_section
from govcloud.model.schema import Strict

TENANCY_DIR = "tenancy"
PRICES_FILE = "tenancy/prices.yaml"
POLICY_FILE = "tenancy/policy.yaml"


class Prices(Strict):
    vcpu_hour: Decimal = Field(ge=0)
    memory_gib_month: Decimal = Field(ge=0)
    storage_gib_month: Decimal = Field(ge=0)
    public_ip_month: Decimal = Field(ge=0)
    bandwidth_mbps_month: Decimal = Field(ge=0)


class PriceCatalogue(Strict):
    """Unit prices of allocated quota; metering multiplies them by the ledger."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    effective: dt.date
    prices: Prices


class IdleThresholds(Strict):
    window_days: int = Field(ge=1, le=366)
    cpu_p95_pct_below: Decimal = Field(gt=0, le=100)
    network_pct_below: Decimal = Field(gt=0, le=100)


class TenancyPolicy(Strict):
    test_period_days: int = Field(ge=1, le=365)
    idle: IdleThresholds


def load_prices(estate_root: Path | str) -> PriceCatalogue:
    """The price catalogue of the estate at ``estate_root`` (EstateError if invalid)."""
    root = Path(estate_root)
    return load_section(PriceCatalogue, root / PRICES_FILE, root)


def load_policy(estate_root: Path | str) -> TenancyPolicy:
    """The tenancy policy of the estate at ``estate_root`` (EstateError if invalid)."""
    root = Path(estate_root)
    return load_section(TenancyPolicy, root / POLICY_FILE, root)
