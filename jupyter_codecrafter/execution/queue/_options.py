"""The options both queues take: built once from the settings, passed whole, checked once.
Their defaults are the settings' (``constants.py``), so they cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...constants import (
    DEFAULT_JOB_DELIVERY_LIMIT,
    DEFAULT_QUEUE_MAX_LENGTH,
    DEFAULT_WORKER_QUEUE_TTL_S,
)

if TYPE_CHECKING:
    from ...config import CodeCrafterSettings

# A dead-letter handler that fails (say, the store is down) sees the job again after this.
DEAD_LETTER_RETRY_DELAY_S = 1.0


@dataclass(frozen=True, slots=True)
class QueueOptions:
    max_length: int = DEFAULT_QUEUE_MAX_LENGTH
    delivery_limit: int = DEFAULT_JOB_DELIVERY_LIMIT
    worker_queue_ttl_s: float = DEFAULT_WORKER_QUEUE_TTL_S
    namespace: str = ""
    close_timeout_s: float = 10.0  # how long close() waits for handlers in flight

    @classmethod
    def from_settings(cls, settings: CodeCrafterSettings) -> QueueOptions:
        return cls(
            max_length=settings.queue_max_length,
            delivery_limit=settings.job_delivery_limit,
            worker_queue_ttl_s=settings.worker_queue_ttl_s,
            namespace=settings.namespace,
        )

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {self.max_length!r}")
        if self.delivery_limit < 1:
            raise ValueError(f"delivery_limit must be at least 1, got {self.delivery_limit!r}")
        if self.worker_queue_ttl_s <= 0:
            raise ValueError(
                f"worker_queue_ttl_s must be positive, got {self.worker_queue_ttl_s!r}"
            )
        if self.close_timeout_s < 0:
            raise ValueError(f"close_timeout_s must not be negative, got {self.close_timeout_s!r}")
