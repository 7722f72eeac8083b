"""The producer side: manifests, S3 listings, preflight, estimates, batches and reports."""
