"""Audit events (审计日志): one call from every service function that changes data."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation

from shizhi.core import hotpath
from shizhi.core.context import current
from shizhi.core.models import AuditEvent, Unit, User

# Fields whose values never go into an audit record, only the fact that they changed.
SECRET_FIELDS = {"password", "digest", "id_number"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def field_changes(instance: models.Model, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for each of ``values`` that differs from the instance's current value."""
    changes: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(instance, name)
        if old != new:
            if name in SECRET_FIELDS:
                changes[name] = ["***", "***"]
            else:
                changes[name] = [_jsonable(old), _jsonable(new)]
    return changes


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, list[Any]]:
    """Changes for a newly created object: ``{field: [None, value]}``."""
    return {
        f: [None, "***" if f in SECRET_FIELDS else _jsonable(getattr(instance, f))]
        for f in fields
        if getattr(instance, f) not in (None, "")
    }


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    changes: Mapping[str, Any] | None = None,
    area_path: str = "",
    unit: Unit | None = None,
) -> AuditEvent:
    """Write one audit event inside the caller's transaction (so it exists exactly when the change does)."""
    ctx = current()
    object_repr = ""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        # A record, written in the platform's language whatever language the acting user's pages are in.
        with translation.override(settings.LANGUAGE_CODE):
            object_repr = str(obj)[:200]
    event = AuditEvent(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None and actor.pk else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=_jsonable(dict(changes or {})),
        ip=ctx.ip,
        origin=ctx.origin,
        area_path=area_path,
        unit=unit,
    )
    hotpath.insert(event)  # every change of every app writes one: its INSERT is compiled once
    return event
