"""Refill: items made ahead, topped up side by side, never cancelled half made."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from jupyter_codecrafter.worker.sandbox import refill
from jupyter_codecrafter.worker.sandbox.refill import Refill


class Maker:
    """Makes numbered items when released, and records what was made and discarded."""

    def __init__(self) -> None:
        self.numbers = itertools.count()
        self.gate = asyncio.Event()
        self.gate.set()
        self.making = self.most_at_once = 0
        self.failures = 0
        self.made: list[int] = []
        self.discarded: list[int] = []

    async def make(self) -> int:
        self.making += 1
        self.most_at_once = max(self.most_at_once, self.making)
        try:
            await self.gate.wait()
            if self.failures:
                self.failures -= 1
                raise OSError("the backend is down")
            self.made.append(next(self.numbers))
            return self.made[-1]
        finally:
            self.making -= 1

    async def discard(self, item: int) -> None:
        self.discarded.append(item)


async def until(condition: object) -> None:
    async with asyncio.timeout(5):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0)


async def test_a_burst_is_refilled_side_by_side() -> None:
    """Items taken in a burst are all remade at once; each item made is handed out once
    or discarded at close."""
    maker = Maker()
    pool = Refill(maker.make, maker.discard, size=4)
    pool.start()
    await until(lambda: pool.ready == 4)
    maker.gate.clear()
    taken = [pool.take() for _ in range(4)]
    await until(lambda: maker.making == 4)
    maker.gate.set()
    await until(lambda: pool.ready == 4)
    assert taken == [0, 1, 2, 3] and maker.most_at_once == 4
    taken += [pool.take(), pool.take()]
    await pool.close()
    assert taken[4:] == [4, 5]
    assert sorted(taken + maker.discarded) == maker.made


async def test_parallel_bounds_the_makes_in_flight() -> None:
    """With parallel=1 the pool makes one item at a time however many are missing."""
    maker = Maker()
    pool = Refill(maker.make, maker.discard, size=3, parallel=1)
    pool.start()
    await until(lambda: pool.ready == 3)
    assert maker.most_at_once == 1
    await pool.close()


async def test_nothing_is_made_while_the_pool_is_held() -> None:
    """Items taken while the pool is held are remade only once the last hold ends."""
    maker = Maker()
    pool = Refill(maker.make, maker.discard, size=2)
    pool.start()
    await until(lambda: pool.ready == 2)
    with pool.held():
        with pool.held():
            assert [pool.take(), pool.take()] == [0, 1]
        await asyncio.sleep(0.01)
        assert (pool.ready, maker.made) == (0, [0, 1])
    await until(lambda: pool.ready == 2)
    await pool.close()


async def test_closing_waits_for_an_item_being_made_and_discards_it() -> None:
    """Close never cancels a make: it waits for it and discards what it made."""
    maker = Maker()
    maker.gate.clear()
    pool = Refill(maker.make, maker.discard, size=1)
    pool.start()
    await until(lambda: maker.making == 1)
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    maker.gate.set()
    await closing
    assert maker.discarded == [0] and pool.ready == 0


async def test_an_empty_pool_gives_none_and_refills_after_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed make is retried after RETRY_S; meanwhile take() gives None, not an error."""
    monkeypatch.setattr(refill, "RETRY_S", 0.05)
    maker = Maker()
    maker.failures = 1
    pool = Refill(maker.make, maker.discard, size=1)
    pool.start()
    await until(lambda: maker.failures == 0)
    assert pool.take() is None
    await until(lambda: pool.ready == 1)
    assert pool.take() == 0
    await pool.close()


async def test_nothing_is_made_before_start_or_after_close() -> None:
    """A pool makes nothing until started, and a take after close starts no make."""
    maker = Maker()
    pool = Refill(maker.make, maker.discard, size=2)
    assert pool.take() is None and maker.most_at_once == 0
    await pool.close()
    assert pool.take() is None
    await asyncio.sleep(0)
    assert maker.most_at_once == 0
