"""Helpers for tenant tests: a small valid request that each test breaks one way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from govcloud.model.schema import stand_in_image

BASE_REQUEST: dict[str, Any] = {
    "name": "ecology",
    "title": "市生态环境局",
    "groups": {"admins": "ecology-admins", "auditors": "ecology-auditors"},
    "contact": {"name": "钱伟", "phone": "0571-85170231", "email": "ecology@gov.example.cn"},
    "systems": [
        {
            "name": "air-quality",
            "title": "空气质量监测",
            "mlps_level": 3,
            "dr_tier": "backup-only",
            "wave": 4,
            "owner": {"name": "周敏", "phone": "0571-85170245", "email": "aq@gov.example.cn"},
            "components": [
                {"name": "web", "kind": "web", "zone": "internet", "replicas": 2, "cpu": 2,
                 "memory": "4Gi"},
                {"name": "api", "kind": "api", "zone": "extranet", "replicas": 2, "cpu": 4,
                 "memory": "8Gi"},
                {"name": "db", "kind": "database", "zone": "extranet", "replicas": 1, "cpu": 4,
                 "memory": "16Gi", "storage": "200Gi", "port": 5432},
            ],
            "public_ips": 1,
            "bandwidth": "50Mbps",
            "lifecycle": {"state": "applied", "applied": "2026-09-02"},
        }
    ],
}

RequestFactory = Callable[..., Path]


@pytest.fixture
def make_request(tmp_path: Path) -> RequestFactory:
    """Write a request file; ``edit`` mutates a deep copy of BASE_REQUEST first."""

    def make(edit: Callable[[dict], None] | None = None, name: str | None = None) -> Path:
        data = copy.deepcopy(BASE_REQUEST)
        if edit:
            edit(data)
        # every component a test adds runs a pinned image unless the test says otherwise
        for system in data.get("systems") or []:
            for c in system.get("components") or []:
                if isinstance(c, dict) and "image" not in c:
                    c["image"] = stand_in_image(f"{data.get('name')}/{system.get('name')}/"
                                                f"{c.get('name')}")
        stem = name or str(data.get("name", "request"))
        path = tmp_path / "requests" / f"{stem}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        return path

    return make
