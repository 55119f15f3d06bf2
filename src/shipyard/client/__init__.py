"""The HTTP SDK: the workspace API over the control-plane server's REST API.

`RemoteWorkspace` offers the same methods as `workspace.LocalWorkspace` (the
`core.interface.WorkspaceAPI` protocol); `ServicePrincipalAuthentication` gets and renews
the bearer token. Imports `core` and httpx only.
"""

from shipyard.client.http import ServicePrincipalAuthentication
from shipyard.client.remote import RemoteWorkspace

__all__ = ["RemoteWorkspace", "ServicePrincipalAuthentication"]
