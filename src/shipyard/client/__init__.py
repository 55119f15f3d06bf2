"""The HTTP SDK: the workspace API over the control-plane server's REST API.

`RemoteWorkspace` offers the operations of `core.interface.WorkspaceAPI`, as
`workspace.LocalWorkspace` does; `ServicePrincipalAuthentication` gets and renews the
bearer token. Imports `core`, pydantic and httpx only: what needs the AutoML engine on
this side (following an AutoML run, loading a model) is added by `shipyard.sdk`.
"""

from shipyard.client.http import ServicePrincipalAuthentication
from shipyard.client.remote import RemoteWorkspace

__all__ = ["RemoteWorkspace", "ServicePrincipalAuthentication"]
