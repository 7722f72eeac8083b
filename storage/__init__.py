"""S3: streamed copies, presigned URLs, deterministic keys."""
