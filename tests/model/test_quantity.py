"""Resource quantities: what a department may write, and what it reads back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from govcloud.model import Component
from govcloud.model.quantity import (
    QuantityError,
    format_bandwidth,
    format_bytes,
    format_cpu,
    parse_bandwidth,
    parse_bytes,
    parse_cpu,
)

GI = 2**30


@pytest.mark.parametrize(
    ("text", "cores"),
    [
        ("500m", Decimal("0.5")),
        ("1500m", Decimal("1.5")),
        ("16", Decimal(16)),
        (16, Decimal(16)),
        (0.25, Decimal("0.25")),
        ("2.5", Decimal("2.5")),
        ("1m", Decimal("0.001")),
    ],
)
def test_cpu_valid(text: object, cores: Decimal) -> None:
    assert parse_cpu(text) == cores


@pytest.mark.parametrize(
    "text", ["lots", "-1", "1.5 cores", "500M", "1e3", "", "0.5m", "0.0001", True, None]
)
def test_cpu_invalid(text: object) -> None:
    with pytest.raises(QuantityError, match="not a valid CPU quantity"):
        parse_cpu(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64Gi", 64 * GI),
        ("2Ti", 2 * 2**40),
        ("512Mi", 512 * 2**20),
        ("1.5Gi", 3 * GI // 2),
        ("1024", 1024),
        (1024, 1024),
        ("1Pi", 2**50),
    ],
)
def test_bytes_valid(text: object, size: int) -> None:
    assert parse_bytes(text) == size


@pytest.mark.parametrize(
    "text", ["64GB", "64G", "Gi", "-1Gi", "1.5", "0.3Ki", "64 Gi ram", True, None]
)
def test_bytes_invalid(text: object) -> None:
    with pytest.raises(QuantityError, match="not a valid size quantity"):
        parse_bytes(text)


@pytest.mark.parametrize(
    ("text", "mbps"),
    [
        ("100Mbps", Decimal(100)),
        ("100 Mbps", Decimal(100)),
        ("1Gbps", Decimal(1000)),
        ("2.5Gbps", Decimal(2500)),
        ("0.5Mbps", Decimal("0.5")),
    ],
)
def test_bandwidth_valid(text: str, mbps: Decimal) -> None:
    assert parse_bandwidth(text) == mbps


@pytest.mark.parametrize("text", ["100", 100, "1Tbps", "100mbps", "100MB/s", "fast", "-1Gbps"])
def test_bandwidth_invalid(text: object) -> None:
    with pytest.raises(QuantityError, match="not a valid bandwidth"):
        parse_bandwidth(text)


@pytest.mark.parametrize("text", ["500m", "1500m", "16", "1m", "2"])
def test_cpu_round_trip(text: str) -> None:
    assert format_cpu(parse_cpu(text)) == text


@pytest.mark.parametrize("text", ["64Gi", "2Ti", "1536Mi", "1Pi", "3Ki", "1025", "0"])
def test_bytes_round_trip(text: str) -> None:
    assert format_bytes(parse_bytes(text)) == text


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("100Mbps", "100Mbps"),
        ("1Gbps", "1000Mbps"),
        ("2.5Gbps", "2500Mbps"),
        ("0.5Mbps", "0.5Mbps"),
    ],
)
def test_bandwidth_formats_in_mbps(text: str, formatted: str) -> None:
    assert format_bandwidth(parse_bandwidth(text)) == formatted
    assert parse_bandwidth(formatted) == parse_bandwidth(text)


def test_component_serialises_back_to_kubernetes_quantities() -> None:
    """What a ResourceQuota/Deployment gets is the canonical form of what was written."""
    c = Component.model_validate(
        {"name": "api", "kind": "api", "zone": "extranet", "cpu": "2500m", "memory": "3072Mi"}
    )
    assert c.cpu == Decimal("2.5")
    assert c.memory == 3 * GI
    dumped = c.model_dump(mode="json")
    assert (dumped["cpu"], dumped["memory"], dumped["storage"]) == ("2500m", "3Gi", "0")
