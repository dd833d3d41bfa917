"""Health: whether the backends answer, without auth, for load balancers and orchestrators."""

from __future__ import annotations

from pydantic import BaseModel

from .base import CodeCrafterHandler
from .operation import operation


class HealthResponse(BaseModel):
    status: str  # "ok" or "degraded"
    checks: dict[str, str]  # backend name -> "ok" or the error


class HealthHandler(CodeCrafterHandler):
    @operation(
        "Health of this instance and its backends",
        auth=False,
        rate_limited=False,  # load balancers poll it
        responses={200: HealthResponse, 503: HealthResponse},
        tags=("operations",),
    )
    async def get(self) -> None:
        checks = await self.services.health()
        healthy = all(check == "ok" for check in checks.values())
        status = "ok" if healthy else "degraded"
        self.reply(200 if healthy else 503, HealthResponse(status=status, checks=checks))


handlers = [(r"/health", HealthHandler)]
