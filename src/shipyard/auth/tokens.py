"""Short-lived bearer tokens: EdDSA-signed JWTs naming a subject, a role and an audience.

The workspace signs with its private key; whoever only verifies (a scoring endpoint) gets
the public key, so an endpoint's configuration holds nothing that could mint tokens.

Audiences keep the two kinds apart: the control plane accepts only `SERVER_AUDIENCE`, an
endpoint only `endpoint_audience(its id)`, so neither kind is a credential for the other.
`iat` carries fractions of a second: a token issued before a secret was rotated is told
from one issued right after it (`issued_at < not_before` means revoked).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shipyard.core.errors import AuthenticationError

ALGORITHM = "EdDSA"
ISSUER = "shipyard"
DEFAULT_TTL_S = 3600
MAX_TOKEN_TTL_S = 86_400  # the longest-lived token the workspace issues (endpoint tokens)
SERVER_AUDIENCE = "shipyard"
ENDPOINT_AUDIENCE_PREFIX = "endpoint:"


@dataclass(frozen=True)
class TokenClaims:
    """Who a verified token speaks for."""

    subject: str
    role: str
    audience: str
    expires_at: int
    issued_at: float = 0.0


@dataclass(frozen=True)
class SigningKeys:
    """A key pair in PEM: the private half signs, the public half verifies."""

    private_pem: str
    public_pem: str


def new_signing_keys() -> SigningKeys:
    """A fresh Ed25519 key pair."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SigningKeys(private_pem, public_pem)


def endpoint_audience(endpoint_id: str) -> str:
    """The one audience an endpoint accepts tokens for."""
    return f"{ENDPOINT_AUDIENCE_PREFIX}{endpoint_id}"


def issue_token(
    private_pem: str,
    subject: str,
    *,
    role: str,
    audience: str,
    ttl_s: int = DEFAULT_TTL_S,
    issued_at: float | None = None,
) -> str:
    """A signed token for `subject` with `role`, valid for `ttl_s` seconds at `audience`.

    Args:
        issued_at: the epoch time the grant was decided (default now); revocation compares
            it with a rotation time, so a grant passes the time it read the secret.
    """
    now = time.time() if issued_at is None else issued_at
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "role": role,
        "aud": audience,
        "iat": now,
        "exp": int(now) + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm=ALGORITHM)


def verify_token(public_pem: str, token: str, *, audiences: list[str]) -> TokenClaims:
    """The claims of a valid token for one of `audiences`; `AuthenticationError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            public_pem,
            algorithms=[ALGORITHM],
            audience=audiences,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"invalid token: {exc}") from None
    return TokenClaims(
        subject=str(claims["sub"]),
        role=str(claims.get("role", "")),
        audience=str(claims["aud"]),
        expires_at=int(claims["exp"]),
        issued_at=float(claims["iat"]),
    )
