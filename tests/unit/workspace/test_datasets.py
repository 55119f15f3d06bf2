from __future__ import annotations

import pandas as pd
import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from tests.fixtures.automl import make_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame("binary", seed=0, rows=120)


def test_register_stores_version_1_with_a_profile(workspace, frame):
    dataset = workspace.register_dataset("loans", frame, description="first cut", target="y")

    assert (dataset.name, dataset.version, dataset.ref) == ("loans", 1, "loans:1")
    assert (dataset.rows, dataset.columns) == (120, 6)
    assert dataset.description == "first cut"
    assert "profile" not in dataset.model_dump()  # read on its own
    profile = workspace.profile_dataset(dataset.ref)
    kinds = {c.name: c.kind for c in profile.columns}
    assert kinds == {
        "x1": "numeric",
        "x2": "numeric",
        "count": "numeric",
        "color": "categorical",
        "flag": "boolean",
        "y": "categorical",
    }
    x1 = next(c for c in profile.columns if c.name == "x1")
    assert x1.summary is not None
    assert x1.summary["min"] == pytest.approx(frame["x1"].min())
    assert x1.summary["mean"] == pytest.approx(frame["x1"].mean())
    assert x1.distinct == 120
    assert x1.missing == 0
    assert profile.class_balance == frame["y"].value_counts().to_dict()


def test_rows_read_back_exactly(workspace, frame):
    dataset = workspace.register_dataset("loans", frame)
    pd.testing.assert_frame_equal(dataset.to_pandas(), frame)
    pd.testing.assert_frame_equal(workspace.load_dataset("loans:1"), frame)


def test_identical_content_returns_the_existing_version(workspace, frame, tmp_path):
    first = workspace.register_dataset("loans", frame)
    again = workspace.register_dataset("loans", frame.copy())
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    from_csv = workspace.register_dataset("loans", path)
    assert again.id == first.id
    assert from_csv.version == 1
    assert [d.version for d in workspace.list_dataset_versions("loans")] == [1]


def test_new_content_is_the_next_version_and_old_versions_stay(workspace, frame):
    workspace.register_dataset("loans", frame)
    changed = frame.assign(x1=frame["x1"] + 1)
    second = workspace.register_dataset("loans", changed)

    assert second.version == 2
    assert workspace.get_dataset("loans").version == 2
    assert workspace.get_dataset("loans:latest").version == 2
    pd.testing.assert_frame_equal(workspace.get_dataset("loans:1").to_pandas(), frame)
    pd.testing.assert_frame_equal(workspace.get_dataset("loans", version=2).to_pandas(), changed)


def test_csv_and_parquet_files_register(workspace, frame, tmp_path):
    csv, parquet = tmp_path / "a.csv", tmp_path / "b.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    from_csv = workspace.register_dataset("from-csv", csv)
    from_parquet = workspace.register_dataset("from-parquet", parquet)
    assert from_csv.source == "a.csv"
    assert from_parquet.rows == from_csv.rows == 120
    assert from_csv.to_pandas()["color"].tolist() == frame["color"].tolist()


def test_list_shows_the_latest_version_of_each_dataset_by_name(workspace, frame):
    workspace.register_dataset("b-set", frame)
    workspace.register_dataset("a-set", frame)
    workspace.register_dataset("b-set", frame.head(50))
    page = workspace.list_datasets()
    assert [(d.name, d.version) for d in page.items] == [("a-set", 1), ("b-set", 2)]
    assert page.total == 2
    first = workspace.list_datasets(max_results=1)
    assert [d.name for d in first.items] == ["a-set"]
    rest = workspace.list_datasets(max_results=1, page_token=first.next_page_token)
    assert [d.name for d in rest.items] == ["b-set"]
    assert rest.next_page_token is None


def test_profile_with_another_target_counts_its_classes(workspace, frame):
    workspace.register_dataset("loans", frame)
    profile = workspace.profile_dataset("loans", target="color")
    assert profile.class_balance == frame["color"].value_counts().to_dict()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("a/b", "slashes"),
        ("x" * 256, "at most 255"),
        ("-dash", "must start with a letter or digit"),
        ("semi;colon", "may hold only"),
    ],
)
def test_invalid_names_are_refused_and_nothing_is_stored(workspace, frame, name, message):
    with pytest.raises(InvalidInputError, match=message):
        workspace.register_dataset(name, frame)
    assert workspace.list_datasets().total == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("corrupt.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("binary.csv", bytes(range(256)) * 4, "UTF-8|binary|not a CSV"),
        ("empty.csv", b"", "empty"),
        ("header.csv", b"a,b\n", "no rows"),
    ],
)
def test_bad_files_are_refused_with_the_reason(workspace, tmp_path, frame, name, content, message):
    workspace.register_dataset("loans", frame)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=message):
        workspace.register_dataset("loans", path)
    assert [d.version for d in workspace.list_dataset_versions("loans")] == [1]


def test_semicolon_files_register_as_columns(workspace, frame, tmp_path):
    path = tmp_path / "semi.csv"
    frame.to_csv(path, index=False, sep=";")
    assert workspace.register_dataset("semi", path).columns == frame.shape[1]


def test_a_target_that_is_not_a_column_stores_nothing(workspace, frame):
    with pytest.raises(InvalidInputError, match="target column 'nope'"):
        workspace.register_dataset("loans", frame, target="nope")
    assert workspace.list_datasets().total == 0


def test_unknown_names_and_versions_say_what_exists(workspace, frame):
    workspace.register_dataset("loans", frame)
    with pytest.raises(NotFoundError, match="no dataset named 'other'"):
        workspace.get_dataset("other")
    with pytest.raises(NotFoundError, match=r"has no version 7 \(versions: 1\)"):
        workspace.get_dataset("loans:7")
    with pytest.raises(InvalidInputError, match="positive whole number"):
        workspace.get_dataset("loans:x")
    with pytest.raises(NotFoundError):
        workspace.list_dataset_versions("other")
