"""Signed model manifests: every file of a model folder with its sha256 and size, signed
with the workspace's Ed25519 key, so a process that holds only the public key can tell the
folder is exactly what the workspace registered before it unpickles anything in it.

`manifest.json` in the model folder holds `{"manifest": {...}, "signature": "<base64>"}`;
the signature covers the manifest's canonical JSON (sorted keys, no spaces). Verifying
checks the signature, the model's name and version, and that the folder holds exactly the
listed files with the listed checksums: a file changed, added or removed is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shipyard.core.errors import InvalidInputError

MANIFEST_FILE = "manifest.json"
FORMAT = "shipyard-model-manifest/1"
_CHUNK = 1 << 20


class ManifestError(InvalidInputError):
    """A model folder does not match a valid, signed manifest."""


@dataclass(frozen=True)
class FileDigest:
    """The sha256 (hex) and size in bytes of one file."""

    sha256: str
    size: int


def file_digest(path: str | Path) -> FileDigest:
    """The sha256 and size of the file at `path`, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return FileDigest(digest.hexdigest(), size)


def folder_digests(folder: str | Path) -> dict[str, FileDigest]:
    """Every file under `folder` but the manifest, by relative POSIX path."""
    base = Path(folder)
    return {
        p.relative_to(base).as_posix(): file_digest(p)
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.relative_to(base).as_posix() != MANIFEST_FILE
    }


def sign_folder(
    private_pem: str, folder: str | Path, *, model: str, version: int
) -> dict[str, Any]:
    """Hash every file of `folder`, sign the list and write it as the folder's manifest."""
    files = folder_digests(folder)
    manifest = {
        "format": FORMAT,
        "model": model,
        "version": version,
        "files": {k: {"sha256": d.sha256, "size": d.size} for k, d in files.items()},
    }
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInputError("the manifest signing key is not an Ed25519 private key")
    signature = base64.b64encode(key.sign(_canonical(manifest))).decode()
    document = {"manifest": manifest, "signature": signature}
    target = Path(folder) / MANIFEST_FILE
    tmp = target.with_name(f".{MANIFEST_FILE}.tmp")
    tmp.write_text(json.dumps(document, indent=2))
    tmp.replace(target)
    return manifest


def verify_folder(
    public_pem: str, folder: str | Path, *, model: str, version: int
) -> dict[str, Any]:
    """The manifest of `folder` if its signature verifies and every file matches it;
    `ManifestError` naming the first problem otherwise."""
    base = Path(folder)
    manifest = _signed_manifest(public_pem, base)
    if (manifest.get("model"), manifest.get("version")) != (model, version):
        raise ManifestError(
            f"{base} holds the manifest of {manifest.get('model')}:{manifest.get('version')}, "
            f"not of {model}:{version}"
        )
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed:
        raise ManifestError(f"the manifest of {base} lists no files")
    present = folder_digests(base)
    for name in sorted(set(present) - set(listed)):
        raise ManifestError(f"{base / name} is not in the model's signed manifest")
    for name, expected in sorted(listed.items()):
        found = present.get(name)
        if found is None:
            raise ManifestError(f"{base / name} is listed in the manifest but missing")
        if (found.sha256, found.size) != (expected.get("sha256"), expected.get("size")):
            raise ManifestError(
                f"{base / name} was changed after registration: sha256 {found.sha256} "
                f"({found.size} bytes), the signed manifest says {expected.get('sha256')} "
                f"({expected.get('size')} bytes)"
            )
    return manifest


def _signed_manifest(public_pem: str, folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    try:
        document = json.loads(path.read_bytes())
        manifest, signature = document["manifest"], base64.b64decode(document["signature"])
    except FileNotFoundError:
        raise ManifestError(f"{folder} has no signed manifest ({MANIFEST_FILE})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path} is not a signed manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path} is not a signed manifest")
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ManifestError("the manifest verification key is not an Ed25519 public key")
    try:
        key.verify(signature, _canonical(manifest))
    except InvalidSignature:
        raise ManifestError(
            f"the signature of {path} does not verify with this workspace's key"
        ) from None
    return manifest


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
