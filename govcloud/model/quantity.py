"""Resource quantities as written in department requests.

Requests use Kubernetes quantity syntax (``500m``, ``16``, ``64Gi``, ``2Ti``) for CPU,
memory and storage and ``Mbps``/``Gbps`` for bandwidth, so the same string can go
straight into a ResourceQuota. Parsing is strict: a department that writes ``64GB``
or ``lots`` gets an error naming the field, not a guess.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_CPU_RE = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_BYTES_RE = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi)?$")
_BW_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(Mbps|Gbps)$")


class QuantityError(ValueError):
    pass


def _decimal(text: str, what: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise QuantityError(f"not a valid {what} quantity: {text!r}") from exc


def parse_cpu(value: object) -> Decimal:
    """vCPU count; ``"500m"`` is half a vCPU."""
    text = str(value).strip()
    m = _CPU_RE.match(text)
    if not m or isinstance(value, bool):
        raise QuantityError(
            f"not a valid CPU quantity: {value!r} (write vCPUs like 16 or millicores like 500m)"
        )
    number = _decimal(m.group(1), "CPU")
    cores = number / 1000 if m.group(2) else number
    if cores * 1000 != int(cores * 1000):
        # Kubernetes has no precision below 1m; accepting it would round silently
        raise QuantityError(f"not a valid CPU quantity: {value!r} (finer than 1m)")
    return cores


def parse_bytes(value: object) -> int:
    """Bytes from a binary-suffixed quantity (``64Gi``); a bare number is bytes."""
    text = str(value).strip()
    m = _BYTES_RE.match(text)
    if not m or isinstance(value, bool):
        raise QuantityError(
            f"not a valid size quantity: {value!r} (write binary units like 64Gi or 2Ti)"
        )
    size = _decimal(m.group(1), "size") * _BINARY.get(m.group(2) or "", 1)
    if size != int(size):
        raise QuantityError(f"not a valid size quantity: {value!r} (not a whole number of bytes)")
    return int(size)


def parse_bandwidth(value: object) -> Decimal:
    """Megabits per second from ``100Mbps`` / ``1Gbps``."""
    text = str(value).strip()
    m = _BW_RE.match(text)
    if not m:
        raise QuantityError(f"not a valid bandwidth: {value!r} (write e.g. 100Mbps or 1Gbps)")
    number = _decimal(m.group(1), "bandwidth")
    return number * 1000 if m.group(2) == "Gbps" else number


def format_cpu(cores: Decimal) -> str:
    millis = int(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(n: int) -> str:
    for suffix in ("Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def format_bandwidth(mbps: Decimal) -> str:
    return f"{mbps.normalize():f}Mbps"


def _positive(parse):
    """A request of nothing (``cpu: 0``) is a typo, not a size: Kubernetes would schedule
    the pod anywhere and admission would charge the department nothing for it."""

    def check(value: object):
        out = parse(value)
        if out <= 0:
            raise QuantityError(f"must be more than 0: {value!r}")
        return out

    return check


Cpu = Annotated[Decimal, BeforeValidator(parse_cpu), PlainSerializer(format_cpu)]
Bytes = Annotated[int, BeforeValidator(parse_bytes), PlainSerializer(format_bytes)]
PositiveCpu = Annotated[Decimal, BeforeValidator(_positive(parse_cpu)), PlainSerializer(format_cpu)]
PositiveBytes = Annotated[
    int, BeforeValidator(_positive(parse_bytes)), PlainSerializer(format_bytes)
]
Bandwidth = Annotated[Decimal, BeforeValidator(parse_bandwidth), PlainSerializer(format_bandwidth)]
