"""The submit step's parts: claiming a job for its POST, the hooks around the POST, and what
its answer means. `pipeline.submitting.submit_job` runs them."""
