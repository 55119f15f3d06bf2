"""`POST /auth/token`: the OAuth2 client-credentials grant (RFC 6749 section 4.4).

The client authenticates with form fields `client_id` and `client_secret` or with HTTP
Basic (section 2.3.1), never both, and gets a short-lived bearer token. Bad secrets are
counted per client id and source address (429 with Retry-After once locked).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Header, Response

from shipyard.core.errors import AuthenticationError, TooManyRequestsError
from shipyard.core.schemas import AccessToken
from shipyard.server.deps import SourceAddressDep, WorkspaceDep
from shipyard.server.errors import OAuthError

router = APIRouter(prefix="/auth", tags=["auth"])

GRANT_TYPE = "client_credentials"
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="shipyard"'}


@router.post(
    "/token",
    name="token",
    response_model=AccessToken,
    responses={400: {"description": "Bad grant"}, 401: {"description": "Bad client"}},
)
def issue_token(
    ws: WorkspaceDep,
    address: SourceAddressDep,
    response: Response,
    grant_type: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> AccessToken:
    """Exchange a client id and secret for a bearer token."""
    if not grant_type:
        raise OAuthError(400, "invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuthError(400, "unsupported_grant_type", f"only {GRANT_TYPE} is supported")
    basic = _basic_credentials(authorization)
    if basic is not None and (client_id or client_secret):
        raise OAuthError(400, "invalid_request", "send the client credentials one way only")
    challenge = _BASIC_CHALLENGE if basic is not None else {}
    client_id, client_secret = basic or (client_id, client_secret)
    if not client_id or not client_secret:
        raise OAuthError(401, "invalid_client", "client_id and client_secret are required")
    try:
        token = ws.issue_access_token(client_id, client_secret, address=address)
    except AuthenticationError as exc:
        raise OAuthError(401, "invalid_client", str(exc), challenge) from None
    except TooManyRequestsError as exc:
        retry = {"Retry-After": str(max(1, exc.retry_after_s))}
        raise OAuthError(429, "slow_down", str(exc), retry) from None
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return token


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client id, secret) from an `Authorization: Basic` header, or None without one."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            401, "invalid_client", "malformed Basic credentials", _BASIC_CHALLENGE
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError(401, "invalid_client", "malformed Basic credentials", _BASIC_CHALLENGE)
    return unquote_plus(client_id), unquote_plus(secret)
