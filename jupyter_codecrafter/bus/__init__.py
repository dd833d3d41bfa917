"""Pub/sub and cache between server instances and workers."""

from .base import Bus, Handler, Subscription, create_bus

__all__ = ["Bus", "Handler", "Subscription", "create_bus"]
