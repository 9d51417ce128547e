"""Estate-level policies: 三权分立, administrator authentication, crypto profile (密评).

These read the estate model only (operators.yaml, crypto.yaml, flows, departments), so
they run the same under CrossGuard (on every stack) and offline (once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from govcloud.model import AdminRole, Zone
from govcloud.model.crypto import ChannelKind, CryptoChannel, CryptoUse
from policies import clauses as C
from policies.core import Context, Enforcement, Policy, Violation

# ---------------------------------------------------------------- separation-of-duties


def check_separation(ctx: Context) -> Iterator[Violation]:
    pid = "separation-of-duties"
    held: dict[AdminRole, list[str]] = defaultdict(list)
    by_person: dict[str, set[AdminRole]] = defaultdict(set)
    for op in ctx.estate.operators:
        roles = set(op.roles)
        for r in roles:
            held[r].append(op.name)
        by_person[op.full_name] |= roles
        if len(roles) > 1:
            yield Violation(
                pid,
                f"operator:{op.name}",
                f"operators.yaml: {op.name} ({op.full_name}) holds "
                f"{' + '.join(sorted(roles))}; system, audit and security administration "
                "must be held by different people (三权分立)",
            )
    for person, roles in by_person.items():
        accounts = [o.name for o in ctx.estate.operators if o.full_name == person]
        if len(roles) > 1 and len(accounts) > 1:
            yield Violation(
                pid,
                f"person:{person}",
                f"operators.yaml: {person} holds {' + '.join(sorted(roles))} through "
                f"separate accounts {', '.join(accounts)}",
            )
    for role in AdminRole:
        if held[role]:
            ctx.saw(f"{role}: {', '.join(held[role])}")
        else:
            yield Violation(
                pid, f"role:{role}", f"operators.yaml: nobody holds {role}; the post must exist"
            )
    for d in ctx.estate.departments:
        if d.groups.admins == d.groups.auditors:
            yield Violation(
                pid,
                f"department:{d.name}",
                f"{d.source}: groups.admins and groups.auditors are both {d.groups.admins!r}; "
                "a department's administrators may not audit themselves",
            )


# ---------------------------------------------------------------- admin-two-factor (estate)

# GB/T 22239-2019 8.1.4.1 d) (level 3): "应采用口令、密码技术、生物技术等两种或两种以上组合的
# 鉴别技术对用户进行身份鉴别，且其中一种鉴别技术至少应使用密码技术来实现". The clause counts
# authentication *techniques* (鉴别技术), not abstract factor categories, and its list is
# open ("等"). Each factor an operator may list belongs to exactly one technique:
#
# - knowledge (口令): a secret the person remembers and types — password, PIN.
# - cryptographic key (密码技术): a private key held by the client or a token that signs a
#   challenge — SSH key, X.509 certificate, SM2 token / USB key. All of these are *one*
#   technique: a key file plus a certificate for the same key is one thing stolen once.
# - dynamic token (动态口令): a one-time code from a separate device with its own seed —
#   TOTP (RFC 6238), HOTP (RFC 4226), other OTP tokens. Our reading (a decision, recorded
#   here so an assessor can contest it): 动态口令 is a technique of its own, next to the
#   static 口令 and the client's key — it proves possession of a second device with an
#   independent seed, and a key stolen from a laptop does not yield it. Its HMAC is
#   cryptography, but we do not let an OTP count as the clause's "at least one technique
#   implemented with cryptography": that one must be a key (密码技术 in the full sense,
#   GB/T 39786-2021 6.3), so an OTP never makes a second cryptographic kind either.
# - biometric (生物技术): fingerprint, face, iris.
#
# An operator passes with two or more different techniques, one of them the cryptographic
# key: ssh-key + totp (what roles/bastion enforces) and password + sm2-token pass;
# ssh-key + certificate (two keys, one technique), password + totp (no cryptographic key)
# and password + pin (no cryptography at all) do not.
KNOWLEDGE = "knowledge"
CRYPTO_KEY = "cryptographic key"
DYNAMIC_TOKEN = "dynamic token"
BIOMETRIC = "biometric"
FACTOR_KINDS: dict[str, frozenset[str]] = {
    KNOWLEDGE: frozenset({"password", "pin"}),
    CRYPTO_KEY: frozenset(
        {"ssh-key", "certificate", "sm2-token", "sm2-certificate", "usb-key", "ukey"}
    ),
    DYNAMIC_TOKEN: frozenset({"totp", "hotp", "otp"}),
    BIOMETRIC: frozenset({"fingerprint", "face", "iris"}),
}
ALL_FACTORS = frozenset().union(*FACTOR_KINDS.values())


def factor_kind(factor: str) -> str | None:
    """The authentication technique (GB/T 22239-2019 8.1.4.1 d) a factor belongs to."""
    return next((k for k, group in FACTOR_KINDS.items() if factor in group), None)


def check_operator_factors(ctx: Context) -> Iterator[Violation]:
    """Each operator lists two or more techniques, one of them a cryptographic key."""
    pid = "admin-two-factor"
    for op in ctx.estate.operators:
        factors = set(op.mfa)
        subject = f"operator:{op.name}"
        if unknown := sorted(factors - ALL_FACTORS):
            yield Violation(
                pid,
                subject,
                f"operators.yaml: {op.name} lists unknown factor(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(ALL_FACTORS))})",
            )
        kinds = {k for f in factors if (k := factor_kind(f)) is not None}
        if len(kinds) < 2 or CRYPTO_KEY not in kinds:
            yield Violation(
                pid,
                subject,
                f"operators.yaml: {op.name} authenticates with {', '.join(sorted(factors))} "
                f"({', '.join(sorted(kinds)) or 'no known technique'}); administrators need "
                "two different authentication techniques, one of them a cryptographic key "
                "(GB/T 22239-2019 8.1.4.1 d)",
            )
        else:
            ctx.saw(f"{op.name}: {' + '.join(op.mfa)}")


# ---------------------------------------------------------------- crypto-sm

# 密评 level 3, per protection property: "required" (应) or "recommended" (宜).
REQUIRED = "required"
RECOMMENDED = "recommended"
NEEDS: dict[ChannelKind, dict[CryptoUse, str]] = {
    # 6.2 network/communication + 6.4 transport of important data
    ChannelKind.TLS: {
        CryptoUse.AUTHENTICATION: REQUIRED,
        CryptoUse.CONFIDENTIALITY: REQUIRED,
        CryptoUse.INTEGRITY: RECOMMENDED,
    },
    ChannelKind.IPSEC: {
        CryptoUse.AUTHENTICATION: REQUIRED,
        CryptoUse.CONFIDENTIALITY: REQUIRED,
        CryptoUse.INTEGRITY: RECOMMENDED,
    },
    # 6.3 remote management: a cryptographic secure channel
    ChannelKind.SSH: {
        CryptoUse.AUTHENTICATION: REQUIRED,
        CryptoUse.CONFIDENTIALITY: REQUIRED,
        CryptoUse.INTEGRITY: RECOMMENDED,
    },
    # 6.4 storage of important data
    ChannelKind.STORAGE: {
        CryptoUse.CONFIDENTIALITY: REQUIRED,
        CryptoUse.INTEGRITY: RECOMMENDED,
    },
}
SM_PREFIX = {
    CryptoUse.AUTHENTICATION: ("sm2",),
    CryptoUse.CONFIDENTIALITY: ("sm4",),
    CryptoUse.INTEGRITY: ("sm3", "hmac-sm3", "sm4-gcm", "sm4-ccm"),
}
SM_NAME = {
    CryptoUse.AUTHENTICATION: "SM2",
    CryptoUse.CONFIDENTIALITY: "SM4",
    CryptoUse.INTEGRITY: "SM3",
}


def is_sm(alg: str, use: CryptoUse) -> bool:
    return alg.startswith(SM_PREFIX[use])


def channel_level(ctx: Context, ch: CryptoChannel) -> int:
    """The highest MLPS level of the data the channel carries (the 密评 level applied).

    Platform channels (management, replication) carry every system's data or the
    cloud's own administration: they take the cloud's level.
    """
    cloud = ctx.estate.cloud.mlps_level.number
    live = [(d, s) for d, s in ctx.estate.systems() if s.live]
    if ch.stores:
        kinds = set(ch.stores)
        levels = [
            s.mlps_level.number for _, s in live if any(c.kind in kinds for c in s.components)
        ]
        return max(levels, default=0)
    flow = next(f for f in ctx.estate.flows if f.id == ch.flow)
    if not flow.same_department or Zone.MANAGEMENT in (flow.source, flow.destination):
        return cloud
    zones = {z for z in (flow.source, flow.destination) if isinstance(z, Zone)}
    levels = [s.mlps_level.number for _, s in live if zones & set(s.zones)]
    if flow.source == flow.destination:  # replication between sites: platform-wide
        return cloud
    return max(levels, default=0)


def check_crypto(ctx: Context) -> Iterator[Violation]:
    pid = "crypto-sm"
    if not ctx.estate.crypto:
        yield Violation(pid, "estate/crypto.yaml", "crypto.yaml lists no channel")
        return
    for ch in ctx.estate.crypto:
        level = channel_level(ctx, ch)
        where = f"flow {ch.flow}" if ch.flow else f"{', '.join(ch.stores)} data at rest"
        subject = f"channel:{ch.name}"
        if level < 3:
            ctx.saw(f"{ch.name} ({where}): carries level-{level} data; 密评 level 3 not applied")
            continue
        gaps: list[str] = []
        for use, need in NEEDS[ch.kind].items():
            algs = ch.configured.get(use, [])
            if any(is_sm(a, use) for a in algs):
                ctx.saw(f"{ch.name} {use}: {', '.join(algs)} (SM, ok)")
                continue
            text = f"{use} uses {', '.join(algs) or 'nothing'}, not {SM_NAME[use]}"
            if need == REQUIRED:
                gaps.append(text)
            else:
                ctx.saw(f"{ch.name} {use}: {text} (recommended 宜, advisory)")
        if not gaps:
            continue
        fix = (
            "reconfigure it to the SM algorithms the implementation already supports"
            if ch.sm_capable
            else f"{ch.implementation} cannot run SM algorithms: this needs a GM-capable "
            "product, a configuration change cannot meet it"
        )
        yield Violation(
            pid,
            subject,
            f"crypto.yaml: channel {ch.name} ({ch.kind}, {where}) carries level-{level} data, "
            f"so 密评 level 3 requires SM algorithms; {'; '.join(gaps)} — {fix}",
        )


POLICIES = [
    Policy(
        id="separation-of-duties",
        title="System, audit and security administrators are different people (三权分立)",
        clauses=(C.COMPUTE_ACCESS_D, C.SYSADMIN, C.MGMT_POSTS),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Whoever administers the systems must not also control the audit trail or the "
            "security policy, or one person can act and erase the evidence. Each of the three "
            "posts must exist and no person may hold two of them."
        ),
        on_estate=check_separation,
    ),
    Policy(
        id="crypto-sm",
        title="SM2/SM3/SM4 where 密评 level 3 requires them (crypto profile)",
        clauses=(C.CRYPTO_GENERAL, C.CRYPTO_NET, C.CRYPTO_DEVICE, C.CRYPTO_DATA),
        enforcement=Enforcement.MANDATORY,
        rationale=(
            "Channels that carry level-3 data must authenticate with SM2 and encrypt with "
            "SM4 (integrity with SM3 is recommended). The profile says what each channel "
            "uses today and whether its product can do SM at all, so a gap is either a "
            "configuration change or a procurement."
        ),
        on_estate=check_crypto,
    ),
]
