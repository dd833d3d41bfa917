"""Running code: jobs, the execution service, and the queues that carry jobs to workers."""
