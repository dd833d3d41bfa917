"""A session's sandbox kernel: its state, interrupt and restart; and who is in the room."""

from __future__ import annotations

from ..store.records import User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas import ErrorResponse
from .schemas.execute import KernelOut, KernelResponse
from .schemas.sessions import PresenceResponse, PresentOut
from .sessions import SESSION_ID

TAGS = ("kernels",)
NO_KERNEL_NOTE = "409 no_kernel when the session has no kernel (it starts with the first run)."


class KernelHandler(CodeCrafterHandler):
    @operation(
        "The session's kernel: none, starting, idle, busy or dead",
        responses={200: KernelResponse},
        tags=TAGS,
        description="Anyone who can read the session. The room also announces each change "
        'as a control message {"type": "kernel", "state": ...}.',
    )
    async def get(self, session_id: str, *, user: User) -> None:
        status = await self.services.kernels.status(user, session_id)
        self.reply(200, KernelResponse(kernel=KernelOut.from_status(status)))


class InterruptHandler(CodeCrafterHandler):
    @operation(
        "Interrupt the running cell; the kernel keeps its variables",
        responses={202: KernelResponse, 409: ErrorResponse},
        tags=TAGS,
        description="Writers. " + NO_KERNEL_NOTE,
    )
    async def post(self, session_id: str, *, user: User) -> None:
        status = await self.services.kernels.interrupt(user, session_id)
        self.reply(202, KernelResponse(kernel=KernelOut.from_status(status)))


class RestartHandler(CodeCrafterHandler):
    @operation(
        "Restart the kernel: a fresh one, without the old variables",
        responses={202: KernelResponse, 409: ErrorResponse},
        tags=TAGS,
        description="Writers. A running cell ends cancelled. " + NO_KERNEL_NOTE,
    )
    async def post(self, session_id: str, *, user: User) -> None:
        status = await self.services.kernels.restart(user, session_id)
        self.reply(202, KernelResponse(kernel=KernelOut.from_status(status)))


class PresenceHandler(CodeCrafterHandler):
    @operation(
        "Who is connected to the session right now, on every server instance",
        responses={200: PresenceResponse},
        tags=("sessions",),
    )
    async def get(self, session_id: str, *, user: User) -> None:
        present = await self.services.sessions.presence(user, session_id)
        self.reply(200, PresenceResponse(present=[PresentOut.from_present(p) for p in present]))


handlers = [
    (rf"/sessions/{SESSION_ID}/kernel", KernelHandler),
    (rf"/sessions/{SESSION_ID}/kernel/interrupt", InterruptHandler),
    (rf"/sessions/{SESSION_ID}/kernel/restart", RestartHandler),
    (rf"/sessions/{SESSION_ID}/presence", PresenceHandler),
]
