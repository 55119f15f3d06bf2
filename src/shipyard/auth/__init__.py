"""Credentials: random secrets and their hashes, and short-lived signed tokens (JWT).

Pure functions over bytes and strings; no store, no web framework. Imports `core` only.
Secrets are stored only as hashes (`hash_secret`); a presented secret is checked with
`verify_secret` in constant time. Tokens are EdDSA JWTs signed with the workspace private key.
"""

from shipyard.auth.roles import Role, parse_role, require
from shipyard.auth.secrets import hash_secret, new_secret, verify_secret
from shipyard.auth.tokens import (
    SigningKeys,
    TokenClaims,
    issue_token,
    new_signing_keys,
    verify_token,
)

__all__ = [
    "Role",
    "SigningKeys",
    "TokenClaims",
    "hash_secret",
    "issue_token",
    "new_secret",
    "new_signing_keys",
    "parse_role",
    "require",
    "verify_secret",
    "verify_token",
]
