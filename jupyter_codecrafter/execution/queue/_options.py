"""The options both queues take, checked once."""

from __future__ import annotations

from dataclasses import dataclass

# A dead-letter handler that fails (say, the store is down) sees the job again after this.
DEAD_LETTER_RETRY_DELAY_S = 1.0


@dataclass(frozen=True, slots=True)
class QueueOptions:
    max_length: int = 10_000
    delivery_limit: int = 3
    worker_queue_ttl_s: float = 30.0
    namespace: str = ""
    close_timeout_s: float = 10.0  # how long close() waits for handlers in flight

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
