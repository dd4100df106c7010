"""Users and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from gateway.api.schemas.common import Body, Page, Resource, omittable
from gateway.api.times import optional_datetime, to_datetime
from storage.records import ApiKey, Role, User

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class UserIn(Body):
    """A new user."""

    name: Name
    email: Email
    role: Role


class UserPatch(Body):
    """The fields of a user to change; those left out keep their value."""

    name: Name = omittable()
    email: Email = omittable()
    role: Role = omittable()


class UserOut(Resource):
    """A user."""

    id: str = Field(examples=["usr_01JD0Q6Y1M9ZC8X4W7S5T3R2QP"])
    name: str
    email: str
    role: Role
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The representation of ``user``."""
        return cls.model_validate(cls.row(user))

    @staticmethod
    def row(user: User) -> dict[str, Any]:
        """``of(user)`` as the dict it dumps to: list pages render these directly."""
        return {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "created_at": to_datetime(user.created_at),
            "updated_at": to_datetime(user.updated_at),
        }


class UserCreated(UserOut):
    """A new user with its first API key (shown this once)."""

    api_key: str = Field(description="Bearer token for this user; it cannot be shown again.")


class UserPage(Page[UserOut]):
    """A page of users."""


class ApiKeyOut(Resource):
    """An API key's facts; the key itself is never stored."""

    id: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        """The representation of ``key``."""
        return cls.model_validate(cls.row(key))

    @staticmethod
    def row(key: ApiKey) -> dict[str, Any]:
        """``of(key)`` as the dict it dumps to: list pages render these directly."""
        return {
            "id": key.id,
            "prefix": key.prefix,
            "created_at": to_datetime(key.created_at),
            "revoked_at": optional_datetime(key.revoked_at),
        }


class ApiKeyCreated(ApiKeyOut):
    """A new API key (shown this once)."""

    api_key: str = Field(description="Bearer token; it cannot be shown again.")


class ApiKeyPage(Page[ApiKeyOut]):
    """A user's API keys, newest first (all of them: ``next_cursor`` is always null)."""
