"""The workspace's own secrets: a master key and the token signing key pair.

They live in `secrets.json` in the workspace folder, created on first use with mode 600.
Endpoint keys are derived from the master key (HMAC of endpoint id, slot and generation),
so the store keeps only their hashes while the owner can still be shown them; rotating a
key bumps its generation. Tokens are signed with the private key; endpoints get only the
public key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from shipyard.auth import new_secret, new_signing_keys

SECRETS_FILE = "secrets.json"


@dataclass(frozen=True)
class WorkspaceSecrets:
    """The master key and the token key pair of one workspace."""

    master_key: str
    token_private_key: str
    token_public_key: str

    def endpoint_key(self, endpoint_id: str, slot: str, generation: int) -> str:
        """The key of `slot` (primary or secondary) of an endpoint, at `generation`."""
        message = f"endpoint-key:{endpoint_id}:{slot}:{generation}".encode()
        digest = hmac.new(self.master_key.encode(), message, hashlib.sha256).digest()
        return "sk_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def load_or_create(folder: Path) -> WorkspaceSecrets:
    """Read `secrets.json`, creating it (mode 600) if it does not exist yet.

    The file is written under a temporary name and hard-linked into place, which fails if
    another process got there first: every process ends up with the same secrets.
    """
    path = folder / SECRETS_FILE
    if not path.exists():
        keys = new_signing_keys()
        data = {
            "master_key": new_secret(),
            "token_private_key": keys.private_pem,
            "token_public_key": keys.public_pem,
        }
        tmp = folder / f".{SECRETS_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return WorkspaceSecrets(**json.loads(path.read_text()))
