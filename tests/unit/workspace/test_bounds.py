"""Bounds on tables, run queries and run records (issue 10, findings 3, 8 and 10).

Each test is an attack of the issue (or its small twin), then its refusal with a message
that names the bound.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import time
import zipfile
import zlib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from shipyard.core.errors import InvalidInputError, PayloadTooLargeError
from shipyard.workspace.files import TableLimits, read_table
from shipyard.workspace.uploads import PREFIX, UPLOADS_FOLDER, sweep_uploads, upload_folder
from tests.fixtures.automl import make_frame

MIB = 1024 * 1024


def _bomb(path, text_mib: int) -> None:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    line = b"0,0,0,0,0,0,0\n"
    with path.open("wb") as out:
        out.write(packer.compress(b"a,b,c,d,e,f,g\n"))
        for _ in range(text_mib):
            out.write(packer.compress(line * (MIB // len(line))))
        out.write(packer.flush())


def test_a_gzip_bomb_is_stopped_by_its_compression_ratio(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    _bomb(bomb, 24)
    with pytest.raises(PayloadTooLargeError, match=r"more than 100 times its size.*100x"):
        read_table(bomb, TableLimits())


def test_a_gzip_bomb_is_stopped_by_the_size_bound_once_decompressed(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    _bomb(bomb, 3)
    with pytest.raises(PayloadTooLargeError, match="larger than the limit of 2 MiB"):
        read_table(bomb, TableLimits(max_bytes=2 * MIB, max_ratio=None))


@pytest.mark.parametrize(
    ("suffix", "pack"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)],
)
def test_compressed_tables_within_bounds_are_read_as_a_stream(tmp_path, suffix, pack):
    frame = make_frame("binary", seed=0, rows=50)
    path = tmp_path / f"table.csv{suffix}"
    path.write_bytes(pack(frame.to_csv(index=False).encode()))
    read = read_table(path, TableLimits(max_bytes=MIB, max_columns=10))
    pd.testing.assert_frame_equal(read, frame, check_dtype=False)


def test_a_zip_must_hold_one_table(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x,y\n1,2\n")
        archive.writestr("b.csv", "x,y\n1,2\n")
    with pytest.raises(InvalidInputError, match="exactly one file, not 2"):
        read_table(path, TableLimits())


def test_one_huge_field_is_stopped_by_the_line_bound(tmp_path):
    path = tmp_path / "one-field.csv"
    path.write_bytes(b"text\n" + b"x" * 5000 + b"\n")
    with pytest.raises(PayloadTooLargeError, match="line 2 is longer than the limit of 1000"):
        read_table(path, TableLimits(max_line_bytes=1000))


def test_a_header_of_too_many_columns_is_refused_before_the_rows(tmp_path):
    path = tmp_path / "wide.csv"  # a header longer than the 64 KiB read to sniff it
    header = ",".join(f"column{i}" for i in range(20_000))
    path.write_text(header + "\n" + ",".join("1" for _ in range(20_000)) + "\n")
    with pytest.raises(PayloadTooLargeError, match="20,000 columns; the limit is 100"):
        read_table(path, TableLimits(max_columns=100))
    gz = tmp_path / "wide.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(PayloadTooLargeError, match="20,000 columns; the limit is 100"):
        read_table(gz, TableLimits(max_columns=100))


def test_a_parquet_file_is_bounded_by_its_metadata(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": range(200_000)}).to_parquet(path, index=False)
    with pytest.raises(PayloadTooLargeError, match="uncompressed; the limit is 1 MiB"):
        read_table(path, TableLimits(max_bytes=MIB))


def test_a_dataframe_over_the_column_bound_is_refused(workspace):
    frame = pd.DataFrame({f"c{i}": [1, 2] for i in range(60)})
    with pytest.raises(PayloadTooLargeError, match="60 columns; the limit is 50"):
        workspace.register_dataset("wide", frame, limits=TableLimits(max_columns=50))


def test_a_registered_dataset_carries_no_profile_and_it_is_read_apart(workspace):
    dataset = workspace.register_dataset("lean", make_frame("binary", seed=0, rows=30))
    assert "profile" not in workspace.get_dataset("lean").model_dump()
    assert all("profile" not in d.model_dump() for d in workspace.list_datasets().items)
    assert workspace.profile_dataset("lean", version=1).rows == 30
    with pytest.raises(InvalidInputError, match="target column 'nope'"):
        workspace.profile_dataset(dataset.ref, "nope")


# --- upload folders ------------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_upload_folders_live_in_the_workspace_and_go_when_done(tmp_path):
    with upload_folder(tmp_path) as folder:
        assert folder.parent == tmp_path / UPLOADS_FOLDER
        assert folder.name.startswith(f"{PREFIX}{os.getpid()}-")
        (folder / "data.csv").write_text("a\n1\n")
    assert not folder.exists()


def test_stale_upload_folders_are_swept_and_live_ones_kept(tmp_path):
    parent = tmp_path / UPLOADS_FOLDER
    dead = parent / f"{PREFIX}{_dead_pid()}-abc"
    live = parent / f"{PREFIX}{os.getpid()}-def"
    idle = parent / f"{PREFIX}{os.getpid()}-ghi"
    for folder in (dead, live, idle):
        folder.mkdir(parents=True)
        (folder / "part.csv").write_bytes(b"x" * 100)
    hour_ago = time.time() - 3700
    os.utime(idle / "part.csv", (hour_ago, hour_ago))
    os.utime(idle, (hour_ago, hour_ago))

    removed = sweep_uploads(tmp_path)

    assert sorted(removed) == sorted([dead, idle])
    assert [p.name for p in parent.iterdir()] == [live.name]
    assert sweep_uploads(tmp_path / "elsewhere") == []


# --- run queries and records ---------------------------------------------------------------


def test_time_columns_compare_with_dates_and_refuse_anything_else(workspace):
    run = workspace.create_run("times")
    for field in ("created_at", "started_at"):
        found = workspace.list_runs(experiment="times", where=f"{field} > 2020-01-01")
        assert [r.id for r in found.items] == [run.id]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert workspace.list_runs(experiment="times", where=f"created_at > {tomorrow}").items == []
    with pytest.raises(InvalidInputError, match="compared with a date or time"):
        workspace.list_runs(where="ended_at < yesterday")


def test_metric_conditions_are_capped_before_sqlite_runs_out_of_joins(workspace):
    seventy = " and ".join(f"metrics.m{i} > 0" for i in range(70))
    with pytest.raises(InvalidInputError, match="70 conditions; at most 20"):
        workspace.list_runs(where=seventy)
    twenty = " and ".join(f"metrics.m{i} > 0" for i in range(20))
    assert workspace.list_runs(where=twenty).items == []


@pytest.mark.parametrize("token", ["9223372036854775808", "²", "-1", "1e3"])
def test_page_tokens_are_small_ascii_numbers(workspace, token):
    with pytest.raises(InvalidInputError, match="invalid page token"):
        workspace.list_runs(page_token=token)
    with pytest.raises(InvalidInputError, match="invalid page token"):
        workspace.list_datasets(page_token=token)


def test_tags_and_params_are_bounded_per_value_and_per_run(workspace):
    run = workspace.create_run("sized")
    with pytest.raises(InvalidInputError, match="at most 5,000 are allowed"):
        workspace.set_tags(run.id, {"note": "x" * 5_001})
    workspace.set_tags(run.id, {f"t{i}": "v" for i in range(100)})
    with pytest.raises(InvalidInputError, match="at most 100 tags, not 101"):
        workspace.set_tags(run.id, {"one-more": "v"})
    with pytest.raises(InvalidInputError, match="at most 200 params"):
        workspace.create_run("sized", params={f"p{i}": i for i in range(201)})
    with pytest.raises(InvalidInputError, match="at most 65,536 characters"):
        workspace.log_text(run.id, "x" * 70_000)
    other = workspace.create_run("sized", tags={f"t{i}": "v" * 4_000 for i in range(4)})
    with pytest.raises(InvalidInputError, match="tags may take at most 16,384 characters in all"):
        workspace.set_tags(other.id, {"t4": "v" * 4_000})
    with pytest.raises(InvalidInputError, match="params may take at most 65,536 characters"):
        workspace.create_run("sized", params={f"p{i}": "v" * 7_000 for i in range(10)})


def test_run_names_kinds_and_steps_fit_their_columns(workspace):
    # On PostgreSQL a 300-character name or 2**63 as a step was a database error, a 500.
    with pytest.raises(InvalidInputError, match="a run name is at most 255 characters"):
        workspace.create_run("widths", name="n" * 300)
    with pytest.raises(InvalidInputError, match="a run kind is at most 32 characters"):
        workspace.create_run("widths", kind="k" * 40)
    run = workspace.create_run("widths", name="n" * 255)
    with pytest.raises(InvalidInputError, match="step must be from 0 to 2,147,483,647"):
        workspace.log_metrics(run.id, {"auc": 0.5}, step=2**63)
    assert workspace.log_metrics(run.id, {"auc": 0.5}, step=2**31 - 1) == 1


def test_tail_is_range_checked(workspace):
    run = workspace.create_run("tails")
    workspace.log_text(run.id, "one")
    assert [line.message for line in workspace.get_run_logs(run.id, tail=5)] == ["one"]
    with pytest.raises(InvalidInputError, match="tail must be from 0 to 100,000"):
        workspace.get_run_logs(run.id, tail=2**63)


@pytest.mark.parametrize(
    ("path", "problem"),
    [("model/a\x00b.txt", "control character"), (f"model/{'a' * 256}", "at most 200 bytes")],
)
def test_artifact_paths_with_nul_or_overlong_parts_are_refused(workspace, path, problem):
    run = workspace.create_run("paths")
    with pytest.raises(InvalidInputError, match=problem):
        workspace.log_artifact(run.id, path, b"data")
    with pytest.raises(InvalidInputError, match=problem):
        workspace.read_artifact(run.id, path)


def test_a_stream_reads_what_pandas_asks_for(tmp_path):
    # The bounded stream hands pandas the same rows a plain read would.
    frame = make_frame("multiclass", seed=4, rows=300)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    expected = pd.read_csv(io.BytesIO(path.read_bytes()))
    pd.testing.assert_frame_equal(read_table(path, TableLimits(max_line_bytes=200)), expected)
