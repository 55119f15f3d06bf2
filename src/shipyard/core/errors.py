"""Domain errors shared by every layer, and the one table of their outcomes.

Each class carries its outcome as class attributes: `status` (the HTTP status the server
and a scoring endpoint answer with) and `exit_code` (what the CLI exits with). Every face
derives its mapping from them: the server's handlers, the HTTP client turning an answer
back into an error (`error_class`), the scoring service, the endpoint invoke and the CLI.
Raise the most specific class that fits and put what the user must fix in the message.

ShipyardError                a class not named below: a bug to fix here   (HTTP 500, exit 2)
├── InvalidInputError        the caller's input cannot be used            (HTTP 422, exit 2)
│   ├── DataError            a dataset cannot be trained on: missing target, one class, ...
│   ├── SchemaError          rows do not match a model's input schema at predict time
│   └── PayloadTooLargeError an upload or table is over a size bound         (HTTP 413)
├── NotFoundError            a named or identified thing does not exist    (HTTP 404, exit 2)
├── ConflictError            the operation clashes with current state      (HTTP 409, exit 2)
├── AuthenticationError      no or wrong credentials                       (HTTP 401, exit 2)
├── PermissionDeniedError    the caller may not do this                    (HTTP 403, exit 2)
├── TooManyRequestsError     the caller must slow down (repeated bad secrets) (HTTP 429, exit 2)
├── ServiceUnavailableError  a service it needs (the database) is down     (HTTP 503, exit 2)
├── ModelError               a model failed on valid input (scoring)       (HTTP 500, exit 1)
└── ServerError              the server failed (a bug): names the request id (HTTP 500, exit 1)

Exit codes: 2 means the user can fix it (input, names, credentials, a service to start);
1 means something failed on valid input (a model, or the server: report the request id).

Error answers are `{"error": message, "type": class name}`, plus `"request_id"` for a 5xx;
`error_class` reads them back: the class the answer names when that class has the answer's
status, else the most general class with that status; a 400 is `InvalidInputError`, any
other 5xx a `ServerError`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class ShipyardError(Exception):
    """Base class of every error Shipyard raises on purpose."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 2


class InvalidInputError(ShipyardError):
    """The caller's input cannot be used as given."""

    status = 422


class DataError(InvalidInputError):
    """A dataset cannot be trained on (missing target, a single class, no rows, ...)."""


class SchemaError(InvalidInputError):
    """Rows given to a model do not match its input schema."""


class PayloadTooLargeError(InvalidInputError):
    """An upload or a table is over a bound (bytes, columns, compression ratio, line)."""

    status = 413


class NotFoundError(ShipyardError):
    """A named or identified entity does not exist."""

    status = 404


class ConflictError(ShipyardError):
    """The operation clashes with the current state (a duplicate name, a finished run)."""

    status = 409


class AuthenticationError(ShipyardError):
    """No credentials, or credentials that do not verify."""

    status = 401


class PermissionDeniedError(ShipyardError):
    """The caller is known but may not perform this operation."""

    status = 403


class TooManyRequestsError(ShipyardError):
    """The caller tried too often (e.g. repeated bad secrets) and must wait."""

    status = 429

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailableError(ShipyardError):
    """A service Shipyard needs (the database, a server) cannot be reached right now."""

    status = 503


class ModelError(ShipyardError):
    """A model failed on input that was valid."""

    status = 500
    exit_code = 1


class ServerError(ShipyardError):
    """The server failed on a request (a bug); `request_id` finds its traceback in the log."""

    status = 500
    exit_code = 1

    def __init__(self, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def error_classes() -> list[type[ShipyardError]]:
    """Every class of this module, the base first."""
    return [ShipyardError, *_subclasses(ShipyardError)]


def error_class(status: int, type_name: str | None = None) -> type[ShipyardError]:
    """The class an error answer of `status` stands for (see the module docstring)."""
    classes = error_classes()
    named = next((c for c in classes if c.__name__ == type_name), None)
    if named is not None and named.status == status:
        return named
    if status == 400:
        return InvalidInputError
    if status >= 500 and status != ServiceUnavailableError.status:
        return ServerError
    same = [c for c in classes if c.status == status]
    return min(same, key=lambda c: len(c.__mro__)) if same else ShipyardError


def answer_error(status: int, message: str, body: str | bytes = b"") -> ShipyardError:
    """The error an answer of `status` stands for, with `message`; its JSON `body` may name
    the class and the request id (a scoring endpoint's answer, read by local and remote)."""
    try:
        document: Any = json.loads(body) if body else None
    except ValueError:
        document = None
    fields = document if isinstance(document, dict) else {}
    kind = error_class(status, _text(fields.get("type")))
    if kind is ServerError:
        return ServerError(message, _text(fields.get("request_id")))
    return kind(message)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _subclasses(cls: type[ShipyardError]) -> list[type[ShipyardError]]:
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__ == __name__:
            found += [sub, *_subclasses(sub)]
    return found
