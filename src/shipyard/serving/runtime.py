"""What an endpoint process serves right now, kept current with its config file.

`Runtime.refresh` compares the config file's inode, mtime and size with what it last read
(one `os.stat`, about 1.5 us, so the app checks on every request and a rotated key fails
on the very next request), then its bytes; a deep refresh (the app's watcher, twice a
second) compares the bytes whatever the stamp says, since file times are coarse. A new
config takes effect at once: keys, auth mode, logging, sample rate, body limit. A new
`model_path` is loaded (and warmed up on the descriptor's example row) in a background
thread while the old model keeps serving, then swapped in with one assignment; a model
that fails to load or to score its example is not swapped in: the error is logged and
kept in `load_error` (reported by `/health`) until a model loads.

When the config carries the workspace's `model_public_key`, a model folder is loaded only
if it matches its manifest signed by the workspace (every file's sha256 and size): a file
changed on disk after registration is refused before anything is unpickled.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shipyard.auth.manifest import ManifestError, verify_folder
from shipyard.core.errors import InvalidInputError, ModelError
from shipyard.core.interface import ScoringModel
from shipyard.serving.config import EndpointConfig
from shipyard.serving.credentials import Authenticator
from shipyard.serving.payloads import ScoringRequest, to_jsonable
from shipyard.serving.predict import (
    PROBA,
    classes_of,
    predict_one,
    split_ref,
    v2_metadata,
)

ModelLoader = Callable[[str], ScoringModel]

logger = logging.getLogger("shipyard.serving")


@dataclass(frozen=True)
class ServedModel:
    """A loaded model with what the app derives from it once, not per request."""

    model: ScoringModel
    ref: str  # NAME:VERSION
    path: str
    classes: list[Any] | None
    example_output: list[Any] | None
    metadata: bytes  # the Open Inference Protocol model metadata, as JSON
    name_version: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_version", split_ref(self.ref))


def load_served(
    load_model: ModelLoader, ref: str, path: str, public_key: str | None = None
) -> ServedModel:
    """Load the model at `path` and check that it scores its own example row.

    Args:
        public_key: the workspace's manifest key (PEM); when given, nothing in `path` is
            loaded unless the folder matches its signed manifest (`ManifestError` if not).
    """
    if public_key is not None:
        name, version = split_ref(ref)
        try:
            verify_folder(public_key, path, model=name, version=int(version))
        except (ManifestError, ValueError) as exc:
            logger.error("refusing to load model %s: %s", ref, exc)
            raise ManifestError(f"model {ref} refused: {exc}") from None
    model = load_model(path)
    if not isinstance(model, ScoringModel):
        raise ModelError(f"{path} did not load as a scoring model")
    descriptor = model.descriptor or {}
    classes = classes_of(model)
    example = descriptor.get("example")
    output = None
    if isinstance(example, dict) and example:
        try:
            out = predict_one(model, ScoringRequest([example]))
            if classes is not None:  # warm the probability path too
                predict_one(model, ScoringRequest([example], PROBA))
        except Exception as exc:
            raise ModelError(f"model {ref} cannot score its own example row: {exc}") from exc
        output = to_jsonable(out, "predict", classes)
    metadata = orjson.dumps(v2_metadata(descriptor, split_ref(ref)))
    return ServedModel(model, ref, path, classes, output, metadata)


class Runtime:
    """The config and model an endpoint serves now, re-read when the config file changes."""

    def __init__(
        self,
        config_path: Path,
        load_model: ModelLoader,
        config: EndpointConfig,
        served: ServedModel,
        stamp: tuple[int, int, int],
        raw: bytes,
    ) -> None:
        self.config_path = config_path
        self.load_model = load_model
        self.config = config
        self.auth = Authenticator(config)
        self.served = served
        self.loading: str | None = None  # the ref being loaded in the background
        self.load_error: str | None = None  # why the last wanted model did not load
        self.on_config: Callable[[EndpointConfig], None] | None = None
        self.on_model: Callable[[ServedModel], None] | None = None
        self._stamp, self._raw = stamp, raw
        self._lock = threading.Lock()
        self._wanted: EndpointConfig | None = None

    @classmethod
    def open(cls, config_path: str | Path, load_model: ModelLoader) -> Runtime:
        """Read the config and load its model (in this thread: the app starts ready)."""
        path = Path(config_path)
        stamp, raw = _stamp(path), path.read_bytes()
        config = EndpointConfig.from_json(raw)
        served = load_served(load_model, config.model, config.model_path, config.model_public_key)
        return cls(path, load_model, config, served, stamp, raw)

    def refresh(self, *, deep: bool = False) -> bool:
        """Re-read the config if its file changed; True if a new config took effect.

        Args:
            deep: compare the content even if inode, mtime and size look unchanged (file
                times are coarse: two rewrites within a few ms can look alike).
        """
        try:
            stamp = _stamp(self.config_path)
            if stamp == self._stamp and not deep:
                return False
            raw = self.config_path.read_bytes()
        except OSError:
            return False  # being replaced, or gone: keep serving what we have
        self._stamp = stamp
        if raw == self._raw:
            return False
        self._raw = raw
        try:
            config = EndpointConfig.from_json(raw)
        except InvalidInputError as exc:
            logger.error("config %s unusable, keeping the current one: %s", self.config_path, exc)
            return False
        self._apply(config)
        return True

    def _apply(self, config: EndpointConfig) -> None:
        old = self.config
        self.config = config
        self.auth = Authenticator(config)
        changes = [
            what
            for what, changed in (
                ("auth", (old.auth_mode, old.key_hashes) != (config.auth_mode, config.key_hashes)),
                ("logging", (old.logging, old.sample_rate) != (config.logging, config.sample_rate)),
                ("model", old.model_path != config.model_path),
            )
            if changed
        ]
        logger.info(
            "config reloaded (%s): auth %s, request logging %s",
            ", ".join(changes) or "no visible change",
            config.auth_mode,
            "on" if config.logging else "off",
        )
        if self.on_config is not None:
            self.on_config(config)
        if self.loading is not None or not self._serves(config):
            self._want(config)

    def _want(self, config: EndpointConfig) -> None:
        with self._lock:
            self._wanted = config
            if self.loading is not None:
                return  # the loader thread picks up the newest wish when it is done
            self.loading = config.model
        threading.Thread(
            target=self._load_loop, args=(config,), name="shipyard-model-loader", daemon=True
        ).start()

    def _load_loop(self, config: EndpointConfig) -> None:
        while True:
            if not self._serves(config):
                self._load(config)
            with self._lock:
                newest = self._wanted
                if newest is None or newest is config:
                    self.loading, self._wanted = None, None
                    return
                config, self.loading = newest, newest.model

    def _serves(self, config: EndpointConfig) -> bool:
        return (config.model_path, config.model) == (self.served.path, self.served.ref)

    def _load(self, config: EndpointConfig) -> None:
        logger.info("loading model %s from %s", config.model, config.model_path)
        try:
            served = load_served(
                self.load_model, config.model, config.model_path, config.model_public_key
            )
        except Exception as exc:
            logger.exception("model %s not loaded; still serving %s", config.model, self.served.ref)
            self.load_error = f"model {config.model} not loaded: {exc}"
            return
        self.served, self.load_error = served, None
        logger.info("now serving model %s", served.ref)
        if self.on_model is not None:
            self.on_model(served)


def _stamp(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size
