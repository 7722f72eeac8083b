"""Batch records: what a batch is (prompt, providers, budget, output prefix), stored once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field

from config.settings import ProviderName
from jobs import redis_keys
from jobs.budget import to_micros
from jobs.models import Priority
from jobs.scripts import load_script

BATCH_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""Safe in Redis keys, S3 keys and file names."""


class Batch(BaseModel):
    """One batch as the producer created it; its jobs live in the ledger."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=BATCH_NAME_PATTERN)
    created_at: datetime
    priority: Priority = Priority.BULK
    prompt_summary: str = ""
    providers: tuple[ProviderName, ...] = ()
    budget_usd: float | None = Field(default=None, ge=0)
    output_prefix: str = ""
    total_jobs: int = Field(default=0, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)


class BatchStore:
    """Batch records in Redis; creating one is idempotent and also sets its budget limit."""

    def __init__(self, client: redis.Redis[bytes]) -> None:
        self.client = client
        self._create = load_script(client, "batch_create")

    def create(self, batch: Batch) -> bool:
        """Store ``batch``; False (and nothing changed) when a batch of that name exists."""
        limit = "" if batch.budget_usd is None else str(to_micros(batch.budget_usd))
        script_keys = [
            redis_keys.batch_record(batch.name),
            redis_keys.batch_records(),
            redis_keys.budget(batch.name),
        ]
        args = [batch.model_dump_json(), batch.created_at.timestamp(), batch.name, limit]
        return bool(self._create(keys=script_keys, args=args))

    def get(self, name: str) -> Batch | None:
        """The batch record, or None."""
        raw = self.client.get(redis_keys.batch_record(name))
        return None if raw is None else Batch.model_validate_json(raw)

    def list(self) -> list[Batch]:
        """Every batch record, oldest first."""
        names = [item.decode() for item in self.client.zrange(redis_keys.batch_records(), 0, -1)]
        if not names:
            return []
        raws = self.client.mget([redis_keys.batch_record(name) for name in names])
        return [Batch.model_validate_json(raw) for raw in raws if raw is not None]
