"""Events in one process: each instance's event queue, with one active consumer at a time,
as RabbitMQ's single-active-consumer queues behave (see ``_amqp_events``)."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass

from ._retry import retry_until_handled
from .base import EVENT_BATCH, EventDelivery, EventHandler

_consumer_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Event:
    body: bytes
    redelivered: bool = False


class MemoryEvents:
    """Every instance's event queue and its consumers in registration order (the first is
    the active one), shared by every handle of one in-process queue."""

    def __init__(self) -> None:
        self.queues: dict[str, deque[_Event]] = {}
        self.consumers: dict[str, list[EventConsumer]] = {}
        self._changed = asyncio.Event()

    def publish(self, instance_id: str, body: bytes) -> None:
        queue = self.queues.get(instance_id)
        if queue is not None:  # never declared (no such instance): nobody to write them
            queue.append(_Event(body))
            self._notify()

    def join(self, instance_id: str, consumer: EventConsumer) -> None:
        self.queues.setdefault(instance_id, deque())
        members = self.consumers.setdefault(instance_id, [])
        if consumer not in members:
            members.append(consumer)
            self._notify()

    def leave(self, consumer: EventConsumer, instance_id: str | None = None) -> None:
        for name, members in self.consumers.items():
            if consumer in members and instance_id in (None, name):
                members.remove(consumer)
        self._notify()

    def take(self, consumer: EventConsumer) -> tuple[str, list[_Event]] | None:
        """The events waiting (up to a batch) in a queue ``consumer`` is the active
        consumer of."""
        for name, queue in self.queues.items():
            if queue and self.consumers.get(name, [None])[0] is consumer:
                count = min(len(queue), EVENT_BATCH)
                return name, [queue.popleft() for _ in range(count)]
        return None

    def give_back(self, instance_id: str, events: list[_Event]) -> None:
        queue = self.queues.setdefault(instance_id, deque())
        queue.extendleft(_Event(event.body, True) for event in reversed(events))
        self._notify()

    async def changed(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class EventConsumer:
    """One handle's consumer: the events of the queues it is active on, a batch at a time."""

    def __init__(self, events: MemoryEvents, handler: EventHandler) -> None:
        self._events = events
        self._handler = handler
        self._number = next(_consumer_numbers)
        self._closed = False
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            taken = self._events.take(self)
            if taken is None:
                await self._events.changed()
                continue
            name, events = taken
            try:
                batch = [self._delivery(name, event) for event in events]
                await retry_until_handled(self._handler, batch)
            except asyncio.CancelledError:
                self._events.give_back(name, events)  # unacknowledged: the next consumer's
                raise

    def _delivery(self, name: str, event: _Event) -> EventDelivery:
        return EventDelivery(
            event.body,
            tenure=f"{name}#{self._number}",
            redelivered=event.redelivered,
            held=lambda: not self._closed,
        )

    async def close(self) -> None:
        self._closed = True
        self._task.cancel()  # gives back the event in hand before the next consumer starts
        await asyncio.gather(self._task, return_exceptions=True)
        self._events.leave(self)
