"""Names of datasets, experiments and models, and `NAME[:VERSION]` references to them.

Names become parts of artifact paths and command lines, so they are kept to letters,
digits, `.`, `_` and `-`, start with a letter or digit and are at most 255 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.core.errors import InvalidInputError

MAX_NAME_LENGTH = 255
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_name(name: str, what: str = "name") -> str:
    """Return `name` if it is a valid name, else raise `InvalidInputError` saying why."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} must not be empty")
    if "/" in name or "\\" in name:
        raise InvalidInputError(f"{what} {name!r} must not contain slashes")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"{what} is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed"
        )
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{what} {name!r} may hold only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class Ref:
    """A `NAME[:VERSION]` reference; `version` None means the latest version."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"


def parse_ref(text: str, what: str = "name") -> Ref:
    """Parse `NAME`, `NAME:VERSION` or `NAME:latest`."""
    name, sep, version = text.partition(":")
    check_name(name, what)
    if not sep or version == "latest":
        return Ref(name)
    if not version.isdigit() or int(version) < 1:
        raise InvalidInputError(
            f"{text!r}: the version after ':' must be a positive whole number or 'latest'"
        )
    return Ref(name, int(version))
