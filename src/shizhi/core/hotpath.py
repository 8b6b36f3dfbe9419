"""Hand-written SQL for the few reads on every API request and every intake (热路径).

The ORM spends more time compiling a small SELECT than the database spends answering it (about 0.3 ms against
0.03 ms on SQLite). The reads that run on every request (the bearer token and its user, the actor's role
assignments, a category by code, the duplicate-submission guard) are written here once, in SQL that both
SQLite and PostgreSQL accept, with table and column names taken from the models' metadata so that a renamed
field breaks loudly here rather than silently elsewhere. Everything else uses the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field: str) -> str:
    return connection.ops.quote_name(str(model._meta.get_field(field).column))  # type: ignore[union-attr]


def columns(model: type[models.Model], alias: str) -> tuple[list[str], str]:
    """The model's concrete attribute names and a ``alias."col", ...`` select list in the same order."""
    names = [f.attname for f in model._meta.concrete_fields]
    sql = ", ".join(
        f"{alias}.{connection.ops.quote_name(str(f.column))}" for f in model._meta.concrete_fields
    )
    return names, sql


def moment(value: dt.datetime) -> Any:
    """A datetime as the database compares it (SQLite keeps naive UTC text; PostgreSQL takes it as is)."""
    return connection.ops.adapt_datetimefield_value(value)


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()]


_CONVERTERS: dict[tuple[str, type[models.Model], tuple[str, ...]], list[tuple[int, list[Any], Any]]] = {}


def _converters(model: type[models.Model], names: tuple[str, ...]) -> list[tuple[int, list[Any], Any]]:
    key = (connection.vendor, model, names)
    if key not in _CONVERTERS:
        out = []
        for i, name in enumerate(names):
            field = model._meta.get_field(name)  # also finds a foreign key by its attname (user_id)
            expression = field.get_col(model._meta.db_table)  # type: ignore[union-attr]
            found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
            if found:
                out.append((i, found, expression))
        _CONVERTERS[key] = out
    return _CONVERTERS[key]


def instance(model: type[models.Model], names: list[str], values: Sequence[Any]) -> Any:
    """A model instance from raw column values, converted as the ORM converts them (datetimes on SQLite,
    JSON, booleans)."""
    converted = list(values)
    for i, converters, expression in _converters(model, tuple(names)):
        if converted[i] is not None:
            for converter in converters:
                converted[i] = converter(converted[i], expression, connection)
    return model.from_db(connection.alias, names, converted)


_INSERTS: dict[tuple[str, type[models.Model]], tuple[str, list[Any]]] = {}


def insert(obj: models.Model) -> None:
    """Save a new object with one ``INSERT ... RETURNING id``, its SQL built once per model.

    The same values as ``obj.save()`` would write: each field's ``pre_save`` (defaults, auto_now) and
    ``get_db_prep_save`` (JSON, datetimes, booleans as the backend wants them), and the same ``pre_save`` /
    ``post_save`` signals; only the ORM's per-call SQL compilation is skipped. For the rows written on every intake
    (the case, its timeline entry, the audit event)."""
    from django.db.models.signals import post_save, pre_save

    model = type(obj)
    meta = model._meta
    assert obj.pk is None and meta.auto_field is not None, "insert() is for new rows with an auto id"
    key = (connection.vendor, model)
    if key not in _INSERTS:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
        names = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        pk = connection.ops.quote_name(str(meta.auto_field.column))
        _INSERTS[key] = (f"INSERT INTO {table(model)} ({names}) VALUES ({marks}) RETURNING {pk}", fields)
    sql, fields = _INSERTS[key]
    pre_save.send(sender=model, instance=obj, raw=False, using=connection.alias, update_fields=None)
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    row = fetch_one(sql, params)
    assert row is not None
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    post_save.send(
        sender=model, instance=obj, created=True, update_fields=None, raw=False, using=connection.alias
    )
