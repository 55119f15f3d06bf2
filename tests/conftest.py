"""Fixtures shared by every test.

`seed` (STYLE.md section 5, after scikit-learn's `global_random_seed`): 42 by default.
`SHIPYARD_TEST_SEED` widens it: an integer sets it, `any` picks one random seed for the
session (shown in the report header), `all` runs every seeded test once per seed in 0..4.
"""

from __future__ import annotations

import os
import random

import pytest

pytest_plugins = ["tests.fixtures.store"]

SEED_ENV = "SHIPYARD_TEST_SEED"
DEFAULT_SEED = 42
ALL_SEEDS = tuple(range(5))

_SEEDS_KEY = pytest.StashKey[tuple[int, ...]]()


def _seeds_from_setting(setting: str) -> tuple[int, ...]:
    if setting == "":
        return (DEFAULT_SEED,)
    if setting == "any":
        return (random.SystemRandom().randrange(2**31),)
    if setting == "all":
        return ALL_SEEDS
    try:
        return (int(setting),)
    except ValueError:
        raise pytest.UsageError(
            f"{SEED_ENV}={setting!r}: expected an integer, 'any' or 'all'"
        ) from None


def pytest_configure(config: pytest.Config) -> None:
    # Run as root, the supervisor starts endpoint processes as the unprivileged `shipyard`
    # user, who cannot reach pytest's temporary folders (0700) nor, on a machine whose
    # Python lives under /root, the interpreter. Tests keep endpoint processes as this
    # user unless they say otherwise; tests/e2e/test_trust_processes.py does, to prove
    # the boundary with real processes.
    os.environ.setdefault("SHIPYARD_RUN_AS", "root")
    config.stash[_SEEDS_KEY] = _seeds_from_setting(os.environ.get(SEED_ENV, "").strip())


def pytest_report_header(config: pytest.Config) -> str:
    seeds = config.stash[_SEEDS_KEY]
    setting = os.environ.get(SEED_ENV, "").strip()
    if len(seeds) > 1:
        return (
            f"seed: each seeded test runs with seeds {seeds[0]}..{seeds[-1]} "
            f"({SEED_ENV}={setting}); reproduce one with {SEED_ENV}=<seed>"
        )
    source = f"{SEED_ENV}={setting}" if setting else f"default; widen with {SEED_ENV}=any|all"
    return f"seed: {seeds[0]} ({source}); reproduce with {SEED_ENV}={seeds[0]}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    seeds = metafunc.config.stash[_SEEDS_KEY]
    if "seed" in metafunc.fixturenames and len(seeds) > 1:
        metafunc.parametrize("seed", seeds, indirect=True, ids=[f"seed{s}" for s in seeds])


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The random seed for this test: 42 unless `SHIPYARD_TEST_SEED` says otherwise."""
    param: int | None = getattr(request, "param", None)
    if param is not None:
        return param
    return request.config.stash[_SEEDS_KEY][0]
