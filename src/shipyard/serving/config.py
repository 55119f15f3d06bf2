"""An endpoint's runtime settings: written by the workspace, read (and re-read) by the service.

The service re-reads the file whenever it changes, so logging can be switched, keys
rotated and the model replaced without a restart. The file holds key hashes and the
token-verification public key only: nothing in it can be used to call the endpoint.
`token_audiences` names this endpoint alone; `revoked` maps a principal id to the epoch
before which its tokens are refused (secret rotated, or principal deleted).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.core.errors import InvalidInputError

AUTH_MODES = ("key", "token", "none")


@dataclass(frozen=True)
class EndpointConfig:
    """Everything a scoring process needs to know about its endpoint."""

    name: str
    model: str  # NAME:VERSION, for humans and /v2 metadata
    model_path: str  # the model folder the loader reads
    auth_mode: str = "key"
    key_hashes: tuple[str, ...] = ()
    token_public_key: str | None = None
    model_public_key: str | None = None  # verifies the model folder's signed manifest
    token_audiences: tuple[str, ...] = ()
    revoked: dict[str, float] = field(default_factory=dict)  # principal id -> not before
    logging: bool = False
    log_dir: str | None = None
    sample_rate: float = 0.0  # share of logged requests whose payload and output are kept
    max_body_bytes: int = 10 * 1024 * 1024
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise InvalidInputError(f"auth mode must be one of {', '.join(AUTH_MODES)}")
        if not 0.0 <= self.sample_rate <= 1.0:
            raise InvalidInputError("sample_rate must be between 0 and 1")
        if not isinstance(self.revoked, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) for k, v in self.revoked.items()
        ):
            raise InvalidInputError("revoked must map principal ids to epoch seconds")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def read(cls, path: str | Path) -> EndpointConfig:
        return cls.from_json(Path(path).read_bytes())

    @classmethod
    def from_json(cls, text: str | bytes) -> EndpointConfig:
        """A config from the JSON `to_json` writes; `InvalidInputError` if it is not one."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInputError(f"the endpoint config is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInputError("the endpoint config must be a JSON object")
        data["key_hashes"] = tuple(data.get("key_hashes", ()))
        data["token_audiences"] = tuple(data.get("token_audiences", ()))
        try:
            return cls(**data)
        except TypeError as exc:  # a missing or unknown field
            raise InvalidInputError(f"the endpoint config does not fit: {exc}") from None

    def write(self, path: str | Path) -> None:
        """Write atomically with mode 640 (a reader never sees half a file).

        Group-readable because, under a root server, the endpoint's process runs as an
        unprivileged user whose group the endpoint folder carries (setgid): it must read
        this file, which holds nothing secret (see the module docstring).
        """
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.to_json())
        tmp.chmod(0o640)
        tmp.replace(target)
