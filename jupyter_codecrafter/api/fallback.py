"""Any other path under the API prefix: a JSON 404, never Jupyter's HTML page.

Listed last in the URL table, so it only answers what no endpoint matched (including a
known path with a malformed parameter, such as /sessions/<not an id>).
"""

from __future__ import annotations

from ..errors import NotFound
from .base import CodeCrafterHandler


class NotFoundHandler(CodeCrafterHandler):
    def check_xsrf_cookie(self) -> None:
        # Nothing happens here whatever the method, so there is nothing to forge; answering
        # 404 rather than 403 tells clients the truth about the path.
        return

    async def prepare(self) -> None:  # type: ignore[override]  # as CodeCrafterHandler.prepare
        # Before Jupyter's own prepare, which would redirect an anonymous GET to its login.
        raise NotFound("No such endpoint.")


handlers = [(r"/.*", NotFoundHandler)]
