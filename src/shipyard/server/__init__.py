"""The control-plane server: the workspace over REST (`/api/v1/...`), its OpenAPI and docs.

A face over `shipyard.workspace`: routes parse requests, authenticate the caller (OAuth2
client-credentials bearer tokens) and check its role, call one workspace operation and
return its entity. Every rule and query stays in the workspace. It also owns the endpoint
supervisor and the job workers while it runs. May import `workspace`, `auth` and `core`,
never `store`.

    app = create_app(ServerSettings(workspace=Path(".shipyard")))
"""

from shipyard.server.app import create_app
from shipyard.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
