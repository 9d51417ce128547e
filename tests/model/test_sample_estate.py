"""The shipped sample estate is valid and as realistic as the issue asks."""

from decimal import Decimal

from govcloud.model import DrTier, Estate, MlpsLevel, Zone


def test_sample_is_realistic(estate: Estate) -> None:
    assert len(estate.departments) >= 10
    assert len(estate.systems()) >= 40
    assert {s.mlps_level for _, s in estate.systems()} == {MlpsLevel.L2, MlpsLevel.L3}
    assert {s.dr_tier for _, s in estate.systems()} == set(DrTier)
    assert {z for _, s in estate.systems() for z in s.zones} == set(Zone)


def test_capacity_matches_the_municipal_reference(estate: Estate) -> None:
    vcpu = sum(s.capacity.vcpu for s in estate.sites)
    memory = sum(s.capacity.memory for s in estate.sites)
    storage = sum(s.capacity.storage for s in estate.sites)
    assert vcpu == Decimal(12536)
    assert memory == 41 * 2**40
    assert storage == 1536 * 2**40
