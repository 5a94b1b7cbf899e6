"""Floor 3: the HTTP service, CLI, batch jobs, storage and reports."""
