"""Waivers: they silence only what they match, only until they expire; bad files are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from govcloud.model import Estate, EstateError
from policies.core import Violation
from policies.offline import Status, evaluate
from policies.registry import POLICIES, policy
from policies.waivers import Waiver, apply_waivers, expired_waivers, load_waivers

V = Violation("crypto-sm", "channel:ops-ssh", "channel ops-ssh needs SM4")
OTHER = Violation("crypto-sm", "channel:public-web-tls", "channel public-web-tls needs SM4")


def _w(scope: str = "channel:*-ssh", expires: dt.date = dt.date(2027, 3, 31)) -> Waiver:
    return Waiver(
        policy="crypto-sm",
        scope=scope,
        justification="OpenSSH has no SM ciphers yet",
        approver="赵敏",
        expires=expires,
    )


def test_live_waiver_covers_only_matching_subjects() -> None:
    failing, waived = apply_waivers("crypto-sm", [V, OTHER], [_w()], dt.date(2027, 1, 1))
    assert [w.violation for w in waived] == [V]
    assert failing == [OTHER]


def test_expired_waiver_waives_nothing_and_fails_itself() -> None:
    today = dt.date(2027, 4, 1)
    failing, waived = apply_waivers("crypto-sm", [V], [_w()], today)
    assert waived == []
    assert "EXPIRED" in failing[0].message
    (expired,) = expired_waivers("crypto-sm", [_w()], today)
    assert "expired on 2027-03-31 (today is 2027-04-01)" in expired.message
    # the expiry day itself is still covered
    assert apply_waivers("crypto-sm", [V], [_w()], dt.date(2027, 3, 31))[0] == []


def test_sample_waivers_load_and_name_real_policies(estate: Estate) -> None:
    waivers = load_waivers(estate.root, [p.id for p in POLICIES])
    assert waivers
    assert {w.policy for w in waivers} <= {p.id for p in POLICIES}


def test_report_turns_waived_policy_into_failure_once_expired(estate: Estate) -> None:
    waivers = load_waivers(estate.root, [p.id for p in POLICIES])
    p = [policy("crypto-sm")]
    now = evaluate(estate, {}, [], waivers, dt.date(2026, 11, 21), p)
    assert [r.status for r in now.results] == [Status.WAIVED]
    later = evaluate(estate, {}, [], waivers, dt.date(2027, 7, 1), p)
    assert {r.target: r.status for r in later.results} == {
        "estate": Status.FAIL,
        "waivers": Status.FAIL,
    }
    assert len(later.failures()) == 2


def _write(root: Path, data: object) -> None:
    (root / "waivers.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_unknown_policy_is_refused_with_file_field_rule(estate_copy: Path) -> None:
    _write(
        estate_copy,
        {
            "waivers": [
                {
                    "policy": "no-such",
                    "scope": "*",
                    "approver": "x y",
                    "justification": "because it is long enough",
                    "expires": "2027-01-01",
                }
            ]
        },
    )
    with pytest.raises(EstateError) as err:
        load_waivers(estate_copy, [p.id for p in POLICIES])
    (p,) = err.value.problems
    assert (p.file, p.field, p.rule) == (
        "waivers.yaml",
        "waivers[0].policy",
        "waiver-unknown-policy",
    )


def test_missing_expiry_is_refused(estate_copy: Path) -> None:
    _write(
        estate_copy,
        {
            "waivers": [
                {
                    "policy": "crypto-sm",
                    "scope": "*",
                    "approver": "x y",
                    "justification": "because it is long enough",
                }
            ]
        },
    )
    with pytest.raises(EstateError) as err:
        load_waivers(estate_copy, [p.id for p in POLICIES])
    (p,) = err.value.problems
    assert (p.file, p.field, p.rule) == ("waivers.yaml", "waivers[0].expires", "missing-field")
