"""Service principals: non-human identities with a role, and the tokens they obtain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Principal(BaseModel):
    """A service principal as listed (its secret is never shown again)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    role: str
    client_id: str
    created_at: datetime
    rotated_at: datetime | None = None


class PrincipalCredentials(BaseModel):
    """What `sp create` / `sp rotate` show once: the client id and its secret."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: str
    client_id: str
    client_secret: str


class AccessToken(BaseModel):
    """The OAuth2 client-credentials answer (RFC 6749 section 4.4.3)."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Caller(BaseModel):
    """Who is calling, as proved by a verified token."""

    model_config = ConfigDict(frozen=True)

    principal_id: str
    name: str
    role: str
