from __future__ import annotations

import pytest

from shipyard.auth import (
    hash_secret,
    issue_token,
    new_secret,
    new_signing_keys,
    verify_secret,
    verify_token,
)
from shipyard.core.errors import AuthenticationError


@pytest.fixture(scope="module")
def keys():
    return new_signing_keys()


def test_secrets_are_random_and_stored_only_as_hashes():
    first, second = new_secret("sk_"), new_secret("sk_")
    assert first != second
    assert first.startswith("sk_")
    assert len(first) > 40
    stored = hash_secret(first)
    assert first not in stored
    assert verify_secret(first, [hash_secret(second), stored])
    assert not verify_secret(second, [stored])
    assert not verify_secret(first, [])


def test_tokens_verify_with_the_public_key_for_their_audience_only(keys):
    token = issue_token(keys.private_pem, "sp_1", role="reader", audience="endpoint:bank")
    claims = verify_token(keys.public_pem, token, audiences=["endpoint:bank", "shipyard"])
    assert (claims.subject, claims.role, claims.audience) == ("sp_1", "reader", "endpoint:bank")
    assert "PRIVATE" not in keys.public_pem
    with pytest.raises(AuthenticationError, match="invalid token"):
        verify_token(keys.public_pem, token, audiences=["endpoint:other"])
    with pytest.raises(AuthenticationError, match="invalid token"):
        verify_token(new_signing_keys().public_pem, token, audiences=["endpoint:bank"])
    with pytest.raises(AuthenticationError, match="invalid token"):
        verify_token(keys.public_pem, "not.a.token", audiences=["endpoint:bank"])


def test_expired_tokens_are_refused(keys):
    token = issue_token(keys.private_pem, "sp_1", role="reader", audience="a", ttl_s=-10)
    with pytest.raises(AuthenticationError, match="expired"):
        verify_token(keys.public_pem, token, audiences=["a"])


def test_tokens_carry_fractional_issue_times_and_name_one_endpoint():
    from shipyard.auth.tokens import SERVER_AUDIENCE, endpoint_audience

    keys = new_signing_keys()
    token = issue_token(keys.private_pem, "sp_1", role="scorer", audience=endpoint_audience("ep_1"))
    for elsewhere in (SERVER_AUDIENCE, "endpoint:ep_2"):
        with pytest.raises(AuthenticationError, match="Audience"):
            verify_token(keys.public_pem, token, audiences=[elsewhere])
    claims = verify_token(keys.public_pem, token, audiences=["endpoint:ep_1"])
    assert claims.issued_at != int(claims.issued_at)  # sub-second: told apart from a rotation
    assert claims.expires_at == int(claims.issued_at) + 3600
    set_time = issue_token(keys.private_pem, "sp_1", role="r", audience="x", issued_at=1e9 + 0.25)
    with pytest.raises(AuthenticationError, match="expired"):
        verify_token(keys.public_pem, set_time, audiences=["x"])


def test_a_token_without_an_issue_time_is_refused():
    import jwt

    keys = new_signing_keys()
    claims = {"iss": "shipyard", "sub": "sp_1", "aud": "shipyard", "exp": 4_000_000_000}
    token = jwt.encode(claims, keys.private_pem, algorithm="EdDSA")
    with pytest.raises(AuthenticationError, match="iat"):
        verify_token(keys.public_pem, token, audiences=["shipyard"])
