"""Health and readiness, without auth, for load balancers and orchestrators.

200 when this instance takes work: its store, broker and pub/sub answer and at least one
worker is live. 503 otherwise, also while it starts or stops, so a load balancer sends
requests elsewhere. Each check says how long its backend took to answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .base import CodeCrafterHandler
from .operation import operation


class CheckOut(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float = Field(description="How long the backend took to answer.")
    error: str | None = None
    live: int | None = Field(None, description="The workers check: live workers.")


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded", "starting", "stopping"]
    ready: bool
    checks: dict[str, CheckOut] = Field(
        description="store, broker, pubsub and workers (empty while starting)."
    )


class HealthHandler(CodeCrafterHandler):
    waits_until_ready = False  # answers 503 "starting" instead

    @operation(
        "Readiness of this instance: its backends and the workers",
        auth=False,
        rate_limited=False,  # load balancers poll it
        responses={200: HealthResponse, 503: HealthResponse},
        tags=("operations",),
    )
    async def get(self) -> None:
        services = self.services
        if services.state == "starting":
            body = HealthResponse(status="starting", ready=False, checks={})
            self.reply(503, body)
            return
        readiness = await services.readiness()
        body = HealthResponse.model_validate(readiness.as_dict())
        self.reply(200 if readiness.ready else 503, body)


handlers = [(r"/health", HealthHandler)]
