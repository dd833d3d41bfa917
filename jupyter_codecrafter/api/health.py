"""Health: liveness without auth, for load balancers and orchestrators."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from .base import CodeCrafterHandler


class HealthHandler(CodeCrafterHandler):
    @allow_unauthenticated
    async def get(self) -> None:
        checks = await self.services.health()
        healthy = all(check == "ok" for check in checks.values())
        self.reply(
            200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": checks}
        )


handlers = [(r"/health", HealthHandler)]
