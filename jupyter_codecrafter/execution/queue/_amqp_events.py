"""Events on RabbitMQ: this instance's event queue, and those of the instances it stands by
for, all handled by one dispatcher, a batch of waiting events at a time.

Each instance's event queue is durable with a single active consumer: its own instance
consumes it first, every other instance stands by, and RabbitMQ makes the next consumer
active when the active one's channel goes (its instance stopped or died), redelivering
what it had not acknowledged. A delivery names its tenure (the queue and this consumer's
channel): a reconnect is a new channel, so a new tenure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel
from aiormq.abc import AbstractChannel

from ...errors import QueueError
from ...utils import cancel_and_wait, new_id
from ._amqp_topology import Topology
from ._retry import retry_until_handled
from .base import EVENT_BATCH, EventDelivery, EventHandler

log = logging.getLogger(__name__)

EVENTS_PREFETCH = 256

OpenChannel = Callable[[int], Awaitable[AbstractRobustChannel]]
Operation = Callable[[str], AbstractAsyncContextManager[None]]


class AmqpEvents:
    def __init__(self, topology: Topology, open_channel: OpenChannel, operation: Operation):
        self._topology = topology
        self._open_channel = open_channel
        self._operation = operation
        self._channel: AbstractRobustChannel | None = None
        self._handler: EventHandler | None = None
        self._queues: dict[str, tuple[AbstractQueue, str]] = {}  # instance -> queue, tag
        self._inbox: asyncio.Queue[tuple[AbstractIncomingMessage, AbstractChannel]] = (
            asyncio.Queue()
        )
        self._dispatcher: asyncio.Task[None] | None = None
        self._tenures: weakref.WeakKeyDictionary[AbstractChannel, int] = weakref.WeakKeyDictionary()
        self._tenure_numbers = itertools.count(1)
        self._token = new_id()[:8]  # tenures of different processes never compare equal

    async def consume(self, instance_id: str, handler: EventHandler) -> None:
        self._handler = handler
        self._channel = await self._open_channel(EVENTS_PREFETCH)
        await self.stand_by(instance_id)  # first to consume its own queue: the active one
        self._dispatcher = asyncio.create_task(self._dispatch())

    async def stand_by(self, instance_id: str) -> None:
        if self._channel is None:
            raise QueueError("Consume this instance's events before standing by for others.")
        if instance_id in self._queues:
            return
        async with self._operation("consume events"):
            queue = await self._topology.declare_events_queue(self._channel, instance_id)
            tag = await queue.consume(self._arrived)
        self._queues[instance_id] = (queue, tag)

    async def release(self, instance_id: str) -> bool:
        """Stop standing by once the queue is empty; RabbitMQ deletes it when nobody does."""
        if self._channel is None:
            return True
        async with self._operation("count waiting events"):
            declared = await self._topology.declare_events_queue(
                self._channel, instance_id, robust=False
            )
        if declared.declaration_result.message_count:
            return False
        entry = self._queues.pop(instance_id, None)
        if entry is not None:
            async with self._operation("stop standing by"):
                await entry[0].cancel(entry[1])
        return True

    async def close(self) -> None:
        """Stop handling: what is not acknowledged goes to the next consumer."""
        if self._dispatcher is not None:
            await cancel_and_wait([self._dispatcher])
        self._dispatcher, self._channel = None, None
        self._queues.clear()

    async def _arrived(self, message: AbstractIncomingMessage) -> None:
        self._inbox.put_nowait((message, message.channel))

    async def _dispatch(self) -> None:
        while True:
            arrived = [await self._inbox.get()]
            while len(arrived) < EVENT_BATCH and not self._inbox.empty():
                arrived.append(self._inbox.get_nowait())
            # Those of a closed channel: the broker gave them to the next consumer.
            waiting = [(message, channel) for message, channel in arrived if not channel.is_closed]
            if waiting:
                await self._handle([self._delivery(*entry) for entry in waiting])
            for message, _ in waiting:
                with contextlib.suppress(Exception):  # a closed channel: redelivered anyway
                    await message.ack()

    def _delivery(
        self, message: AbstractIncomingMessage, channel: AbstractChannel
    ) -> EventDelivery:
        number = self._tenures.get(channel)
        if number is None:
            number = self._tenures[channel] = next(self._tenure_numbers)
        return EventDelivery(
            message.body,
            tenure=f"{message.routing_key}#{self._token}.{number}",
            redelivered=bool(message.redelivered),
            held=lambda: not channel.is_closed,
        )

    async def _handle(self, batch: list[EventDelivery]) -> None:
        assert self._handler is not None
        await retry_until_handled(self._handler, batch)
