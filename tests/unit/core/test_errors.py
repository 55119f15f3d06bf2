"""The error table: the hierarchy in `core/errors.py`'s docstring is the classes' own."""

from __future__ import annotations

import re

from shipyard.core import errors

_LINE = re.compile(r"^[│├└─ ]*(\w+Error)\s.*?(?:\(HTTP (\d{3})(?:, exit (\d))?\))?$")


def _documented() -> dict[str, tuple[str | None, str | None]]:
    found = {}
    for line in (errors.__doc__ or "").splitlines():
        match = _LINE.match(line)
        if match:
            found[match.group(1)] = (match.group(2), match.group(3))
    return found


def test_the_docstring_names_every_class_with_its_status_and_exit_code():
    documented = _documented()
    assert set(documented) == {c.__name__ for c in errors.error_classes()}
    for cls in errors.error_classes():
        status, exit_code = documented[cls.__name__]
        if "status" in vars(cls):
            assert status == str(cls.status), cls.__name__
        if status is not None:
            assert int(status) == cls.status, cls.__name__
        if exit_code is not None:
            assert int(exit_code) == cls.exit_code, cls.__name__
