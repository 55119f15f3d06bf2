"""Names and defaults that several layers and the command line share, with no code behind them.

The command line declares its options from these (`--db` reads `$SHIPYARD_DB_URL`, `server
start --max-budget` reads `$SHIPYARD_MAX_BUDGET_S`) without loading the layers that use them.
"""

DB_URL_ENV = "SHIPYARD_DB_URL"
"""How a child process (supervisor, job worker, API process) gets its database URL: not
on its command line, where a password would show in the process list."""
MAX_BUDGET_ENV = "SHIPYARD_MAX_BUDGET_S"
"""A server's longest job budget, in seconds."""
MAX_TRIALS_ENV = "SHIPYARD_MAX_TRIALS"
"""A server's most trials per job."""

DEFAULT_HOST = "127.0.0.1"
"""Where the control-plane server listens by default."""
DEFAULT_PORT = 8470
