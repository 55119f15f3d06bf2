"""Who is calling: the `Authorization: Bearer` header checked under an endpoint's auth mode.

`key`: the secret must match one of the config's key hashes, listed [primary, secondary];
the caller is named after the slot. `token`: an EdDSA token verified with the workspace's
public key for the endpoint's own audience (`endpoint:<id>`; a control-plane token, or one
for another endpoint, is refused), not issued before its principal's entry in `revoked`;
the caller is its subject. Verified tokens are cached until they expire (a new config means
a new cache), so the signature is checked once per token rather than once per request.
`none`: everyone may call. Nothing here logs or keeps a presented secret except the token
cache, which holds tokens that are valid anyway.
"""

from __future__ import annotations

import logging
import time

from shipyard.auth import verify_secret, verify_token
from shipyard.auth.tokens import ENDPOINT_AUDIENCE_PREFIX
from shipyard.core.errors import AuthenticationError
from shipyard.serving.config import EndpointConfig

KEY_SLOTS = ("primary", "secondary")
TOKEN_CACHE_SIZE = 4096

logger = logging.getLogger("shipyard.serving")


class Authenticator:
    """Checks credentials against one endpoint config (a new config means a new one)."""

    def __init__(self, config: EndpointConfig) -> None:
        self.mode = config.auth_mode
        self.key_hashes = config.key_hashes
        self.public_key = config.token_public_key
        # Only endpoint audiences, whatever an older config lists: server tokens never score.
        self.audiences = [
            a for a in config.token_audiences if a.startswith(ENDPOINT_AUDIENCE_PREFIX)
        ]
        self.revoked = dict(config.revoked)
        self._tokens: dict[str, tuple[str, int]] = {}

    @property
    def is_open(self) -> bool:
        """Whether anyone may call without credentials."""
        return self.mode == "none"

    def caller(self, header: bytes | None) -> str | None:
        """Who the `Authorization` header speaks for; `AuthenticationError` if nobody.

        Returns the key slot (`primary`, `secondary`) or the token's subject; None when
        the endpoint is open.
        """
        if self.mode == "none":
            return None
        secret = _bearer(header, self.mode)
        if self.mode == "key":
            return self._key_slot(secret)
        return self._token_subject(secret)

    def _key_slot(self, secret: str) -> str:
        for i, stored in enumerate(self.key_hashes):
            if verify_secret(secret, (stored,)):
                return KEY_SLOTS[i] if i < len(KEY_SLOTS) else f"key{i + 1}"
        raise AuthenticationError("invalid key")

    def _token_subject(self, token: str) -> str:
        cached = self._tokens.get(token)
        if cached is not None:
            subject, expires_at = cached
            if expires_at > time.time():
                return subject
            del self._tokens[token]
            raise AuthenticationError("the token has expired")
        if not self.public_key or not self.audiences:
            raise AuthenticationError(
                "this endpoint cannot verify tokens: it has no public key or audience"
            )
        try:
            claims = verify_token(self.public_key, token, audiences=self.audiences)
        except AuthenticationError:
            raise
        except Exception as exc:  # a public key the crypto library cannot use
            logger.error("token verification failed: %s: %s", type(exc).__name__, exc)
            raise AuthenticationError("this endpoint cannot verify tokens") from None
        not_before = self.revoked.get(claims.subject)
        if not_before is not None and claims.issued_at < not_before:
            raise AuthenticationError(
                "the token was revoked: its principal was deleted or its secret rotated"
            )
        if len(self._tokens) >= TOKEN_CACHE_SIZE:
            self._tokens.clear()
        self._tokens[token] = (claims.subject, claims.expires_at)
        return claims.subject


def _bearer(header: bytes | None, mode: str) -> str:
    what = "an endpoint key" if mode == "key" else "a token"
    if not header:
        raise AuthenticationError(f"missing credentials: send Authorization: Bearer <{what}>")
    scheme, _, secret = header.decode("latin-1").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise AuthenticationError(f"expected Authorization: Bearer <{what}>")
    return secret
