"""The content of a version as plain values: matters with their materials and form fields (政务服务事项、申请材料、
表单字段), parsed and validated from JSON, and the merged form (一表申请) with its validation of applicants' data.

Pure functions over dataclasses, so that metrics, diffs and validation never need the database."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from shizhi.core.errors import ValidationFailed
from shizhi.onething.models import FieldType, MaterialKind, Matter

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_MATTERS = 30
MAX_MATERIALS = 40
MAX_FIELDS = 60
MAX_TEXT = 500

# Certificates the government already holds (政府部门核发的证照): a material with one of these keys is shared data
# by default (免提交), and the data-sharing module supplies it instead of the applicant.
SHARED_MATERIALS: dict[str, str] = {
    "id_card": "居民身份证",
    "hukou_book": "居民户口簿",
    "birth_medical_cert": "出生医学证明",
    "marriage_cert": "结婚证",
    "business_licence": "营业执照",
    "social_security_card": "社会保障卡",
    "property_cert": "不动产权证书",
    "death_medical_cert": "居民死亡医学证明（推断）书",
    "discharge_cert": "退役证件",
    "disability_cert": "残疾人证",
    "driving_licence": "机动车驾驶证",
    "vehicle_licence": "机动车行驶证",
    "food_business_licence": "食品经营许可证",
}


@dataclass(frozen=True)
class MaterialSpec:
    key: str
    name: str
    kind: str = MaterialKind.E_FILE.value
    shared_data: bool = False  # 免提交: the government holds it
    required: bool = True
    promisable: bool = False  # 可容缺: may be handed in after acceptance
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "shared_data": self.shared_data,
            "required": self.required,
            "promisable": self.promisable,
            "note": self.note,
        }


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    type: str = FieldType.TEXT.value
    required: bool = True
    options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "options": list(self.options),
        }


@dataclass(frozen=True)
class MatterSpec:
    code: str
    name: str
    department_name: str
    unit_id: int | None = None
    materials: tuple[MaterialSpec, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    steps: int = 1
    statutory_days: int = 0
    promised_days: int = 0
    fee: str = "不收费"
    online: bool = False
    trips: int = 1
    depends_on: tuple[str, ...] = ()
    is_demo: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "department_name": self.department_name,
            "unit_id": self.unit_id,
            "materials": [m.as_dict() for m in self.materials],
            "fields": [f.as_dict() for f in self.fields],
            "steps": self.steps,
            "statutory_days": self.statutory_days,
            "promised_days": self.promised_days,
            "fee": self.fee,
            "online": self.online,
            "trips": self.trips,
            "depends_on": list(self.depends_on),
            "is_demo": self.is_demo,
        }


def spec_of(matter: Matter) -> MatterSpec:
    """The stored matter as a spec (its JSON was validated when it was written)."""
    return MatterSpec(
        code=matter.code,
        name=matter.name,
        department_name=matter.department_name,
        unit_id=matter.unit_id,
        materials=tuple(_material(m, where="", strict=False) for m in matter.materials or []),
        fields=tuple(_field(f, where="", strict=False) for f in matter.fields or []),
        steps=matter.steps,
        statutory_days=matter.statutory_days,
        promised_days=matter.promised_days,
        fee=matter.fee,
        online=matter.online,
        trips=matter.trips,
        depends_on=tuple(matter.depends_on or []),
        is_demo=matter.is_demo,
    )


# ---------------------------------------------------------------------------------------------------- parsing


def _fail(message: str, where: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, details={"field": where, **details})


def _text(value: Any, *, where: str, label: str, max_length: int = 100, required: bool = True) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise _fail(f"{label}不能为空", where)
    if len(text) > max_length:
        raise _fail(f"{label}不能超过{max_length}个字", where, max_length=max_length)
    return text


def _bool(value: Any, *, where: str, label: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(f"{label}必须是true或false", where)
    return value


def _int(value: Any, *, where: str, label: str, default: int, maximum: int = 365) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _fail(f"{label}必须是0到{maximum}的整数", where, maximum=maximum)
    return value


def _key(value: Any, *, where: str, label: str) -> str:
    key = str(value or "").strip()
    if not KEY_RE.match(key):
        raise _fail(f"{label}必须以小写字母开头，只含小写字母、数字和下划线", where, value=key)
    return key


def _material(raw: Any, *, where: str, strict: bool = True) -> MaterialSpec:
    if not isinstance(raw, Mapping):
        raise _fail("材料必须是对象", where)
    key = _key(raw.get("key"), where=f"{where}.key", label="材料标识") if strict else str(raw.get("key", ""))
    kind = str(raw.get("kind") or MaterialKind.E_FILE.value)
    if strict and kind not in MaterialKind.values:
        raise _fail("材料形式不正确", f"{where}.kind", allowed=list(MaterialKind.values))
    return MaterialSpec(
        key=key,
        name=_text(raw.get("name"), where=f"{where}.name", label="材料名称")
        if strict
        else str(raw.get("name", "")),
        kind=kind,
        shared_data=_bool(
            raw.get("shared_data"),
            where=f"{where}.shared_data",
            label="免提交",
            default=key in SHARED_MATERIALS,
        ),
        required=_bool(raw.get("required"), where=f"{where}.required", label="是否必需", default=True),
        promisable=_bool(raw.get("promisable"), where=f"{where}.promisable", label="可容缺", default=False),
        note=_text(raw.get("note"), where=f"{where}.note", label="材料说明", max_length=200, required=False),
    )


def _field(raw: Any, *, where: str, strict: bool = True) -> FieldSpec:
    if not isinstance(raw, Mapping):
        raise _fail("表单字段必须是对象", where)
    key = _key(raw.get("key"), where=f"{where}.key", label="字段标识") if strict else str(raw.get("key", ""))
    ftype = str(raw.get("type") or FieldType.TEXT.value)
    if strict and ftype not in FieldType.values:
        raise _fail("字段类型不正确", f"{where}.type", allowed=list(FieldType.values))
    options_raw = raw.get("options") or []
    if not isinstance(options_raw, list):
        raise _fail("字段选项必须是列表", f"{where}.options")
    options = tuple(_text(o, where=f"{where}.options", label="字段选项", max_length=50) for o in options_raw)
    if strict and ftype == FieldType.CHOICE and not options:
        raise _fail("单选字段必须有选项", f"{where}.options")
    return FieldSpec(
        key=key,
        label=_text(raw.get("label"), where=f"{where}.label", label="字段名称", max_length=50)
        if strict
        else str(raw.get("label", "")),
        type=ftype,
        required=_bool(raw.get("required"), where=f"{where}.required", label="是否必填", default=True),
        options=options,
    )


def parse_matter(raw: Any, *, index: int) -> MatterSpec:
    """One matter from its JSON form, or ``ValidationFailed`` naming the offending field
    (``matters.<index>.<field>``)."""
    where = f"matters.{index}"
    if not isinstance(raw, Mapping):
        raise _fail("事项必须是对象", where)
    code = str(raw.get("code") or "").strip()
    if not CODE_RE.match(code):
        raise _fail("事项编码只能含字母、数字、点、横线和下划线，最长32位", f"{where}.code", value=code)
    materials_raw = raw.get("materials") or []
    fields_raw = raw.get("fields") or []
    if not isinstance(materials_raw, list) or len(materials_raw) > MAX_MATERIALS:
        raise _fail(f"材料必须是列表，最多{MAX_MATERIALS}项", f"{where}.materials")
    if not isinstance(fields_raw, list) or len(fields_raw) > MAX_FIELDS:
        raise _fail(f"表单字段必须是列表，最多{MAX_FIELDS}项", f"{where}.fields")
    materials = tuple(_material(m, where=f"{where}.materials.{i}") for i, m in enumerate(materials_raw))
    fields = tuple(_field(f, where=f"{where}.fields.{i}") for i, f in enumerate(fields_raw))
    for label, keys, sub in (
        ("材料", [m.key for m in materials], "materials"),
        ("表单字段", [f.key for f in fields], "fields"),
    ):
        dup = _first_duplicate(keys)
        if dup is not None:
            raise _fail(f"同一事项中{label}“{dup}”重复", f"{where}.{sub}", key=dup)
    depends_raw = raw.get("depends_on") or []
    if not isinstance(depends_raw, list) or not all(isinstance(d, str) for d in depends_raw):
        raise _fail("前置事项必须是事项编码的列表", f"{where}.depends_on")
    unit_id = raw.get("unit_id")
    if unit_id is not None and (isinstance(unit_id, bool) or not isinstance(unit_id, int)):
        raise _fail("承办单位编号必须是整数", f"{where}.unit_id")
    promised = _int(raw.get("promised_days"), where=f"{where}.promised_days", label="承诺时限", default=0)
    statutory = _int(raw.get("statutory_days"), where=f"{where}.statutory_days", label="法定时限", default=0)
    if statutory and promised > statutory:
        raise _fail("承诺时限不能超过法定时限", f"{where}.promised_days")
    return MatterSpec(
        code=code,
        name=_text(raw.get("name"), where=f"{where}.name", label="事项名称"),
        department_name=_text(raw.get("department_name"), where=f"{where}.department_name", label="办理部门"),
        unit_id=unit_id,
        materials=materials,
        fields=fields,
        steps=_int(raw.get("steps"), where=f"{where}.steps", label="办理环节数", default=1, maximum=50),
        statutory_days=statutory,
        promised_days=promised,
        fee=_text(raw.get("fee") or "不收费", where=f"{where}.fee", label="收费"),
        online=_bool(raw.get("online"), where=f"{where}.online", label="可全程网办", default=False),
        trips=_int(raw.get("trips"), where=f"{where}.trips", label="跑动次数", default=1, maximum=20),
        depends_on=tuple(d.strip() for d in depends_raw),
        is_demo=_bool(raw.get("is_demo"), where=f"{where}.is_demo", label="示例内容", default=False),
    )


def _first_duplicate(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return None


def parse_matters(raw: Any) -> list[MatterSpec]:
    """A version's matters: each valid, codes unique, dependencies known and acyclic, one meaning per field
    key and per material key across matters (the merged form and the one set of materials need it)."""
    if not isinstance(raw, list) or len(raw) > MAX_MATTERS:
        raise _fail(f"事项必须是列表，最多{MAX_MATTERS}项", "matters")
    matters = [parse_matter(m, index=i) for i, m in enumerate(raw)]
    check_matters(matters)
    return matters


def check_matters(matters: Sequence[MatterSpec]) -> None:
    codes = [m.code for m in matters]
    dup = _first_duplicate(codes)
    if dup is not None:
        raise _fail(f"事项编码“{dup}”重复", "matters", code=dup)
    known = set(codes)
    for i, m in enumerate(matters):
        for d in m.depends_on:
            if d == m.code:
                raise _fail(f"事项“{m.name}”不能依赖自身", f"matters.{i}.depends_on")
            if d not in known:
                raise _fail(f"事项“{m.name}”的前置事项“{d}”不存在", f"matters.{i}.depends_on", code=d)
    cycle = find_cycle(matters)
    if cycle:
        raise _fail("前置事项形成循环：" + " → ".join(cycle), "matters", cycle=cycle)
    field_types: dict[str, tuple[str, str]] = {}
    material_names: dict[str, str] = {}
    for i, m in enumerate(matters):
        for f in m.fields:
            seen = field_types.setdefault(f.key, (f.type, m.name))
            if seen[0] != f.type:
                raise _fail(
                    f"字段“{f.key}”在“{seen[1]}”和“{m.name}”中类型不一致", f"matters.{i}.fields", key=f.key
                )
        for mat in m.materials:
            name = material_names.setdefault(mat.key, mat.name)
            if name != mat.name:
                raise _fail(
                    f"材料标识“{mat.key}”对应了不同的材料名称（“{name}”和“{mat.name}”）",
                    f"matters.{i}.materials",
                    key=mat.key,
                )


def find_cycle(matters: Sequence[MatterSpec]) -> list[str]:
    """A dependency cycle as a list of codes (first repeated at the end), or [] when there is none."""
    deps = {m.code: [d for d in m.depends_on] for m in matters}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(code: str) -> list[str]:
        state[code] = 1
        stack.append(code)
        for d in deps.get(code, []):
            if state.get(d) == 1:
                return [*stack[stack.index(d) :], d]
            if state.get(d) is None and d in deps:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[code] = 2
        return []

    for code in deps:
        if state.get(code) is None:
            found = visit(code)
            if found:
                return found
    return []


def topological_order(matters: Sequence[MatterSpec]) -> list[MatterSpec]:
    """Matters so that each comes after the ones it depends on; ties keep the given order."""
    remaining = list(matters)
    done: set[str] = set()
    out: list[MatterSpec] = []
    while remaining:
        progress = [m for m in remaining if all(d in done for d in m.depends_on)]
        if not progress:
            raise ValueError("dependency cycle")
        for m in progress:
            out.append(m)
            done.add(m.code)
        remaining = [m for m in remaining if m.code not in done]
    return out


# ---------------------------------------------------------------------------------------------- merged views


def merged_form(matters: Sequence[MatterSpec]) -> list[FieldSpec]:
    """The one form (一表申请): every field once, by key, in order of first appearance; required when any matter
    requires it; choice options united."""
    merged: dict[str, FieldSpec] = {}
    for m in matters:
        for f in m.fields:
            seen = merged.get(f.key)
            if seen is None:
                merged[f.key] = f
            else:
                options = seen.options + tuple(o for o in f.options if o not in seen.options)
                merged[f.key] = FieldSpec(
                    key=seen.key,
                    label=seen.label,
                    type=seen.type,
                    required=seen.required or f.required,
                    options=options,
                )
    return list(merged.values())


@dataclass(frozen=True)
class MaterialEntry:
    """One material of the one set of materials (一套材料), with the matters that need it."""

    spec: MaterialSpec
    matter_codes: tuple[str, ...] = field(default=())

    @property
    def to_submit(self) -> bool:
        return not self.spec.shared_data


def material_set(matters: Sequence[MatterSpec]) -> list[MaterialEntry]:
    """Every material once, by key, in order of first appearance: shared when any matter marks it shared (the
    government holds it), required when any matter requires it, promisable (容缺) only when every matter that
    requires it allows that."""
    specs: dict[str, list[MaterialSpec]] = {}
    users: dict[str, list[str]] = {}
    for m in matters:
        for mat in m.materials:
            specs.setdefault(mat.key, []).append(mat)
            users.setdefault(mat.key, []).append(m.code)
    out = []
    for key, group in specs.items():
        first = group[0]
        required = any(s.required for s in group)
        merged = MaterialSpec(
            key=key,
            name=first.name,
            kind=first.kind,
            shared_data=any(s.shared_data for s in group),
            required=required,
            promisable=required and all(s.promisable for s in group if s.required),
            note=next((s.note for s in group if s.note), ""),
        )
        out.append(MaterialEntry(spec=merged, matter_codes=tuple(users[key])))
    return out


# ------------------------------------------------------------------------------------------ form validation

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
ID_RE = re.compile(r"^\d{17}[\dX]$")
CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_valid(value: str) -> bool:
    """Resident ID number (GB 11643-1999): 18 characters with a valid birth date and check digit."""
    value = value.upper()
    if not ID_RE.match(value):
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def validate_form(form: Sequence[FieldSpec], data: Any) -> dict[str, Any]:
    """The applicant's data cleaned against the merged form, or ``ValidationFailed`` naming the first bad field
    (``details.field`` = ``form.<key>``) and listing every missing required field."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("申请表必须是对象", details={"field": "form"})
    by_key = {f.key: f for f in form}
    unknown = sorted(k for k in data if k not in by_key)
    if unknown:
        raise ValidationFailed(
            f"申请表中有未知字段：{'、'.join(unknown[:5])}",
            details={"field": f"form.{unknown[0]}", "unknown": unknown},
        )
    missing = [f for f in form if f.required and _is_empty(data.get(f.key))]
    if missing:
        raise ValidationFailed(
            f"请填写{'、'.join(f.label for f in missing[:5])}",
            details={"field": f"form.{missing[0].key}", "missing": [f.key for f in missing]},
        )
    clean: dict[str, Any] = {}
    for f in form:
        value = data.get(f.key)
        if _is_empty(value):
            continue
        clean[f.key] = _clean_value(f, value)
    return clean


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_value(f: FieldSpec, value: Any) -> Any:
    where = f"form.{f.key}"

    def bad(message: str) -> ValidationFailed:
        return ValidationFailed(f"{f.label}{message}", details={"field": where})

    if f.type == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise bad("必须是“是”或“否”")
        return value
    if f.type == FieldType.NUMBER:
        if isinstance(value, bool):
            raise bad("必须是数字")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise bad("必须是数字") from None
        if not number.is_finite():
            raise bad("必须是数字")
        return int(number) if number == number.to_integral_value() else float(number)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad("格式不正确")
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise bad(f"不能超过{MAX_TEXT}个字")
    if f.type == FieldType.DATE:
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise bad("必须是日期（如2026-03-01）") from None
    if f.type == FieldType.PHONE and not PHONE_RE.match(text):
        raise bad("必须是11位手机号")
    if f.type == FieldType.ID_NUMBER:
        text = text.upper()
        if not id_number_valid(text):
            raise bad("不是有效的身份证号")
    if f.type == FieldType.CREDIT_CODE:
        text = text.upper()
        if not CREDIT_RE.match(text):
            raise bad("不是有效的统一社会信用代码")
    if f.type == FieldType.CHOICE and text not in f.options:
        raise ValidationFailed(f"{f.label}只能选择：{'、'.join(f.options)}", details={"field": where})
    return text
