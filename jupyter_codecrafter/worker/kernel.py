"""A session's stateful kernel: an ipykernel in a sandbox, driven by jupyter_client.

One execute at a time; variables persist between executes until :meth:`Kernel.restart`.
Each execute ends with a :class:`JobStatus`:

- SUCCEEDED / FAILED: the kernel's reply (an error reply carries an nbformat error output);
- TIMED_OUT: the kernel is interrupted; if it is not idle again within a few seconds it is
  stopped (``is_alive`` becomes False);
- OUTPUT_EXCEEDED: collecting stops at the cap and the kernel is interrupted;
- MEMORY_EXCEEDED: the kernel was killed for exceeding its memory (or raised MemoryError);
- CANCELLED: :meth:`interrupt`, :meth:`restart` or :meth:`shutdown` ended it;
- INTERNAL_ERROR: the kernel died otherwise, or is not running.

``input()`` asks the user who ran the cell (see ``stdin.py``); what the code prints inside
an ipywidgets Output widget goes into the widget (``capture.py``); the outcome carries the
kernel's execute_reply, for a client that sent the execute through its kernel channel.
What the kernel publishes is read once (``iopub.py``), for the run and the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from queue import Empty
from typing import Any, Literal

from jupyter_client.asynchronous.client import AsyncKernelClient

from ..errors import SandboxError
from ..store.records import JobStatus, Limits
from ..utils import utcnow
from .capture import Capture, OutputWidgets
from .iopub import Inbox, IOPubReader, Listener
from .kernel_heartbeat import beats
from .outputs import OutputCollector
from .sandbox._connection import make_client, wait_until_ready
from .sandbox.base import KernelSandbox, Sandbox
from .stdin import InputAsker, StdinRelay

OnOutput = Callable[[dict[str, Any]], Awaitable[None]]
Ending = Literal["idle", "timeout", "exceeded", "died"]

CONNECT_TIMEOUT_S = 30.0
INTERRUPT_GRACE_S = 5.0  # how long an interrupted kernel has to become idle again
REPLY_TIMEOUT_S = 5.0
POLL_S = 0.5  # how often a silent kernel is checked for being alive
# A kernel that sent a message this recently is taken to be alive without asking anything.
# One that died since is still found: a run sees it within POLL_S of silence.
HEARD_FRESH_S = 2.0
INPUT_TIMEOUT_S = 300.0  # how long input() waits for the user's answer
# An interrupt asked before the kernel began the cell goes out this long after it did:
# sent at execute_input itself, it can land in ipykernel's own code, outside the cell's
# try, and end the kernel instead of the cell.
LATE_INTERRUPT_S = 0.1
REMEMBERED_EXECUTES = 64  # executes whose late messages can still be traced to their run


@dataclass(slots=True)
class ExecutionOutcome:
    status: JobStatus
    execution_count: int | None
    outputs: list[dict[str, Any]]  # nbformat v4 output dicts
    error: str | None  # e.g. "NameError: name 'x' is not defined"
    reply: dict[str, Any] | None = None  # the kernel's execute_reply message, if it sent one


@dataclass(frozen=True, slots=True)
class _Asker:
    """Who a run's input() asks, and how."""

    user_id: str | None
    on_input: InputAsker | None


@dataclass(slots=True)
class _Run:
    inbox: Inbox
    collector: OutputCollector
    on_output: OnOutput
    deadline: float
    execution_count: int | None = None
    stdin: StdinRelay | None = None
    capture: Capture | None = None
    reply: dict[str, Any] | None = None
    executing: bool = False  # the kernel published execute_input: its code runs now
    interrupt_due: bool = False  # asked before that: sent once it does
    interrupt_at: float | None = None  # when that interrupt goes out (monotonic)

    def remaining_s(self) -> float:
        """Time left before the wall-clock limit; waiting for input() does not count."""
        if self.stdin is None:
            return self.deadline - time.monotonic()
        if self.stdin.waiting:
            return POLL_S
        return self.deadline + self.stdin.waited_s - time.monotonic()


async def _connect(kernel: KernelSandbox) -> AsyncKernelClient:
    client = make_client(kernel.connection_info)
    try:
        # The sandbox saw the kernel answer; this makes sure our IOPub subscription is live.
        await wait_until_ready(client, timeout_s=CONNECT_TIMEOUT_S, is_alive=kernel.is_alive)
    except BaseException:
        client.stop_channels()
        raise
    return client


class Kernel:
    """A stateful kernel in ``sandbox`` under ``limits``. Create with :meth:`start`."""

    interrupt_grace_s = INTERRUPT_GRACE_S
    input_timeout_s = INPUT_TIMEOUT_S

    def __init__(
        self, sandbox: Sandbox, limits: Limits, kernel: KernelSandbox, client: AsyncKernelClient
    ) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.last_used = time.monotonic()  # for idle culling
        self.started_at = utcnow()
        self.running: str | None = None  # the tag (a job id) of the execute running now
        self._kernel = kernel
        self._client = client
        self._lock = asyncio.Lock()
        self._alive = True
        self._closing = False  # restart or shutdown under way: a running execute is cancelled
        self._interrupted = False
        self._stdin: StdinRelay | None = None
        self._current: _Run | None = None
        self._executes: OrderedDict[str, str] = OrderedDict()  # kernel msg id -> tag
        self.output_widgets = OutputWidgets()  # kept up to date by the kernel's bridge
        self._iopub = IOPubReader()
        self._iopub.start(client)

    @property
    def connection_info(self) -> dict[str, Any]:
        """How to reach the kernel now (it changes with a restart)."""
        return self._kernel.connection_info

    def tag_of(self, msg_id: str) -> str | None:
        """The tag of the execute that sent ``msg_id`` (a recent one), if any."""
        return self._executes.get(msg_id)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Pass everything the kernel publishes to ``listener``; returns what stops it."""
        return self._iopub.listen(listener)

    def answer_input(self, user_id: str | None, value: str) -> bool:
        """Answer the running cell's ``input()``, if it asked ``user_id``."""
        return self._stdin is not None and self._stdin.answer(user_id, value)

    @classmethod
    async def start(cls, sandbox: Sandbox, limits: Limits) -> Kernel:
        kernel = await sandbox.start_kernel(limits)
        try:
            client = await _connect(kernel)
        except BaseException:
            await kernel.stop()
            raise
        return cls(sandbox, limits, kernel, client)

    @property
    def is_alive(self) -> bool:
        """False once shut down or seen dead (see :meth:`check_alive` to look again)."""
        return self._alive

    async def check_alive(self) -> bool:
        """Whether the kernel still runs: heard from just now, or else :meth:`_runs`."""
        if self._alive and time.monotonic() - self._iopub.heard_at < HEARD_FRESH_S:
            return True
        if self._alive and not await self._runs():
            self._alive = False
        return self._alive

    async def _runs(self) -> bool:
        """It echoes its heartbeat or, when it does not, the sandbox says it runs."""
        return await beats(self._client) or await self._kernel.is_alive()

    async def interrupt(self) -> None:
        """Interrupt the running execute (it ends CANCELLED); harmless when idle."""
        if not self._alive:
            return
        self._interrupted = True
        run = self._current
        if run is not None and not run.executing:
            # ipykernel ignores SIGINT until it runs the code: asked now, it would be lost.
            run.interrupt_due = True
            return
        await self._kernel.interrupt()

    async def restart(self) -> None:
        """Replace the kernel with a fresh one: state and execution count start over."""
        self._closing = True
        await self._kernel.stop()  # a running execute sees the kernel gone and ends
        async with self._lock:
            self._closing = False
            self._alive = False
            await self._iopub.stop()
            self._client.stop_channels()
            kernel = await self.sandbox.start_kernel(self.limits)
            try:
                self._client = await _connect(kernel)
            except BaseException:
                await kernel.stop()
                raise
            self._kernel, self._alive = kernel, True
            self._iopub.start(self._client)
            self._iopub.heard_at = self.last_used = time.monotonic()
            self.started_at = utcnow()

    async def shutdown(self) -> None:
        """Stop the kernel and remove what it left (idempotent)."""
        self._closing = True
        self._alive = False
        await self._kernel.stop()
        async with self._lock:
            await self._iopub.stop()
            self._client.stop_channels()

    async def execute(
        self,
        code: str,
        *,
        timeout_s: float,
        output_bytes: int,
        on_output: OnOutput,
        tag: str | None = None,
        user_id: str | None = None,
        on_input: InputAsker | None = None,
    ) -> ExecutionOutcome:
        """Run ``code``; each output is passed to ``on_output`` as it comes (see outputs.py).
        ``tag`` names this execute in :attr:`running` while it runs. ``input()`` requests go
        to ``on_input`` (and are answered by :meth:`answer_input` for ``user_id``); without
        it the kernel refuses input() at once."""
        async with self._lock:
            self.last_used = time.monotonic()
            self.running = tag
            try:
                run = self._current = _Run(Inbox(""), OutputCollector(output_bytes), on_output, 0.0)
                return await self._execute(code, timeout_s, run, tag, _Asker(user_id, on_input))
            except BaseException:
                # Cancelled, or on_output failed: don't leave the kernel running this code.
                with contextlib.suppress(SandboxError, OSError):
                    await self._kernel.interrupt()
                raise
            finally:
                self.running, self._current, self._iopub.inbox = None, None, None
                self.last_used = time.monotonic()

    async def _execute(
        self,
        code: str,
        timeout_s: float,
        run: _Run,
        tag: str | None,
        asker: _Asker,
    ) -> ExecutionOutcome:
        if not self._alive:
            return ExecutionOutcome(
                JobStatus.INTERNAL_ERROR, None, [], "The kernel is not running; restart it."
            )
        self._interrupted = False
        # stop_on_error aborts requests queued behind a failing one; executes here never queue
        # (one at a time), and with it some kernels also abort the next, unrelated request.
        msg_id = self._client.execute(
            code, store_history=True, allow_stdin=asker.on_input is not None, stop_on_error=False
        )
        # Nothing is read between the send and here: no reply can come before its inbox.
        run.inbox = self._iopub.inbox = Inbox(msg_id)
        self._remember(msg_id, tag)
        run.capture = Capture(
            self.output_widgets,
            msg_id,
            self._send_outputs,
            limit_bytes=run.collector.limit_bytes,
        )
        run.deadline = time.monotonic() + timeout_s
        if asker.on_input is not None:
            run.stdin = self._relay_stdin(run, asker.user_id, asker.on_input)
        try:
            return await self._settle(run, timeout_s)
        finally:
            run.capture.flush()
            self._stdin = None
            if run.stdin is not None:
                await run.stdin.stop()

    def _send_outputs(self, comm_id: str, outputs: list[dict[str, Any]]) -> None:
        """An Output widget's new outputs, sent to the kernel as a frontend would."""
        data = {"method": "update", "state": {"outputs": outputs}, "buffer_paths": []}
        msg = self._client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self._client.shell_channel.send(msg)

    def _remember(self, msg_id: str, tag: str | None) -> None:
        if tag is not None:
            self._executes[msg_id] = tag
            while len(self._executes) > REMEMBERED_EXECUTES:
                self._executes.popitem(last=False)

    def _relay_stdin(self, run: _Run, user_id: str | None, on_input: InputAsker) -> StdinRelay:
        async def on_timeout(timeout_s: float) -> None:
            text = f"No answer to input() within {timeout_s:g} s; it got end-of-file."
            await self._handle(
                run, "error", {"ename": "InputTimeout", "evalue": text, "traceback": [text]}
            )

        relay = StdinRelay(
            self._client,
            parent_id=run.inbox.msg_id,
            user_id=user_id,
            timeout_s=self.input_timeout_s,
            asker=on_input,
            on_timeout=on_timeout,
        )
        self._stdin = relay
        relay.start()
        return relay

    async def _settle(self, run: _Run, timeout_s: float) -> ExecutionOutcome:
        output_bytes = run.collector.limit_bytes
        ending = await self._follow(run)
        if ending == "idle":
            return await self._replied(run)
        if ending == "died":
            return await self._died(run)
        await self._interrupt_and_settle(run)
        if ending == "timeout":
            return self._outcome(
                run, JobStatus.TIMED_OUT, f"Execution timed out after {timeout_s:g} s."
            )
        return self._outcome(
            run, JobStatus.OUTPUT_EXCEEDED, f"Output exceeded the limit of {output_bytes} bytes."
        )

    async def _follow(self, run: _Run) -> Ending:
        """Pass this execute's IOPub messages on until the kernel is idle or a limit is hit."""
        while True:
            wait_s = min(POLL_S, run.remaining_s(), await self._late_interrupt(run))
            if wait_s <= 0:
                return "timeout"
            try:
                msg = await run.inbox.get(wait_s)
            except TimeoutError:
                if not await self._runs():
                    return "died"
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "idle"
            if await self._handle(run, msg["msg_type"], msg["content"]):
                return "exceeded"

    async def _late_interrupt(self, run: _Run) -> float:
        """Send an interrupt kept for this run once it is due; how long until it is."""
        if run.interrupt_at is None:
            return POLL_S
        due_in_s = run.interrupt_at - time.monotonic()
        if due_in_s > 0:
            return due_in_s
        run.interrupt_at = None
        self._interrupted = True  # it ends CANCELLED, as if asked just now
        await self._kernel.interrupt()
        return POLL_S

    async def _handle(self, run: _Run, msg_type: str, content: dict[str, Any]) -> bool:
        """Collect one message and stream its events; True when the cap was just exceeded."""
        if run.capture is not None and run.capture.observe(msg_type, content):
            return False  # it went into an Output widget, not the cell
        if msg_type == "execute_input":
            run.execution_count = content.get("execution_count")
            run.executing = True
            if run.interrupt_due:
                run.interrupt_at = time.monotonic() + LATE_INTERRUPT_S
        already_exceeded = run.collector.exceeded
        for event in run.collector.handle(msg_type, content):
            await run.on_output(event)
        return run.collector.exceeded and not already_exceeded

    async def _interrupt_and_settle(self, run: _Run) -> None:
        """Interrupt; a kernel that is not idle again within the grace period is stopped."""
        await self._kernel.interrupt()
        run.deadline = time.monotonic() + self.interrupt_grace_s
        if await self._follow_quietly(run) != "idle":
            await self._mark_dead()

    async def _follow_quietly(self, run: _Run) -> Ending:
        while True:
            ending = await self._follow(run)
            if ending != "exceeded":
                return ending  # past the cap, messages are dropped until idle

    async def _replied(self, run: _Run) -> ExecutionOutcome:
        run.reply = await self._reply(run.inbox.msg_id)
        content = None if run.reply is None else run.reply["content"]
        if content is None:
            return self._outcome(run, JobStatus.INTERNAL_ERROR, "The kernel did not reply.")
        run.execution_count = content.get("execution_count", run.execution_count)
        if content.get("status") == "ok":
            return self._outcome(run, JobStatus.SUCCEEDED, None)
        if content.get("status") != "error":
            return self._outcome(run, JobStatus.FAILED, "The execution was aborted.")
        ename, evalue = content.get("ename", "Error"), content.get("evalue", "")
        message = f"{ename}: {evalue}" if evalue else ename
        if ename == "MemoryError":
            return self._outcome(run, JobStatus.MEMORY_EXCEEDED, message)
        if ename == "KeyboardInterrupt" and self._interrupted:
            return self._outcome(run, JobStatus.CANCELLED, "Interrupted.")
        return self._outcome(run, JobStatus.FAILED, message)

    async def _reply(self, msg_id: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while (wait_s := deadline - time.monotonic()) > 0:
            try:
                msg = await self._client.get_shell_msg(timeout=wait_s)
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                reply: dict[str, Any] = msg
                return reply
        return None

    async def _died(self, run: _Run) -> ExecutionOutcome:
        oom = not self._closing and await self._kernel.was_oom_killed()
        closing = self._closing
        await self._mark_dead()
        if closing:
            return self._outcome(run, JobStatus.CANCELLED, "The kernel was stopped.")
        if oom:
            return self._outcome(
                run,
                JobStatus.MEMORY_EXCEEDED,
                f"The kernel exceeded its memory limit "
                f"({self.limits.memory_mb} MiB) and was stopped.",
            )
        return self._outcome(run, JobStatus.INTERNAL_ERROR, "The kernel died unexpectedly.")

    async def _mark_dead(self) -> None:
        self._alive = False
        await self._kernel.stop()

    @staticmethod
    def _outcome(run: _Run, status: JobStatus, error: str | None) -> ExecutionOutcome:
        return ExecutionOutcome(
            status, run.execution_count, run.collector.outputs, error, run.reply
        )
