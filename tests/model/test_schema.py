"""Resource arithmetic of the model, against figures computed by hand from the sample.

``Estate.footprint`` decides what a system holds on each site under its DR tier and
``Site.allocatable`` what a site may promise; quotas, capacity checks and reports are
built on both, so each is pinned here to numbers worked out from the YAML.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from govcloud.model import Estate, LifecycleState, Resources, SiteName, System

GI = 2**30
TI = 2**40
DC1, DC2, DR = SiteName.DC1, SiteName.DC2, SiteName.DR


def _system(estate: Estate, department: str, name: str) -> System:
    return next(s for d, s in estate.systems() if d.name == department and s.name == name)


def _res(vcpu: int | str, memory_gi: int, storage_gi: int, ips: int | str, mbps: int) -> Resources:
    return Resources(
        vcpu=Decimal(vcpu),
        memory=Decimal(memory_gi * GI),
        storage=Decimal(storage_gi * GI),
        public_ips=Decimal(ips),
        bandwidth=Decimal(mbps),
    )


# departments/health.yaml, by hand:
# appointment (dual-active): web 4x(4 cpu, 8Gi) + api 4x(8, 16Gi) + db 2x(16, 64Gi, 1000Gi)
#   = 80 vCPU, 224Gi, 2000Gi, 4 IPs, 200 Mbps; DR standby at scale 0.5.
# vaccination (warm-standby): api 2x(8, 16Gi) + worker 2x(4, 8Gi) + db 2x(8, 32Gi, 1024Gi)
#   = 40 vCPU, 112Gi, 2048Gi; dc2 and DR standby at scale 0.25.
# health-portal (backup-only): web 2x(2, 4Gi) + cms 2x(4, 8Gi) + db 1x(4, 16Gi, 200Gi)
#   = 16 vCPU, 40Gi, 200Gi, 1 IP, 50 Mbps on dc1; storage only on DR; nothing on dc2.
FOOTPRINTS = [
    ("appointment", DC1, _res(80, 224, 2000, 4, 200)),
    ("appointment", DC2, _res(80, 224, 2000, 4, 200)),
    ("appointment", DR, _res(40, 112, 1000, 2, 100)),
    ("vaccination", DC1, _res(40, 112, 2048, 0, 0)),
    ("vaccination", DC2, _res(10, 28, 512, 0, 0)),
    ("vaccination", DR, _res(10, 28, 512, 0, 0)),
    ("health-portal", DC1, _res(16, 40, 200, 1, 50)),
    ("health-portal", DC2, Resources()),
    ("health-portal", DR, _res(0, 0, 200, 0, 0)),
]


@pytest.mark.parametrize(("system", "site", "expected"), FOOTPRINTS)
def test_footprint(estate: Estate, system: str, site: SiteName, expected: Resources) -> None:
    assert estate.footprint(_system(estate, "health", system), site) == expected


def test_reclaimed_system_holds_nothing(estate: Estate) -> None:
    s = _system(estate, "health", "appointment")
    lifecycle = s.lifecycle.model_copy(update={"state": LifecycleState.RECLAIMED})
    reclaimed = s.model_copy(update={"lifecycle": lifecycle})
    assert not reclaimed.live
    assert all(estate.footprint(reclaimed, site) == Resources() for site in SiteName)


def test_request_sums_replicas(estate: Estate) -> None:
    assert _system(estate, "health", "ehr").request() == _res(
        4 * 8 + 2 * 4 + 2 * 16, 4 * 16 + 2 * 8 + 2 * 64, 2 * 2048, 0, 0
    )


@pytest.mark.parametrize(
    ("site", "vcpu", "memory", "storage", "ips", "mbps"),
    [
        # capacity x overcommit from sites.yaml: cpu 2 / memory 1 / storage 1.2 in region A
        (DC1, 9600, 16 * TI, Decimal("720") * TI, 256, 10000),
        (DC2, 9600, 16 * TI, Decimal("720") * TI, 256, 10000),
        # region B: 2936 vCPU x 3, 9Ti x 1, 336Ti x 1.5, 5Gbps
        (DR, 8808, 9 * TI, Decimal("504") * TI, 128, 5000),
    ],
)
def test_allocatable(
    estate: Estate,
    site: SiteName,
    vcpu: int,
    memory: int,
    storage: Decimal,
    ips: int,
    mbps: int,
) -> None:
    assert estate.site(site).allocatable() == {
        "vcpu": Decimal(vcpu),
        "memory": Decimal(memory),
        "storage": storage,
        "public_ips": Decimal(ips),
        "bandwidth": Decimal(mbps),
    }


def test_resources_add_and_scale() -> None:
    a = _res(2, 4, 10, 1, 100)
    b = _res(1, 2, 0, 0, 50)
    assert a + b == _res(3, 6, 10, 1, 150)
    assert (a + b).scaled(Decimal("0.5")) == _res("1.5", 3, 5, "0.5", 75)
    assert Resources() + a == a


def test_derived_zones_follow_components(estate: Estate) -> None:
    """Zones are derived from components, in first-seen order, never declared twice."""
    household = next(s for _, s in estate.systems() if s.name == "household")
    assert [str(z) for z in household.zones] == ["dedicated", "extranet"]
