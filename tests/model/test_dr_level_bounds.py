"""Rule dr-level-bounds: the GB/T 20988 level table must tighten as the level rises."""

from pathlib import Path

import pytest
import yaml

from govcloud.model import EstateError, load_estate


def test_looser_higher_level_is_refused(estate_copy: Path) -> None:
    path = estate_copy / "dr-tiers.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["editions"][0]["levels"][5]["rpo_max_seconds"] = 3600  # level 6 looser than 5
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(EstateError) as err:
        load_estate(estate_copy)
    (p,) = [p for p in err.value.problems if p.rule == "dr-level-bounds"]
    assert p.file == "dr-tiers.yaml"
    assert p.field == "editions[0].levels[5].rpo_max_seconds"
    assert "level 6 allows rpo_max_seconds 3600, more than level 5 (1800)" in p.message
