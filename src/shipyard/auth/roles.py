"""Roles: reader reads; contributor also creates and runs; owner also manages principals
and sees endpoint keys. Each role includes the ones below it."""

from __future__ import annotations

from enum import StrEnum

from shipyard.core.errors import InvalidInputError, PermissionDeniedError


class Role(StrEnum):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may."""
        return self.rank >= needed.rank


_RANKS = {Role.READER: 0, Role.CONTRIBUTOR: 1, Role.OWNER: 2}


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise InvalidInputError(
            f"unknown role {text!r}; use one of {', '.join(r.value for r in Role)}"
        ) from None


def require(role: Role, needed: Role, action: str) -> None:
    """Raise `PermissionDeniedError` unless `role` includes `needed`."""
    if not role.allows(needed):
        raise PermissionDeniedError(
            f"{action} needs the {needed.value} role; the caller is a {role.value}"
        )
