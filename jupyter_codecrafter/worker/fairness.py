"""One user cannot starve the others: at most ``cap`` snippet runs of a user run at once,
across every worker.

Each running snippet holds a slot: a field (its job id) of the user's hash in the bus whose
value is when the slot lapses (the run's limits plus a margin), so a worker that dies frees
its slots. A snippet whose user holds every slot goes back to the end of the queue, behind
the other users' runs (snippets promise no order among themselves). Cells are not capped
here: they run one at a time on their session's kernel, and moving them would break their
order.
"""

from __future__ import annotations

import time

from ..bus.base import Bus

SLOTS_KEY_PREFIX = "codecrafter:slots:"  # + user id
MARGIN_S = 60.0


class UserSlots:
    def __init__(self, bus: Bus, *, cap: int) -> None:
        self._bus = bus
        self.cap = cap

    async def acquire(self, user_id: str, job_id: str, *, longest_s: float) -> bool:
        """Take a slot for a run that lasts at most ``longest_s``; False (and nothing held)
        when the user's slots are all taken."""
        if self.cap <= 0:
            return True
        key, lapses_at = SLOTS_KEY_PREFIX + user_id, time.time() + longest_s + MARGIN_S
        await self._bus.hash_set(key, job_id, str(lapses_at).encode(), ttl_s=longest_s + MARGIN_S)
        held = await self._bus.hash_get_all(key)
        others = [job for job, until in held.items() if job != job_id and _live(until)]
        if len(others) < self.cap:
            return True
        await self._bus.hash_delete(key, job_id)
        return False

    async def release(self, user_id: str, job_id: str) -> None:
        if self.cap > 0:
            await self._bus.hash_delete(SLOTS_KEY_PREFIX + user_id, job_id)


def _live(until: bytes) -> bool:
    try:
        return float(until) > time.time()
    except ValueError:
        return False


class Rotations:
    """Which runs this worker sent to the back of the queue lately: seeing one again means
    the queue went round without finding another user's run."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._window_s = window_s
        self._seen: dict[str, float] = {}

    def went_round(self, job_id: str) -> bool:
        now = time.monotonic()
        self._seen = {job: at for job, at in self._seen.items() if now - at < self._window_s}
        again = job_id in self._seen
        self._seen[job_id] = now
        return again
