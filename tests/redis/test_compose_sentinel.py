"""docker-compose's ``sentinel`` profile: one primary, one replica, three sentinels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    found: dict[str, Any] = loaded["services"]
    return found


def test_the_sentinel_profile_is_a_replica_and_three_sentinels_with_a_quorum_of_two() -> None:
    found = services()
    profiled = sorted(name for name, spec in found.items() if spec.get("profiles") == ["sentinel"])
    assert profiled == ["redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]
    assert found["redis-replica"]["command"][1:4] == ["--replicaof", "redis", "6379"]
    hostnames = set()
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        script = found[name]["entrypoint"][2]
        assert "sentinel monitor restyle redis 6379 2" in script
        assert "--sentinel" in script
        hostnames.add(found[name]["hostname"])
    assert hostnames == {"sentinel-1", "sentinel-2", "sentinel-3"}


def test_the_documented_sentinel_url_names_the_profile_s_sentinels() -> None:
    example = (REPO / ".env.example").read_text()
    line = next(
        row.removeprefix("# ").split("=", 1)[1]
        for row in example.splitlines()
        if row.startswith("# RESTYLE_REDIS_URL=sentinel://")
    )
    found = Settings(redis_url=line).redis_sentinels
    assert found is not None and found.master_name == "restyle"
    assert {host for host, _ in found.sentinels} == {"sentinel-1", "sentinel-2", "sentinel-3"}
