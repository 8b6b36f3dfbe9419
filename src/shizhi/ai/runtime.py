"""Loaded models in this process (模型缓存): each active model is read from the registry, checked against its
SHA-256 and unpacked once, then kept in memory. Which model is active per task is re-read at most every
``ACTIVE_TTL`` seconds (other processes may activate another version), and at once after a change made in this
process (``invalidate``)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable

from shizhi.ai.classifier import ArtifactError, TextClassifier
from shizhi.ai.models import TrainedModel

log = logging.getLogger("shizhi.ai")

ACTIVE_TTL = 5.0  # seconds between looks at which model is active (another process may have switched)

_lock = threading.Lock()
_active: dict[str, tuple[int, str]] = {}  # task -> (model id, artifact sha256)
_active_read_at = float("-inf")
_loaded: dict[tuple[int, str], TextClassifier] = {}
_failed: set[tuple[int, str]] = set()  # artifacts that would not load: not retried until the next refresh


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unpack(model: TrainedModel) -> TextClassifier:
    """The classifier stored in a registry row, after checking that the bytes are the ones we stored."""
    data = bytes(model.artifact)
    if sha256(data) != model.artifact_sha256:
        raise ArtifactError(f"{model}: artifact does not match its recorded SHA-256")
    return TextClassifier.from_bytes(data)


def invalidate() -> None:
    """Forget which models are active (after a training or an activation in this process)."""
    global _active_read_at
    with _lock:
        _active_read_at = float("-inf")


def clear() -> None:
    """Forget everything (tests)."""
    global _active_read_at
    with _lock:
        _active.clear()
        _loaded.clear()
        _failed.clear()
        _active_read_at = float("-inf")


def _refresh_active() -> None:
    global _active_read_at
    rows = TrainedModel.objects.filter(is_active=True).values_list("task", "id", "artifact_sha256")
    _active.clear()
    _active.update({task: (pk, digest) for task, pk, digest in rows})
    _active_read_at = time.monotonic()
    _failed.clear()
    # Keep only what is active: a rolled-back version is unloaded.
    for key in [k for k in _loaded if k not in set(_active.values())]:
        del _loaded[key]


def active_model_id(task: str) -> int | None:
    """The id of the task's active model (without loading it)."""
    with _lock:
        if time.monotonic() - _active_read_at > ACTIVE_TTL:
            _refresh_active()
        key = _active.get(task)
        return key[0] if key is not None else None


def active_classifiers(tasks: Iterable[str]) -> dict[str, tuple[int, TextClassifier] | None]:
    """Per task: (model id, classifier) of the active model, or None (no model, or one that cannot be loaded:
    logged, and the intake desk carries on without suggestions)."""
    with _lock:
        if time.monotonic() - _active_read_at > ACTIVE_TTL:
            _refresh_active()
        out: dict[str, tuple[int, TextClassifier] | None] = {}
        for task in tasks:
            key = _active.get(task)
            if key is None or key in _failed:
                out[task] = None
                continue
            classifier = _loaded.get(key)
            if classifier is None:
                row = TrainedModel.objects.filter(pk=key[0]).first()
                try:
                    if row is None:
                        raise ArtifactError(f"model {key[0]} is gone")
                    classifier = unpack(row)
                except ArtifactError:
                    log.exception("cannot load the active %s model %s", task, key[0])
                    _failed.add(key)
                    out[task] = None
                    continue
                _loaded[key] = classifier
            out[task] = (key[0], classifier)
        return out
