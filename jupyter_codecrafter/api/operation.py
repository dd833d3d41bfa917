"""``@operation``: the one declaration of an endpoint's inputs and outputs.

It authenticates (Bearer JWT), validates the query and the JSON body against pydantic
models, and records the same models for the OpenAPI document, so what is validated and
what is documented can never drift apart::

    class SessionsHandler(CodeCrafterHandler):
        @operation("Create a session", request=CreateSessionRequest,
                   responses={201: SessionResponse})
        async def post(self, *, user: User, body: CreateSessionRequest) -> None: ...

The decorated method receives ``user`` (when ``auth``), ``body`` (when ``request``) and
``query`` (when ``query``) as keyword arguments, plus the URL's named groups.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ..errors import ValidationFailed

if TYPE_CHECKING:
    from .base import CodeCrafterHandler

MethodT = TypeVar("MethodT", bound=Callable[..., Awaitable[None]])

OPERATION_ATTR = "__codecrafter_operation__"


@dataclass(frozen=True)
class Operation:
    summary: str
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    auth: bool = True
    max_body_bytes: str | None = None  # name of the setting that caps this body, if not the default
    rate_limit: str | None = None  # name of a rate-limit rule applied before anything else
    tags: tuple[str, ...] = ()
    description: str = ""
    rate_limited: bool = True  # False only for what load balancers poll (health)


def operation(
    summary: str,
    *,
    request: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None] | None = None,
    auth: bool = True,
    max_body_bytes: str | None = None,
    rate_limit: str | None = None,
    tags: tuple[str, ...] = (),
    description: str = "",
    rate_limited: bool = True,
) -> Callable[[MethodT], MethodT]:
    spec = Operation(
        summary,
        request,
        query,
        responses or {},
        auth,
        max_body_bytes,
        rate_limit,
        tags,
        description,
        rate_limited,
    )

    def decorate(method: MethodT) -> MethodT:
        @functools.wraps(method)
        async def wrapper(self: CodeCrafterHandler, *args: Any, **kwargs: Any) -> None:
            await self.before_operation(spec)
            if spec.auth:
                kwargs["user"] = await self.authenticated_user()
            if spec.query is not None:
                kwargs["query"] = parse_query(self, spec.query)
            if spec.request is not None:
                limit = (
                    getattr(self.services.settings, spec.max_body_bytes)
                    if spec.max_body_bytes
                    else None
                )
                kwargs["body"] = self.parse_body(spec.request, max_bytes=limit)
            await method(self, *args, **kwargs)

        # Jupyter's own auth stays out of the way: these endpoints check the Bearer JWT.
        setattr(wrapper, "__allow_unauthenticated", True)
        setattr(wrapper, OPERATION_ATTR, spec)
        return wrapper  # type: ignore[return-value]

    return decorate


def parse_query(handler: CodeCrafterHandler, model: type[BaseModel]) -> BaseModel:
    """Query arguments validated against ``model`` (the last value of a repeated name)."""
    raw = {name: handler.get_query_argument(name) for name in handler.request.query_arguments}
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationFailed(details=validation_details(exc)) from exc


def validation_details(exc: PydanticValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, without echoing the submitted values (they may be passwords)."""
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or None, "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def operation_of(method: Any) -> Operation | None:
    return getattr(method, OPERATION_ATTR, None)
