"""Admission: refused requests with their reasons, capacity edges, DR headroom, order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from govcloud.model import Estate, SiteName, load_estate
from govcloud.tenants import admit, admit_estate, admit_files
from govcloud.tenants.ledger import scenarios
from govcloud.tenants.requests import judge_file

RequestFactory = Callable[..., Path]


def _system(d: dict) -> dict:
    return d["systems"][0]


def _comp(d: dict, i: int) -> dict:
    return d["systems"][0]["components"][i]


def _set(path: Callable[[dict], dict], key: str, value: object) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        path(d)[key] = value

    return edit


def _reclaimed_claim(d: dict) -> None:
    _system(d)["lifecycle"] = {
        "state": "provisioned", "applied": "2026-08-01", "reviewed": "2026-08-02",
        "testing": "2026-08-03", "provisioned": "2026-08-10",
    }


def _dates_backwards(d: dict) -> None:
    _system(d)["lifecycle"] = {"state": "reviewed", "applied": "2026-09-02",
                               "reviewed": "2026-08-30"}


def _duplicate_system(d: dict) -> None:
    d["systems"].append(dict(_system(d)))


def _no_owner(d: dict) -> None:
    del _system(d)["owner"]


# (case id, edit, expected rule, a phrase the message must contain, field it names)
REFUSED = [
    ("level-4", _set(_system, "mlps_level", 4), "mlps-above-cloud", "level 4",
     "systems[0].mlps_level"),
    ("cpu-word", _set(lambda d: _comp(d, 1), "cpu", "lots"), "invalid-quantity",
     "not a valid CPU quantity", "systems[0].components[1].cpu"),
    ("memory-GB", _set(lambda d: _comp(d, 1), "memory", "64GB"), "invalid-quantity",
     "64GB", "systems[0].components[1].memory"),
    ("bandwidth-word", _set(_system, "bandwidth", "fast"), "invalid-quantity",
     "not a valid bandwidth", "systems[0].bandwidth"),
    ("db-in-internet", _set(lambda d: _comp(d, 2), "zone", "internet"),
     "zone-internet-database", "database db", "systems[0].components[2].zone"),
    ("cache-in-internet", _set(lambda d: _comp(d, 0), "kind", "cache"),
     "zone-internet-stateless", "is a cache", "systems[0].components[0]"),
    ("storage-in-internet", _set(lambda d: _comp(d, 0), "storage", "10Gi"),
     "zone-internet-stateless", "asks for 10Gi of storage", "systems[0].components[0]"),
    ("unknown-zone", _set(lambda d: _comp(d, 1), "zone", "dmz"), "unknown-zone",
     "unknown zone 'dmz'", "systems[0].components[1].zone"),
    ("unknown-tier", _set(_system, "dr_tier", "gold"), "unknown-dr-tier",
     "unknown DR tier 'gold'", "systems[0].dr_tier"),
    ("typo-field", _set(lambda d: _comp(d, 1), "replica", 3), "unknown-field",
     "'replica'", "systems[0].components[1].replica"),
    ("no-owner", _no_owner, "missing-field", "required", "systems[0].owner"),
    ("claims-provisioned", _reclaimed_claim, "request-state", "claims state provisioned",
     "systems[0].lifecycle.state"),
    ("dates-backwards", _dates_backwards, "lifecycle-order", "is before applied",
     "systems[0].lifecycle.reviewed"),
    ("duplicate-system", _duplicate_system, "duplicate-name", "declared more than once",
     "systems[1].name"),
    ("level-0-wave", _set(_system, "wave", 0), "schema", "greater than or equal to 1",
     "systems[0].wave"),
]


@pytest.mark.parametrize(("edit", "rule", "phrase", "field"),
                         [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_bad_request_is_refused_with_its_reason(
    estate: Estate, make_request: RequestFactory, edit, rule: str, phrase: str, field: str
) -> None:
    bad = make_request(edit)
    good = make_request(lambda d: d.update(name="agriculture"), name="agriculture")
    result = admit_files(estate, [bad, good], today=None)
    by_name = {d.request.source: d for d in result.decisions}
    verdict = by_name[str(bad)]
    assert not verdict.admitted
    matching = [r for r in verdict.reasons if r.rule == rule]
    assert matching, [str(r) for r in verdict.reasons]
    assert any(phrase in r.message for r in matching), [r.message for r in matching]
    assert any(r.field == field for r in matching), [r.field for r in matching]
    assert all(r.file == str(bad) for r in verdict.reasons)
    # one bad file never stops the others from being judged
    assert by_name[str(good)].admitted


def test_file_name_must_match_department(estate: Estate, make_request: RequestFactory) -> None:
    path = make_request(name="ecology-bureau")
    (d,) = [d for d in admit_files(estate, [path]).decisions if d.request.source == str(path)]
    assert [r.rule for r in d.reasons] == ["department-file-name"]


def test_missing_and_unparsable_files(estate: Estate, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", "utf-8")
    result = admit_files(estate, [tmp_path / "nope.yaml", broken])
    rules = {d.request.source: {r.rule for r in d.reasons} for d in result.decisions
             if not d.request.in_estate}
    assert rules == {str(tmp_path / "nope.yaml"): {"missing-file"},
                     str(broken): {"yaml-syntax"}}


def test_same_department_twice(
    estate: Estate, make_request: RequestFactory, tmp_path: Path
) -> None:
    first = make_request()
    second = tmp_path / "ecology.yaml"
    second.write_text(first.read_text("utf-8"), "utf-8")
    result = admit_files(estate, [first, second])
    verdicts = {d.request.source: d for d in result.decisions}
    assert verdicts[str(first)].admitted
    assert [r.rule for r in verdicts[str(second)].reasons] == ["request-duplicate"]


def test_nothing_is_applied_partially(estate: Estate, make_request: RequestFactory) -> None:
    """A good system in a refused request is not charged, and later requests see that."""

    def add_level4(d: dict) -> None:
        bad = dict(_system(d), name="secret", mlps_level=4)
        d["systems"].append(bad)

    path = make_request(add_level4)
    result = admit_files(estate, [path])
    baseline = admit_estate(estate)
    (d,) = [d for d in result.decisions if d.request.source == str(path)]
    assert not d.admitted and d.charged == []
    assert [r.rule for r in d.reasons] == ["mlps-above-cloud"]
    assert result.ledger.used() == baseline.ledger.used()
    assert ("ecology", "air-quality") not in {
        (dep.name, s.name) for dep, s in result.admitted_systems()
    }


# --------------------------------------------------------------------------- capacity edges


def _alone(estate: Estate, path: Path):
    """Judge one request against an empty ledger (the hand-computable case)."""
    return admit(estate, [judge_file(estate, path)]).decisions[0]


def _one_big_system(public_ips: int, tier: str = "backup-only") -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        s = _system(d)
        s["dr_tier"] = tier
        s["public_ips"] = public_ips

    return edit


def test_exactly_full_is_admitted_one_over_is_refused(
    estate: Estate, make_request: RequestFactory
) -> None:
    # region-a-dc1 has 256 public IPs allocatable; a backup-only system is active on DC1
    # only (region B holds its backup: storage only), so no failure scenario moves it.
    assert estate.site(SiteName.DC1).allocatable()["public_ips"] == 256
    full = _alone(estate, make_request(_one_big_system(256)))
    assert full.admitted, [str(r) for r in full.reasons]
    over = _alone(estate, make_request(_one_big_system(257)))
    assert not over.admitted
    site_reasons = [r for r in over.reasons if r.rule == "site-capacity"]
    assert [r.message for r in site_reasons] == [
        "site region-a-dc1: public_ips would reach 257 public IP(s) of 256 public IP(s) "
        "allocatable (this request adds 257 public IP(s)); short by 1 public IP(s)"
    ]


def test_exactly_full_vcpu_with_the_overcommit_ratio(
    estate: Estate, make_request: RequestFactory
) -> None:
    # DC1: 4800 physical vCPU x over-commit 2 = 9600. The base request uses
    # 2x2 + 2x4 + 1x4 = 16 vCPU, plus its nightly backup-job pod for the db (500m, which
    # the namespace quota reserves) = 16.5; a worker of 2 x 4791.75 brings it to 9600.
    def fill(extra_millis: int) -> Callable[[dict], None]:
        def edit(d: dict) -> None:
            _system(d)["components"].append(
                {"name": "batch", "kind": "worker", "zone": "extranet", "replicas": 2,
                 "cpu": f"{4791750 + extra_millis}m", "memory": "1Gi"})

        return edit

    assert _alone(estate, make_request(fill(0))).admitted
    over = _alone(estate, make_request(fill(500)))
    assert any(r.rule == "site-capacity" and "short by 1 vCPU" in r.message
               for r in over.reasons), [str(r) for r in over.reasons]


# --------------------------------------------------------------------------- DR headroom


def test_region_a_loss_refused_when_region_b_cannot_absorb(
    estate: Estate, make_request: RequestFactory
) -> None:
    # warm-standby with 130 public IPs: DC1 130/256, DC2 standby 32.5, region B standby
    # 32.5 -- fits. Loss of DC1: DC2 promoted to 130/256 -- fits. Loss of region A:
    # region B must carry 130 of its 128 -- short by 2.
    d = _alone(estate, make_request(_one_big_system(130, "warm-standby")))
    assert not d.admitted
    assert [r.rule for r in d.reasons] == ["dr-headroom"]
    assert d.reasons[0].message == (
        "DR headroom, loss of region-a: region-b-dr would have to carry public_ips "
        "130 public IP(s) of 128 public IP(s) allocatable (this request adds 130 public "
        "IP(s)); short by 2 public IP(s)"
    )
    assert _alone(estate, make_request(_one_big_system(128, "warm-standby"))).admitted


def test_dc1_loss_refused_when_dc2_cannot_absorb_dual_active(
    estate_copy: Path, make_request: RequestFactory
) -> None:
    # Give region B room (512 IPs) so only the in-city case can fail. Dual-active with
    # 129 IPs: each DC holds 129/256; if DC1 is lost DC2 must absorb DC1's copy too:
    # 258 of 256 -- short by 2 (and symmetrically DC1 if DC2 is lost).
    sites = yaml.safe_load((estate_copy / "sites.yaml").read_text("utf-8"))
    sites["sites"][2]["capacity"]["public_ips"] = 512
    (estate_copy / "sites.yaml").write_text(yaml.safe_dump(sites, allow_unicode=True), "utf-8")
    roomy = load_estate(estate_copy)
    d = _alone(roomy, make_request(_one_big_system(129, "dual-active")))
    assert not d.admitted
    messages = [r.message for r in d.reasons]
    assert all(r.rule == "dr-headroom" for r in d.reasons)
    assert (
        "DR headroom, loss of region-a-dc1: region-a-dc2 would have to carry public_ips "
        "258 public IP(s) of 256 public IP(s) allocatable (this request adds 258 public "
        "IP(s)); short by 2 public IP(s)"
    ) in messages
    assert not any("loss of region-a:" in m for m in messages)
    assert _alone(roomy, make_request(_one_big_system(128, "dual-active"))).admitted


def test_failure_loads_by_hand(estate: Estate, make_request: RequestFactory) -> None:
    """One dual-active system of 16 vCPU: what each survivor carries in each scenario."""
    d = _alone(estate, make_request(_one_big_system(1, "dual-active")))
    assert d.admitted
    from govcloud.tenants.ledger import Ledger

    ledger = Ledger(estate, d.charged)
    loads = {str(sc): {str(k): v.vcpu for k, v in ledger.after(sc).items()}
             for sc in scenarios(estate)}
    assert loads == {
        # DC2 carries both copies (2 x 16); region B keeps its 0.5-scale standby
        "loss of region-a-dc1": {"region-a-dc2": 32, "region-b-dr": 8},
        "loss of region-a-dc2": {"region-a-dc1": 32, "region-b-dr": 8},
        # region B carries both copies' load
        "loss of region-a": {"region-b-dr": 32},
    }
    storage = ledger.after(scenarios(estate)[2])[SiteName.DR].storage
    assert storage == 200 * 2**30  # one full data replica, not two


# --------------------------------------------------------------------------- order


def test_order_is_deterministic_and_explained(estate: Estate) -> None:
    keys = [d.key for d in admit_estate(estate).decisions]
    assert keys == sorted(keys)
    first = admit_estate(estate).decisions[0]
    # natural-resources has the earliest applied date among departments with a
    # provisioned system (2026-01-06)
    assert first.request.name == "natural-resources"
    assert str(first.key[1]) == "2026-01-06"


def test_estate_is_admitted_whole(estate: Estate) -> None:
    result = admit_estate(estate)
    assert all(d.admitted for d in result.decisions)
    assert len(result.admitted_systems()) == len(estate.systems())
