"""Schemas of the session, collaborator and invite endpoints."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from ...rooms.presence import Present
from ...sessions.collaborators import Member
from ...store.records import Invite, Session
from . import Identifier, Language, Request, Timestamp

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
GrantedRole = Literal["read", "write", "admin"]
InviteCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

MAX_INVITE_LIFETIME_S = 365 * 24 * 3600


class CreateSessionRequest(Request):
    title: Title
    kind: Literal["notebook", "file"] = "notebook"
    language: Language = "python"
    content: dict[str, Any] | str | None = Field(
        None,
        description="nbformat JSON for a notebook (any version nbformat reads), text for "
        "a file. Validated; capped by the max_content_bytes setting.",
    )
    is_public: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class UpdateSessionRequest(Request):
    """Only the fields given change; the document itself changes through the room."""

    title: Title | None = None
    language: Language | None = None
    is_public: bool | None = None
    metadata: dict[str, Any] | None = None


class ForkSessionRequest(Request):
    title: Title | None = Field(None, description='Default: "<title> (copy)".')
    is_public: bool = False


class ListSessionsQuery(Request):
    scope: Literal["mine", "shared", "public"] = Field(
        "mine", description="mine: you own them; shared: you collaborate; public: anyone's."
    )
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="Case-insensitive substring of the title."
    )
    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        None, description="The next_cursor of the previous page."
    )


class GetSessionQuery(Request):
    include: Literal["content"] | None = Field(
        None, description="content: add the current document (nbformat JSON or text)."
    )


class SetCollaboratorRequest(Request):
    role: GrantedRole


class CreateInviteRequest(Request):
    role: GrantedRole = "read"
    expires_in: int | None = Field(
        None, ge=60, le=MAX_INVITE_LIFETIME_S, description="Seconds until the code expires."
    )
    max_uses: int | None = Field(None, ge=1, le=100_000)


class JoinRequest(Request):
    code: InviteCode


class SessionOut(BaseModel):
    id: str
    title: str
    kind: str
    language: str
    owner: str
    is_public: bool
    metadata: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp
    role: str | None = None  # the caller's role on the session

    @classmethod
    def from_record(cls, session: Session, role: str | None = None) -> SessionOut:
        return cls(
            id=session.id,
            title=session.title,
            kind=str(session.kind),
            language=session.language,
            owner=session.owner_id,
            is_public=session.is_public,
            metadata=session.metadata,
            created_at=session.created_at,
            updated_at=session.updated_at,
            role=role,
        )


class SessionResponse(BaseModel):
    session: SessionOut


class SessionListResponse(BaseModel):
    sessions: list[SessionOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class UserSummary(BaseModel):
    id: str
    username: str
    display_name: str


class CollaboratorOut(BaseModel):
    user: UserSummary
    role: str
    added_at: Timestamp

    @classmethod
    def from_member(cls, member: Member) -> CollaboratorOut:
        user = member.user
        summary = UserSummary(id=user.id, username=user.username, display_name=user.display_name)
        return cls(user=summary, role=str(member.role), added_at=member.added_at)


class SessionDetailResponse(BaseModel):
    session: SessionOut
    collaborators: list[CollaboratorOut]
    content: dict[str, Any] | str | None = None


class CollaboratorsResponse(BaseModel):
    collaborators: list[CollaboratorOut]


class CollaboratorResponse(BaseModel):
    collaborator: CollaboratorOut


class InviteOut(BaseModel):
    code: str
    url: str = Field(description="Opens JupyterLab, whose CodeCrafter panel joins with the code.")
    session_id: Identifier
    role: str
    created_at: Timestamp
    expires_at: Timestamp | None
    max_uses: int | None
    uses: int
    revoked: bool

    @classmethod
    def from_record(cls, invite: Invite, url: str) -> InviteOut:
        return cls(
            code=invite.code,
            url=url,
            session_id=invite.session_id,
            role=str(invite.role),
            created_at=invite.created_at,
            expires_at=invite.expires_at,
            max_uses=invite.max_uses,
            uses=invite.uses,
            revoked=invite.revoked_at is not None,
        )


class InvitesResponse(BaseModel):
    invites: list[InviteOut]


class JoinResponse(BaseModel):
    session: SessionOut
    role: str


class PresentOut(BaseModel):
    user_id: str
    username: str
    display_name: str
    role: str = Field(description="Their strongest role among their connections.")
    colour: str = Field(description="Their cursor colour, the same for everyone.")
    connections: int

    @classmethod
    def from_present(cls, present: Present) -> PresentOut:
        return cls.model_validate(asdict(present))


class PresenceResponse(BaseModel):
    present: list[PresentOut]
