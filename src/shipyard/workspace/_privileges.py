"""Who user code runs as, and the file modes that keep the workspace's secrets from it.

Endpoint processes unpickle contributor-supplied models: that is running contributor code,
by design. Such code must run with a contributor's power and no more, so it must not read
the workspace's secrets (`secrets.json`: the master key and the token signing key;
`config.json`: the owner's client secret; `shipyard.db` and its `-wal`/`-shm`; the logs).

When the supervisor runs as root, endpoint processes run as an unprivileged system user,
the runner: `shipyard` (or `$SHIPYARD_RUN_AS`), created with `useradd --system` the first
time it is needed. Then the kernel holds the line:
- the workspace folder is `root:<runner group>` mode 0710: the runner may pass through it
  to `artifacts/` (models, its endpoint folder) but cannot list it; every secret file in
  it is 0600 root, so the runner cannot open it either;
- an endpoint's folder is `root:<runner group>` mode 2750 (setgid, so the `config.json`
  the workspace rewrites there stays in the runner's group, mode 0640); `service.log` is
  0600 root (the process writes it through the stdout it inherits); only `requests/`, the
  request log, belongs to the runner;
- the process starts with the runner's uid and gid, no supplementary groups, umask 077.
`SHIPYARD_RUN_AS=root` keeps endpoint processes root: user code can then read everything.

When the supervisor does not run as root there is no other user to switch to: endpoint
processes run as the same user as the server, and that user can read the secret files.
What still holds then is only that nothing points them there: their argv, environment
and endpoint config carry no secret and no path to one (the config holds the public key
and its own key hashes; the database URL is removed from their environment). A model's
code can still open `../../secrets.json`: run the server as root, or as a dedicated user
so that user code runs as `shipyard`, to make the boundary real.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shipyard
from shipyard.core.errors import ShipyardError
from shipyard.serving.config import EndpointConfig

RUN_AS_ENV = "SHIPYARD_RUN_AS"
DEFAULT_RUNNER = "shipyard"
WORKSPACE_DIR_MODE = 0o710
ENDPOINT_DIR_MODE = 0o2750
SHARED_FILE_MODE = 0o640
PRIVATE_FILE_MODE = 0o600
USERADD = ("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin")
# What a user-code process must not inherit: the database URL (it may carry a password)
# and the paths of the workspace and the owner's credentials; likewise any variable
# whose name says it is a secret.
SECRET_ENV = ("SHIPYARD_DB_URL", "SHIPYARD_WORKSPACE", "SHIPYARD_CONFIG")
SECRET_WORDS = ("SECRET", "PASSWORD", "PASSWD", "TOKEN", "PGPASS")


class RunnerError(ShipyardError):
    """The unprivileged user for user code cannot be found, created or given its files."""


@dataclass(frozen=True)
class Runner:
    """The unprivileged user (and its group) that endpoint processes run as."""

    name: str
    uid: int
    gid: int
    home: str = "/"

    def popen_options(self) -> dict[str, Any]:
        """`subprocess.Popen` keywords that start a process as this user and nothing more."""
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "umask": 0o077}


def find_runner(environ: Mapping[str, str] | None = None) -> Runner | None:
    """The runner, created if missing; None when not root or `$SHIPYARD_RUN_AS` is root."""
    if os.geteuid() != 0:
        return None
    env = os.environ if environ is None else environ
    name = env.get(RUN_AS_ENV, "").strip() or DEFAULT_RUNNER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _create_user(name)
    if entry.pw_uid == 0:
        return None
    return Runner(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir or "/")


def _create_user(name: str) -> pwd.struct_passwd:
    try:
        done = subprocess.run(
            [*USERADD, name], capture_output=True, text=True, timeout=60, check=False
        )
        problem = done.stderr.strip() or f"exit status {done.returncode}"
    except OSError as exc:  # no useradd on this system
        problem = str(exc)
    try:
        return pwd.getpwnam(name)  # created now, or by a concurrent supervisor
    except KeyError:
        raise RunnerError(
            f"cannot create the system user {name!r} that runs endpoint processes "
            f"({' '.join(USERADD)} {name}: {problem}); create it yourself or set "
            f"{RUN_AS_ENV} to an existing unprivileged user"
        ) from None


def child_env(runner: Runner | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a user-code process: this one's, minus what could reach a secret."""
    env = {
        name: value
        for name, value in (os.environ if environ is None else environ).items()
        if name not in SECRET_ENV and not any(word in name.upper() for word in SECRET_WORDS)
    }
    if runner is not None:
        env.update(HOME=runner.home, USER=runner.name, LOGNAME=runner.name)
    return env


def blocker(runner: Runner, path: Path) -> str | None:
    """Why the runner cannot read `path` (the first folder or file in its way), or None."""
    path = Path(os.path.realpath(path))
    chain = [*reversed(path.parents), path]
    for index, part in enumerate(chain):
        try:
            info = os.stat(part)
        except OSError as exc:
            return f"{part}: {exc.strerror}"
        wanted = stat.S_IXOTH if index < len(chain) - 1 else stat.S_IROTH
        if stat.S_ISDIR(info.st_mode) and part == path:
            wanted = stat.S_IXOTH | stat.S_IROTH
        if not _allowed(runner, info, wanted):
            return (
                f"{part} is mode {stat.S_IMODE(info.st_mode):o}, owner "
                f"{_user_name(info.st_uid)}:{_group_name(info.st_gid)}"
            )
    return None


def _allowed(runner: Runner, info: os.stat_result, other_bits: int) -> bool:
    """Whether the runner has `other_bits` (expressed as the 'other' bits) on a file."""
    if info.st_uid == runner.uid:
        bits = other_bits << 6
    elif info.st_gid == runner.gid:
        bits = other_bits << 3
    else:
        bits = other_bits
    return info.st_mode & bits == bits


def endpoint_runner(workspace: Path) -> Runner | None:
    """The user endpoint processes run as (None: this process's), let into `workspace`."""
    runner = find_runner()
    if runner is not None:
        share_workspace(runner, workspace)
    return runner


def give_endpoint(runner: Runner, config: Path) -> None:
    """Make an endpoint's folder ready for the runner; `RunnerError` naming what it cannot
    read (Python, Shipyard, the config, the model) if it still could not start."""
    folder = config.parent
    prepare_endpoint(runner, folder, config=config, requests=folder / "requests")
    model = Path(EndpointConfig.read(config).model_path)
    share_model(runner, model)
    needed = [Path(sys.executable), Path(shipyard.__file__).parent, config, model]
    if model.is_dir():
        needed += sorted(model.iterdir())
    for path in needed:
        why = blocker(runner, path)
        if why is not None:
            raise RunnerError(
                f"endpoint processes run as {runner.name!r}, who cannot read {path} "
                f"({why}): make it readable for that user, or set {RUN_AS_ENV}=root to "
                "run models as root (they can then read the workspace's secrets)"
            )


def share_model(runner: Runner, folder: Path) -> None:
    """Let the runner read one model folder (its group, 0750/0640): the artifact store
    writes files 0600, and the runner needs only the models its endpoints serve."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
                os.chown(path, 0, runner.gid, follow_symlinks=False)
                os.chmod(path, 0o750 if stat.S_ISDIR(info.st_mode) else SHARED_FILE_MODE)
    os.chown(folder, 0, runner.gid, follow_symlinks=False)
    os.chmod(folder, 0o750)


def share_model_with_runner(folder: Path) -> None:
    """When endpoint processes run as the runner, let it read model `folder` (at deploy or
    update, before the endpoint's config names it)."""
    runner = find_runner()
    if runner is not None:
        share_model(runner, folder)


def share_workspace(runner: Runner, folder: Path) -> None:
    """Let the runner pass through the workspace folder (0710, its group), never list it."""
    os.chown(folder, 0, runner.gid, follow_symlinks=False)
    os.chmod(folder, WORKSPACE_DIR_MODE)


def prepare_endpoint(runner: Runner, folder: Path, *, config: Path, requests: Path) -> None:
    """Give the runner read access to an endpoint folder and its config, and `requests/`."""
    os.chown(folder, 0, runner.gid, follow_symlinks=False)
    os.chmod(folder, ENDPOINT_DIR_MODE)
    if config.exists():
        os.chown(config, 0, runner.gid, follow_symlinks=False)
        os.chmod(config, SHARED_FILE_MODE)
    requests.mkdir(mode=0o700, exist_ok=True)
    os.chown(requests, runner.uid, runner.gid, follow_symlinks=False)
    os.chmod(requests, 0o700)


def make_private(*paths: Path) -> None:
    """Mode 0600 on each of `paths` that exists (secret files of workspaces made before)."""
    for path in paths:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) != PRIVATE_FILE_MODE:
            os.chmod(path, PRIVATE_FILE_MODE)


def open_private(path: Path, flags: str = "ab") -> Any:
    """Open `path` for appending, creating it with mode 0600 (never readable by others)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # a file an older version made 0644
    return os.fdopen(fd, flags)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
