"""The worker: consumes jobs, keeps one kernel per session, runs code in sandboxes."""
