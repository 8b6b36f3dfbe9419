"""What changed between two versions of an item (版本比对): the version's own fields, the matters (added, removed,
changed field by field), the one set of materials and the merged form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shizhi.onething.content import MatterSpec, material_set, merged_form, spec_of
from shizhi.onething.models import ItemVersion

VERSION_FIELDS = (
    "name",
    "summary",
    "keywords",
    "lead_unit_id",
    "lead_department_name",
    "supporting_departments",
    "legal_basis",
)


def diff_matter_lists(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Matters as dicts (``MatterSpec.as_dict``) -> ``{"added": [codes], "removed": [codes], "changed": {code:
    {field: [old, new]}}}``; materials and fields are compared by key inside each matter."""
    old = {m["code"]: m for m in before}
    new = {m["code"]: m for m in after}
    changed: dict[str, dict[str, Any]] = {}
    for code in old.keys() & new.keys():
        fields: dict[str, Any] = {}
        for name in new[code]:
            if name in ("materials", "fields"):
                sub = _keyed_diff(old[code].get(name, []), new[code][name])
                if sub:
                    fields[name] = sub
            elif old[code].get(name) != new[code][name]:
                fields[name] = [old[code].get(name), new[code][name]]
        if fields:
            changed[code] = fields
    order = [m["code"] for m in after] + [m["code"] for m in before]
    return {
        "added": [c for c in dict.fromkeys(order) if c in new and c not in old],
        "removed": [c for c in dict.fromkeys(order) if c in old and c not in new],
        "changed": {c: changed[c] for c in dict.fromkeys(order) if c in changed},
    }


def _keyed_diff(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> dict[str, Any]:
    old = {x["key"]: x for x in before}
    new = {x["key"]: x for x in after}
    out: dict[str, Any] = {}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = {
        k: {f: [old[k].get(f), v] for f, v in new[k].items() if old[k].get(f) != v}
        for k in new
        if k in old and old[k] != new[k]
    }
    if added:
        out["added"] = added
    if removed:
        out["removed"] = removed
    if changed:
        out["changed"] = changed
    return out


def _specs(version: ItemVersion) -> list[MatterSpec]:
    return [spec_of(m) for m in version.matters.order_by("sort", "id")]


def diff_versions(a: ItemVersion, b: ItemVersion) -> dict[str, Any]:
    """What changed from version ``a`` to version ``b`` (of the same item)::

    {"from": 1, "to": 2,
     "fields": {"name": [old, new], ...},
     "matters": {"added": [...], "removed": [...], "changed": {code: {field: [old, new] | {...}}}},
     "materials": {"added": [...], "removed": [...], "changed": {...}},   # the one set of materials
     "form": {"added": [...], "removed": [...], "changed": {...}}}        # the merged form
    """
    if a.item_id != b.item_id:
        raise ValueError("versions of different items")
    fields = {
        name: [getattr(a, name), getattr(b, name)]
        for name in VERSION_FIELDS
        if getattr(a, name) != getattr(b, name)
    }
    old_specs, new_specs = _specs(a), _specs(b)
    return {
        "from": a.number,
        "to": b.number,
        "fields": fields,
        "matters": diff_matter_lists([m.as_dict() for m in old_specs], [m.as_dict() for m in new_specs]),
        "materials": _keyed_diff(
            [e.spec.as_dict() for e in material_set(old_specs)],
            [e.spec.as_dict() for e in material_set(new_specs)],
        ),
        "form": _keyed_diff(
            [f.as_dict() for f in merged_form(old_specs)], [f.as_dict() for f in merged_form(new_specs)]
        ),
    }


def is_empty(diff: dict[str, Any]) -> bool:
    return not (diff["fields"] or any(diff["matters"].values()) or diff["materials"] or diff["form"])
