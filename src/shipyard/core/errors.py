"""Domain errors shared by every layer.

Faces map each class to one outcome (an HTTP status, a CLI exit code) in one table, so
raise the most specific class that fits and put what the user must fix in the message.

ShipyardError
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
└── ModelError               a model failed on valid input                 (HTTP 500, exit 1)
"""

from __future__ import annotations


class ShipyardError(Exception):
    """Base class of every error Shipyard raises on purpose."""


class InvalidInputError(ShipyardError):
    """The caller's input cannot be used as given."""


class DataError(InvalidInputError):
    """A dataset cannot be trained on (missing target, a single class, no rows, ...)."""


class SchemaError(InvalidInputError):
    """Rows given to a model do not match its input schema."""


class PayloadTooLargeError(InvalidInputError):
    """An upload or a table is over a bound (bytes, columns, compression ratio, line)."""


class NotFoundError(ShipyardError):
    """A named or identified entity does not exist."""


class ConflictError(ShipyardError):
    """The operation clashes with the current state (a duplicate name, a finished run)."""


class AuthenticationError(ShipyardError):
    """No credentials, or credentials that do not verify."""


class PermissionDeniedError(ShipyardError):
    """The caller is known but may not perform this operation."""


class TooManyRequestsError(ShipyardError):
    """The caller tried too often (e.g. repeated bad secrets) and must wait."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailableError(ShipyardError):
    """A service Shipyard needs (the database, a server) cannot be reached right now."""


class ModelError(ShipyardError):
    """A model failed on input that was valid."""
