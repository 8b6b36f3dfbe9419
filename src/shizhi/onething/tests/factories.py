"""Small, exact fixtures for onething tests: three departments, their handlers, a list office, citizens, and
the worked example item (四个事项) whose metrics are known by hand (docs/onething.md)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from shizhi.core import services as core_services
from shizhi.core.models import Area, AreaLevel, Role, Unit, User
from shizhi.core.tests.factories import PASSWORD
from shizhi.onething import services
from shizhi.onething.models import Item, ItemVersion

# A valid resident ID number (check digit computed by GB 11643).
ID_NUMBER = "11010519491231002X"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def example_matters(units: dict[str, Unit]) -> list[dict[str, Any]]:
    """The worked example: A and B start at once; C needs A and B; D needs A.

    | matter | unit | steps | statutory | promised | trips | online | materials | fields |
    | A | a | 3 | 5 | 2 | 2 | yes | id_card*, photo | name, id, phone |
    | B | b | 4 | 10 | 3 | 1 | yes | id_card*, hukou_book*, lease | name, id, address (optional) |
    | C | c | 2 | 5 | 4 | 1 | no | id_card*, photo, cert_x | name, phone, kind (choice) |
    | D | a | 2 | 3 | 1 | 1 | yes | hukou_book* | name |
    (* shared data, 免提交)"""
    name = {"key": "name", "label": "姓名", "type": "text", "required": True}
    id_ = {"key": "id", "label": "身份证号", "type": "id_number", "required": True}
    phone = {"key": "phone", "label": "手机号", "type": "phone", "required": True}
    id_card = {"key": "id_card", "name": "居民身份证", "kind": "original"}
    hukou = {"key": "hukou_book", "name": "居民户口簿", "kind": "original"}
    photo = {"key": "photo", "name": "证件照片", "kind": "e_file", "promisable": True}
    return [
        {
            "code": "A",
            "name": "事项甲",
            "department_name": "甲局",
            "unit_id": units["a"].pk,
            "materials": [id_card, photo],
            "fields": [name, id_, phone],
            "steps": 3,
            "statutory_days": 5,
            "promised_days": 2,
            "trips": 2,
            "online": True,
        },
        {
            "code": "B",
            "name": "事项乙",
            "department_name": "乙局",
            "unit_id": units["b"].pk,
            "materials": [id_card, hukou, {"key": "lease", "name": "租赁合同", "kind": "copy"}],
            "fields": [name, id_, {"key": "address", "label": "地址", "type": "text", "required": False}],
            "steps": 4,
            "statutory_days": 10,
            "promised_days": 3,
            "trips": 1,
            "online": True,
        },
        {
            "code": "C",
            "name": "事项丙",
            "department_name": "丙局",
            "unit_id": units["c"].pk,
            "materials": [id_card, photo, {"key": "cert_x", "name": "资格证明", "kind": "e_file"}],
            "fields": [
                name,
                phone,
                {
                    "key": "kind",
                    "label": "类别",
                    "type": "choice",
                    "required": True,
                    "options": ["一类", "二类"],
                },
            ],
            "steps": 2,
            "statutory_days": 5,
            "promised_days": 4,
            "trips": 1,
            "online": False,
            "depends_on": ["A", "B"],
        },
        {
            "code": "D",
            "name": "事项丁",
            "department_name": "甲局",
            "unit_id": units["a"].pk,
            "materials": [hukou],
            "fields": [name],
            "steps": 2,
            "statutory_days": 3,
            "promised_days": 1,
            "trips": 1,
            "online": True,
            "depends_on": ["A"],
        },
    ]


@dataclass
class OneWorld:
    district: Area
    units: dict[str, Unit]
    office: User  # the list office (data steward)
    handlers: dict[str, User]
    citizen: User
    other_citizen: User
    supervisor: User

    def example_content(self, **extra: Any) -> dict[str, Any]:
        return {
            "name": "示例一件事",
            "summary": "用于测试的示例",
            "keywords": "示例",
            "lead_department_name": "甲局",
            "lead_unit_id": self.units["a"].pk,
            "supporting_departments": ["乙局", "丙局"],
            "legal_basis": "测试依据",
            "matters": copy.deepcopy(example_matters(self.units)),
            **extra,
        }

    def publish_example(self, code: str = "T-1", **extra: Any) -> ItemVersion:
        version = services.item_create(
            actor=self.office,
            code=code,
            subject="person",
            stage="birth",
            level="local",
            content=self.example_content(**extra),
        )
        services.version_submit(actor=self.office, version=version)
        return services.version_publish(actor=self.office, version=version)


def _user(
    username: str, role: str, unit: Unit | None = None, area: Area | None = None, **fields: Any
) -> User:
    return core_services.user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        roles=[core_services.RoleIn(role=role, unit=unit, area=area)],
        **fields,
    )


def build_one_world() -> OneWorld:
    core_services.areas_import(
        actor=None,
        rows=[
            core_services.AreaRow(
                code="331200000000", name="临江市", level=1, kind="市", urban_rural="urban"
            ),
            core_services.AreaRow(
                code="331202000000",
                name="江城区",
                level=2,
                kind="区",
                urban_rural="urban",
                parent_code="331200000000",
            ),
        ],
    )
    core_services.units_import(
        actor=None,
        rows=[
            core_services.UnitRow(code=code, name=name, kind="department", area_code="331200000000")
            for code, name in (("a", "甲局"), ("b", "乙局"), ("c", "丙局"), ("sjj", "数据局"))
        ],
    )
    units = {u.code: u for u in Unit.objects.all()}
    district = Area.objects.get(level=AreaLevel.DISTRICT)
    return OneWorld(
        district=district,
        units=units,
        office=_user("office", Role.DATA_STEWARD, units["sjj"]),
        handlers={k: _user(f"handler_{k}", Role.UNIT_HANDLER, units[k]) for k in ("a", "b", "c")},
        citizen=_user("citizen", Role.CITIZEN, display_name="张三", mobile="13800001111"),
        other_citizen=_user("citizen2", Role.CITIZEN, display_name="李四", mobile="13800002222"),
        supervisor=_user("supervisor", Role.SUPERVISOR),
    )


def good_form() -> dict[str, Any]:
    return {"name": "张三", "id": ID_NUMBER, "phone": "13800001111", "kind": "一类"}


def upload(name: str, content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def good_uploads() -> dict[str, SimpleUploadedFile]:
    return {
        "photo": upload("photo.png", PNG),
        "lease": upload("lease.pdf"),
        "cert_x": upload("cert.jpg", JPG),
    }


def apply(world: OneWorld, *, actor: User | None = None, **overrides: Any) -> Any:
    data = services.ApplicationIn(
        item_code=overrides.pop("item_code", "T-1"),
        form=overrides.pop("form", good_form()),
        uploads=overrides.pop("uploads", good_uploads()),
        district_id=overrides.pop("district_id", world.district.pk),
        **overrides,
    )
    return services.application_submit(actor=actor or world.citizen, data=data)


def counts() -> dict[str, int]:
    """Row counts of every onething table: a refused request must leave them all as they were."""
    from django.apps import apps

    from shizhi.core.models import AuditEvent

    out = {m.__name__: m.objects.count() for m in apps.get_app_config("onething").get_models()}
    out["AuditEvent"] = AuditEvent.objects.count()
    return out


def version_state(version: ItemVersion) -> dict[str, Any]:
    """Everything about a version that must never change once it is published."""
    version.refresh_from_db()
    return {
        "fields": {f.name: getattr(version, f.attname) for f in ItemVersion._meta.concrete_fields},
        "matters": list(version.matters.order_by("sort", "id").values()),
    }


def items_codes() -> list[str]:
    return list(Item.objects.order_by("code").values_list("code", flat=True))


def now_plus(days: int) -> dt.datetime:
    from django.utils import timezone

    return timezone.now() + dt.timedelta(days=days)
