"""Service principals over REST (owner only): create, list, delete, rotate the secret."""

from __future__ import annotations

from shipyard.client._base import RemoteBase
from shipyard.core.schemas import Principal, PrincipalCredentials


class RemotePrincipals(RemoteBase):
    """The principal operations of `RemoteWorkspace`."""

    def create_principal(self, name: str, role: str) -> PrincipalCredentials:
        """A new principal with a role; its secret is in the answer and nowhere else."""
        body = {"name": name, "role": role}
        return self._send("POST", "/principals", PrincipalCredentials, body)

    def list_principals(self) -> list[Principal]:
        """Every principal, by name (no secrets)."""
        return self._list("/principals", Principal)

    def delete_principal(self, name: str) -> None:
        """Remove a principal; its tokens (server and endpoint) stop working at once."""
        self._request("DELETE", f"/principals/{name}")

    def rotate_principal(self, name: str) -> PrincipalCredentials:
        """A new secret; the old one and every token issued before it stop working at once."""
        return self._send("POST", f"/principals/{name}/rotate", PrincipalCredentials)
