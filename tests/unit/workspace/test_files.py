"""Reading tables for the CLI: CSV dialects, Parquet, and errors that name the problem."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.workspace.files import read_table, write_table

TABLE = pd.DataFrame({"age": [30, 41, 52], "job": ["admin.", "services", "retired"]})


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiter_is_read_off_the_header(tmp_path, sep):
    path = tmp_path / "t.csv"
    TABLE.to_csv(path, sep=sep, index=False)
    pd.testing.assert_frame_equal(read_table(path), TABLE, check_dtype=False)


def test_quoted_commas_do_not_decide_the_delimiter(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('"a,b";c\n1;2\n3;4\n')
    assert list(read_table(path).columns) == ["a,b", "c"]


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffage,job\n1,x\n".encode())
    assert list(read_table(path).columns) == ["age", "job"]


def test_a_single_column_file_is_fine(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("age\n1\n2\n")
    assert read_table(path)["age"].tolist() == [1, 2]


@pytest.mark.parametrize("suffix", [".parquet", ".bin"])
def test_parquet_by_extension_or_magic_bytes(tmp_path, suffix):
    path = tmp_path / f"t{suffix}"
    TABLE.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_table(path), TABLE, check_dtype=False)


def test_gzipped_csv(tmp_path):
    path = tmp_path / "t.csv.gz"
    TABLE.to_csv(path, index=False)
    assert read_table(path)["job"].tolist() == TABLE["job"].tolist()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["is empty"]),
        (b"\n\n  \n", ["is empty"]),
        (b"age,job\n", ["header but no rows"]),
        (b"\x00\x01\x02binary\x00", ["not a CSV file", "binary data"]),
        (b"PK\x03\x04rest-of-a-zip", ["zip archive"]),
        (b'{"age": 1}\n', ["JSON"]),
        (b"age job salary\n1 x 3\n", ["single column", "commas"]),
        (b"age,job\n1,caf\xe9\n", ["not UTF-8", "0xe9"]),
        (b'a,b\n1,"2\n', ["not a valid CSV file"]),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path, content, words):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        read_table(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert "\n" not in message


def test_a_broken_parquet_file(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1 but nothing else")
    with pytest.raises(InvalidInputError, match="not a readable Parquet file"):
        read_table(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(InvalidInputError, match="is a folder"):
        read_table(tmp_path)


def test_write_table_makes_folders_and_picks_the_format(tmp_path):
    write_table(TABLE, tmp_path / "a" / "b.csv")
    write_table(TABLE, tmp_path / "a" / "b.parquet")
    assert pd.read_csv(tmp_path / "a" / "b.csv")["age"].tolist() == [30, 41, 52]
    assert pd.read_parquet(tmp_path / "a" / "b.parquet")["job"].tolist() == TABLE["job"].tolist()


def test_write_table_onto_a_folder_is_an_input_error(tmp_path):
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(InvalidInputError, match="cannot write"):
        write_table(TABLE, tmp_path / "taken.csv")
