"""Who user code runs as, and the modes that keep the workspace's secret files private.

Issue 10: an endpoint process (a contributor's pickled model) could read `secrets.json`,
`config.json` and `shipyard.db`, all 0644 in a 0755 folder, and mint an owner token.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from shipyard.store import open_store
from shipyard.workspace import LocalWorkspace
from shipyard.workspace._privileges import (
    Runner,
    RunnerError,
    blocker,
    child_env,
    find_runner,
    make_private,
    open_private,
)

NOBODY = Runner(name="nobody-test", uid=64_999, gid=64_999)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="users and groups need root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_user_code_process_inherits_no_secret_nor_path_to_one():
    environ = {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/src",
        "SHIPYARD_DB_URL": "postgresql+psycopg://app:hunter2@db/shipyard",
        "SHIPYARD_WORKSPACE": "/srv/ws",
        "SHIPYARD_CONFIG": "/srv/ws/config.json",
        "MY_API_TOKEN": "t",
        "PGPASSWORD": "p",
        "aws_secret_access_key": "k",
    }
    assert child_env(None, environ) == {"PATH": "/usr/bin", "PYTHONPATH": "/src"}
    as_runner = child_env(NOBODY, environ)
    assert (as_runner["HOME"], as_runner["USER"]) == ("/", "nobody-test")


@as_root
def test_the_runner_is_refused_by_the_first_folder_or_file_in_its_way(tmp_path):
    # The runner shares this process's uid, so the folders above tmp_path (pytest makes
    # them 0700) let it pass as their owner; what is below belongs to other ids.
    runner = Runner(name="r", uid=os.geteuid(), gid=64_998)
    folder, secret = tmp_path / "ws", tmp_path / "ws" / "secrets.json"
    folder.mkdir()
    secret.write_text("{}")
    os.chown(folder, 64_999, 64_999)
    os.chown(secret, 64_999, 64_999)
    folder.chmod(0o700)
    assert blocker(runner, secret) == f"{folder} is mode 700, owner 64999:64999"
    folder.chmod(0o711)
    secret.chmod(0o600)
    assert blocker(runner, secret) == f"{secret} is mode 600, owner 64999:64999"
    secret.chmod(0o604)
    assert blocker(runner, secret) is None
    assert "No such file" in (blocker(runner, tmp_path / "gone") or "")


@as_root
def test_the_runner_may_pass_through_a_folder_of_its_group_but_not_list_it(tmp_path):
    runner = Runner(name="r", uid=os.geteuid(), gid=64_998)
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "artifacts").mkdir(mode=0o755)
    os.chown(folder, 64_999, runner.gid)
    os.chown(folder / "artifacts", 64_999, 64_999)
    folder.chmod(0o710)
    assert blocker(runner, folder / "artifacts") is None
    assert blocker(runner, folder) is not None  # listing needs r, which the group lacks
    folder.chmod(0o700)
    assert blocker(runner, folder / "artifacts") is not None


def test_private_files_are_created_0600_and_older_ones_fixed(tmp_path):
    log = tmp_path / "supervisor.log"
    with open_private(log) as out:
        out.write(b"a line\n")
    assert _mode(log) == 0o600
    log.chmod(0o644)
    with open_private(log) as out:  # a file an older version made
        out.write(b"another\n")
    assert _mode(log) == 0o600
    assert log.read_bytes() == b"a line\nanother\n"
    old = tmp_path / "old.json"
    old.write_text("{}")
    old.chmod(0o644)
    make_private(old, tmp_path / "missing")
    assert _mode(old) == 0o600


def test_open_private_refuses_to_follow_a_symlink(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        open_private(tmp_path / "link")
    assert target.read_text() == "keep"


def test_a_new_workspace_keeps_its_secret_files_to_its_user(tmp_path):
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.secrets  # noqa: B018 - created on first use
        names = ("secrets.json", "shipyard.db", "shipyard.db-wal", "shipyard.db-shm")
        assert {name: _mode(folder / name) for name in names} == dict.fromkeys(names, 0o600)
    assert _mode(folder) & 0o077 == 0  # created 0700; the supervisor opens it to its runner


def test_opening_an_older_workspace_makes_its_secret_files_private(tmp_path):
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.secrets  # noqa: B018
    (folder / "config.json").write_text("{}")
    (folder / "supervisor.log").write_text("")
    names = ("secrets.json", "config.json", "shipyard.db", "supervisor.log")
    for name in names:
        (folder / name).chmod(0o644)
    folder.chmod(0o755)
    LocalWorkspace.open(folder).close()
    assert {name: _mode(folder / name) for name in names} == dict.fromkeys(names, 0o600)
    assert _mode(folder) == 0o711  # others may pass through, not list


def test_sqlite_gives_its_journal_files_the_database_file_mode(tmp_path):
    path = tmp_path / "shipyard.db"
    store = open_store(f"sqlite:///{path}")
    try:
        with store.write() as session:
            session.connection().exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert {_mode(p) for p in tmp_path.iterdir()} == {0o600}
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "shipyard.db",
            "shipyard.db-shm",
            "shipyard.db-wal",
        ]
    finally:
        store.dispose()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_not_root_means_no_user_to_switch_to(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert find_runner({"SHIPYARD_RUN_AS": "shipyard"}) is None


@as_root
def test_root_may_keep_user_code_root_only_when_asked():
    assert find_runner({"SHIPYARD_RUN_AS": "root"}) is None
    runner = find_runner({})
    assert runner is not None
    assert (runner.name, runner.uid != 0) == ("shipyard", True)
    assert runner.popen_options() == {
        "user": runner.uid,
        "group": runner.gid,
        "extra_groups": [],
        "umask": 0o077,
    }


@as_root
def test_a_runner_that_cannot_be_created_is_a_clear_error():
    with pytest.raises(RunnerError, match=r"cannot create the system user 'no such user!'"):
        find_runner({"SHIPYARD_RUN_AS": "no such user!"})
