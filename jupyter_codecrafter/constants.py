"""Names shared between the server and the workers: queues, channels, keys, limits.

Every string that two processes must agree on lives here, so a rename is one edit.
"""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "api/codecrafter"
ENV_PREFIX: Final = "CODECRAFTER_"

# RabbitMQ: one shared work queue, one queue per worker for sessions whose kernel it owns,
# a dead-letter queue for jobs whose workers kept dying, one event queue per server instance.
JOBS_EXCHANGE: Final = "codecrafter.jobs"
JOBS_QUEUE: Final = "codecrafter.jobs"
WORKER_QUEUE_PREFIX: Final = "codecrafter.worker."
DEAD_LETTER_EXCHANGE: Final = "codecrafter.dead"
DEAD_LETTER_QUEUE: Final = "codecrafter.dead"
EVENTS_QUEUE_PREFIX: Final = "codecrafter.events."

# Pub/sub channels and cache keys (Redis when scaled, in process when embedded).
ROOM_CHANNEL_PREFIX: Final = "codecrafter:room:"
KERNEL_OWNER_KEY_PREFIX: Final = "codecrafter:kernel:"
WORKER_ALIVE_KEY_PREFIX: Final = "codecrafter:worker:"
CACHE_KEY_PREFIX: Final = "codecrafter:cache:"
KERNEL_STATE_KEY_PREFIX: Final = "codecrafter:kernel-state:"  # + session id
WORKER_CONTROL_CHANNEL_PREFIX: Final = "codecrafter:worker-control:"  # + worker id
KERNEL_IN_CHANNEL_PREFIX: Final = "codecrafter:kernel-in:"  # + session id: to its kernel
KERNEL_OUT_CHANNEL_PREFIX: Final = "codecrafter:kernel-out:"  # + session id: from its kernel
LANGUAGES_KEY: Final = "codecrafter:languages"  # the workers' language table
PRESENCE_KEY_PREFIX: Final = "codecrafter:presence:"  # + session id: a hash per instance
RATE_LIMIT_KEY_PREFIX: Final = "codecrafter:ratelimit"  # counters shared by every server

# Defaults that both sides must agree on unless configured otherwise.
DEFAULT_JOB_DELIVERY_LIMIT: Final = 3
DEFAULT_QUEUE_MAX_LENGTH: Final = 10_000
# Well above a run's timeout: a busy owner is not a dead one.
DEFAULT_WORKER_QUEUE_TTL_S: Final = 120.0
# A worker renews its heartbeat (and its kernels' ownership) three times per period.
DEFAULT_WORKER_HEARTBEAT_TTL_S: Final = 30.0
