"""What storage hands back for an object it wrote."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StoredObject(BaseModel):
    """An object restyle wrote to S3 (an archived output, a staged source): where, and what."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    size: int
    sha256: str
    content_type: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"
