"""A session's sandbox kernel as the API sees it: its state, interrupt and restart.

The kernel lives on one worker; its state is what that worker last announced in the bus
(``control.py``), and commands go to that worker's channel.
"""

from __future__ import annotations

from ..bus.base import Bus
from ..errors import NoKernel
from ..sessions.permissions import Action as SessionAction
from ..sessions.service import SessionService
from ..store.records import User
from .control import (
    NO_KERNEL,
    Action,
    KernelState,
    KernelStatus,
    WorkerCommand,
    kernel_state_key,
    worker_channel,
)


class KernelControl:
    def __init__(self, bus: Bus, sessions: SessionService) -> None:
        self._bus = bus
        self._sessions = sessions

    async def status(self, user: User, session_id: str) -> KernelStatus:
        """Anyone who can read the session may see its kernel's state."""
        await self._sessions.authorize(user, session_id, SessionAction.VIEW)
        return await self.current(session_id)

    async def current(self, session_id: str) -> KernelStatus:
        data = await self._bus.get(kernel_state_key(session_id))
        return NO_KERNEL if data is None else KernelStatus.decode(data)

    async def interrupt(self, user: User, session_id: str) -> KernelStatus:
        """Stop the running cell; the kernel keeps its variables (writers)."""
        return await self._command(user, session_id, Action.INTERRUPT)

    async def restart(self, user: User, session_id: str) -> KernelStatus:
        """Replace the kernel with a fresh one: its variables are gone (writers)."""
        return await self._command(user, session_id, Action.RESTART)

    async def _command(self, user: User, session_id: str, action: Action) -> KernelStatus:
        await self._sessions.authorize(user, session_id, SessionAction.RUN)
        status = await self.current(session_id)
        if status.state is KernelState.NONE or status.worker is None:
            raise NoKernel()
        command = WorkerCommand(action, session_id=session_id)
        await self._bus.publish(worker_channel(status.worker), command.encode())
        return status
