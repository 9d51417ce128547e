"""The crypto profile: what each channel of the cloud protects data with (estate/crypto.yaml).

密评 (GB/T 39786-2021) asks, per channel, which algorithm authenticates the ends, keeps
the data confidential and proves its integrity, and requires the 商用密码 algorithms
(SM2/SM3/SM4) where the level demands it. The profile records what is *configured*
and whether the implementation can run SM algorithms at all, so the crypto policy can
say both "required here" and "cannot be met without a different product". Roles that
render TLS/SSH/LUKS settings should read their algorithm lists from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from govcloud.model.enums import ComponentKind
from govcloud.model.problems import Problem, field_path

CRYPTO_FILE = "crypto.yaml"

# Same conventions as schema.py (which imports this module, hence not imported from it).
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelKind(StrEnum):
    TLS = "tls"  # incl. TLCP (GB/T 38636) and RFC 8998 TLS 1.3 SM suites
    SSH = "ssh"
    IPSEC = "ipsec"
    STORAGE = "storage"  # data at rest


class CryptoUse(StrEnum):
    """The three protection properties 密评 asks about."""

    AUTHENTICATION = "authentication"  # entity / peer authentication (SM2)
    CONFIDENTIALITY = "confidentiality"  # encryption (SM4)
    INTEGRITY = "integrity"  # MAC / hash / AEAD tag (SM3, SM4-GCM)


class CryptoChannel(Strict):
    """One channel: a flow of the matrix in transit, or a kind of component's data at rest."""

    name: Slug
    kind: ChannelKind
    description: str
    flow: str | None = Field(default=None, description="flow id in flows.yaml (in transit)")
    stores: list[ComponentKind] = Field(
        default=[], description="component kinds whose storage this protects (at rest)"
    )
    implementation: str = Field(description="product and version that does the crypto")
    sm_capable: bool = Field(
        description="whether the implementation can run SM2/SM3/SM4 here at all"
    )
    configured: dict[CryptoUse, list[str]] = Field(
        description="algorithms in use per protection property, lower-case (e.g. sm4-gcm)"
    )
    suites: list[str] = Field(default=[], description="the literal configured suite strings")
    note: str = ""


class CryptoFile(Strict):
    channels: list[CryptoChannel]


def check(channels: list[CryptoChannel], flow_ids: set[str]) -> Iterator[Problem]:
    """Cross-references of the profile (run by the loader with the other rules)."""
    seen: set[str] = set()
    for i, ch in enumerate(channels):
        where = field_path("channels", i)
        if ch.name in seen:
            yield Problem(
                CRYPTO_FILE, where + ".name", "duplicate-name", f"channel {ch.name!r} repeats"
            )
        seen.add(ch.name)
        if (ch.flow is None) == (not ch.stores):
            yield Problem(
                CRYPTO_FILE,
                where,
                "crypto-channel-target",
                f"channel {ch.name} must name exactly one of 'flow' (in transit) or "
                "'stores' (at rest)",
            )
        if ch.flow is not None and ch.flow not in flow_ids:
            yield Problem(
                CRYPTO_FILE,
                where + ".flow",
                "crypto-unknown-flow",
                f"channel {ch.name} protects flow {ch.flow!r}, which flows.yaml does not define",
            )
        if (ch.kind == ChannelKind.STORAGE) != bool(ch.stores):
            yield Problem(
                CRYPTO_FILE,
                where + ".kind",
                "crypto-channel-target",
                f"channel {ch.name}: kind storage goes with 'stores', other kinds with 'flow'",
            )
        for use, algs in ch.configured.items():
            for j, alg in enumerate(algs):
                if alg != alg.lower() or not alg.strip():
                    yield Problem(
                        CRYPTO_FILE,
                        field_path("channels", i, "configured", str(use), j),
                        "schema",
                        f"algorithm {alg!r} must be a lower-case name like sm4-gcm",
                    )
