"""Job queues: in-process and RabbitMQ."""

from .base import Delivery, JobHandler, JobMessage, JobQueue, create_queue

__all__ = ["Delivery", "JobHandler", "JobMessage", "JobQueue", "create_queue"]
