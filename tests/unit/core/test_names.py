from __future__ import annotations

import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.core.ids import PREFIXES, new_id
from shipyard.core.names import Ref, check_name, parse_ref


@pytest.mark.parametrize("name", ["bank", "Bank_Marketing-2024.v1", "x", "9lives", "a" * 255])
def test_valid_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("a/b", "slashes"),
        ("a\\b", "slashes"),
        ("a" * 256, "256 characters long; at most 255"),
        (".hidden", "start with a letter or digit"),
        ("with space", "may hold only"),
        ("colon:name", "may hold only"),
    ],
)
def test_invalid_names_say_why(name, message):
    with pytest.raises(InvalidInputError, match=message):
        check_name(name, "dataset name")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("bank", Ref("bank")), ("bank:3", Ref("bank", 3)), ("bank:latest", Ref("bank"))],
)
def test_refs(text, expected):
    assert parse_ref(text) == expected
    assert str(expected) in (text, "bank")


@pytest.mark.parametrize("text", ["bank:0", "bank:-1", "bank:one", "bank:"])
def test_bad_versions(text):
    with pytest.raises(InvalidInputError, match="positive whole number"):
        parse_ref(text)


def test_ids_carry_their_prefix_and_sort_by_creation():
    ids = [new_id("run") for _ in range(50)]
    assert all(i.startswith("run_") for i in ids)
    assert len(set(ids)) == 50
    assert [i[:16] for i in ids] == sorted(i[:16] for i in ids)  # the time part is ordered
    assert {new_id(kind).split("_")[0] for kind in PREFIXES} == set(PREFIXES.values())
