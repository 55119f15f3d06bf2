"""One router per area of the REST API, mounted under `/api/v1` by `create_app`.

Each route takes exactly one role dependency (`ReaderDep`, `ContributorDep`, `OwnerDep`)
except the public ones (`auth-token`, `health-get`); `create_app` refuses to build an app
with a route that has none.
"""

from shipyard.server.routes import (
    auth,
    datasets,
    endpoints,
    experiments,
    health,
    jobs,
    models,
    principals,
    runs,
)

ROUTERS = (
    auth.router,
    health.router,
    datasets.router,
    experiments.router,
    runs.router,
    models.router,
    endpoints.router,
    jobs.router,
    principals.router,
)

__all__ = ["ROUTERS"]
