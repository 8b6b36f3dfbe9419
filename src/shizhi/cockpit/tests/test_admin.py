"""The Django admin (系统管理): only for the admin role, in Chinese, and nothing changes without an audit event."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from shizhi.cockpit.tests.conftest import City
from shizhi.core import services
from shizhi.core.models import ApiToken, Area, AuditEvent, CalendarDay, Role, RoleAssignment, Unit, User

pytestmark = pytest.mark.django_db


def test_admin_index_works_for_an_admin(client_for: Any) -> None:
    response = client_for("admin").get("/admin/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "市治 · 系统管理" in body and "行政区划" in body and "承办单位" in body


def test_admin_redirects_a_citizen_to_the_admin_login(client_for: Any) -> None:
    response = client_for("citizen").get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_needs_the_admin_role_not_just_is_staff(city: City, client_for: Any) -> None:
    User.objects.filter(pk=city.users["committee"].pk).update(is_staff=True, is_superuser=True)
    assert client_for("committee").get("/admin/").status_code == 302


def test_every_registered_model_lists_and_shows_for_an_admin(city: City, client_for: Any) -> None:
    client = client_for("admin")
    for model in admin.site._registry:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_areas_and_audit_events_are_read_only(city: City, client_for: Any) -> None:
    client = client_for("admin")
    area = city.area("330902000000")
    response = client.get(reverse("admin:core_area_change", args=[area.pk]))
    assert b'name="_save"' not in response.content
    response = client.post(reverse("admin:core_area_change", args=[area.pk]), {"name": "改名区"})
    assert response.status_code == 403
    assert Area.objects.get(pk=area.pk).name == "滨江区"
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    event = AuditEvent.objects.first()
    assert event is not None
    assert (
        client.post(reverse("admin:core_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_api_token_page_never_shows_the_digest(city: City, client_for: Any) -> None:
    user = city.users["citizen"]
    token, raw = services.token_create(actor=user, user=user, name="我的脚本")
    body = client_for("admin").get(reverse("admin:core_apitoken_change", args=[token.pk])).content.decode()
    assert "我的脚本" in body and token.prefix in body
    assert token.digest not in body and raw not in body


def test_changing_a_unit_in_the_admin_is_audited(city: City, client_for: Any) -> None:
    admin_user = city.users["admin"]
    unit = city.units["bj-cgj"]
    contact = unit.contacts.get()
    data = {
        "code": unit.code, "name": unit.name, "short_name": "城管局", "kind": unit.kind, "parent": "",
        "area": unit.area_id, "responsibilities": unit.responsibilities, "phone": "0571-88886666",
        "address": "", "is_active": "on",
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "1", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-id": contact.pk, "contacts-0-unit": unit.pk, "contacts-0-name": "王建国", "contacts-0-title": "处长",
        "contacts-0-mobile": "13812341234", "contacts-0-email": "wang@example.cn", "contacts-0-is_primary": "on",
    }  # fmt: skip
    response = client_for("admin").post(reverse("admin:core_unit_change", args=[unit.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert (unit.phone, unit.short_name) == ("0571-88886666", "城管局")
    events = list(AuditEvent.objects.filter(action="admin.change", object_id=str(unit.pk)).order_by("id"))
    assert [e.actor_id for e in events] == [admin_user.pk, admin_user.pk]
    assert events[0].changes == {"short_name": ["", "城管局"], "phone": ["0571-12345", "0571-88886666"]}
    assert events[0].unit_id == unit.pk and events[0].area_path == unit.area.path
    assert events[1].changes == {
        "单位联系人": {"added": [], "changed": ["滨江区城市管理局 王建国: title"], "deleted": []}
    }


def test_a_bad_contact_mobile_is_refused_in_the_admin(city: City, client_for: Any) -> None:
    unit = city.units["qs-zf"]
    data = {
        "code": unit.code, "name": unit.name, "short_name": "", "kind": unit.kind, "parent": "",
        "area": unit.area_id, "responsibilities": "", "phone": "", "address": "", "is_active": "on",
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000", "contacts-0-name": "赵四", "contacts-0-mobile": "12345",
    }  # fmt: skip
    before = AuditEvent.objects.count()
    response = client_for("admin").post(reverse("admin:core_unit_change", args=[unit.pk]), data)
    assert response.status_code == 200
    assert "手机号格式不正确" in response.content.decode()
    assert unit.contacts.count() == 0 and AuditEvent.objects.count() == before


def test_adding_a_calendar_day_in_the_admin_goes_through_the_service(city: City, client_for: Any) -> None:
    response = client_for("admin").post(
        reverse("admin:core_calendarday_add"), {"date": "2027-02-08", "is_workday": "", "name": "春节"}
    )
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=dt.date(2027, 2, 8))
    assert (day.is_workday, day.name) == (False, "春节")
    event = AuditEvent.objects.get(action="calendar.set")
    assert event.actor_id == city.users["admin"].pk
    assert event.changes == {"is_workday": [None, False], "name": [None, "春节"]}


def test_adding_a_user_with_the_admin_role_in_the_admin(city: City, client_for: Any) -> None:
    data = {
        "username": "newadmin", "usable_password": "true", "password1": "Another-pass-2026",
        "password2": "Another-pass-2026", "display_name": "新管理员", "mobile": "13911112222",
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0", "role_assignments-MAX_NUM_FORMS": "1000",
        "role_assignments-0-role": "admin", "role_assignments-0-unit": "", "role_assignments-0-area": "",
    }  # fmt: skip
    response = client_for("admin").post(reverse("admin:core_user_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="newadmin")
    assert (user.display_name, user.mobile, user.is_staff, user.is_superuser) == (
        "新管理员",
        "13911112222",
        True,
        True,
    )
    assert list(user.role_assignments.values_list("role", flat=True)) == [Role.ADMIN]
    add = AuditEvent.objects.get(action="admin.add", object_id=str(user.pk))
    assert add.changes["password1"] == ["***", "***"] and add.changes["username"] == [None, "newadmin"]
    assert AuditEvent.objects.filter(action="user.role_assign", object_id=str(user.pk)).count() == 1


def test_a_role_needing_a_unit_is_refused_without_one(city: City, client_for: Any) -> None:
    citizen = city.users["citizen"]
    response = client_for("admin").post(
        reverse("admin:core_roleassignment_add"),
        {"user": citizen.pk, "role": "unit_handler", "unit": "", "area": ""},
    )
    assert response.status_code == 200
    assert "该角色必须指定所属单位" in response.content.decode()
    assert list(citizen.role_assignments.values_list("role", flat=True)) == [Role.CITIZEN]


def test_revoking_the_last_admin_role_is_refused(city: City, client_for: Any) -> None:
    assignment = RoleAssignment.objects.get(role=Role.ADMIN)
    client = client_for("admin")
    response = client.post(reverse("admin:core_roleassignment_delete", args=[assignment.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_changing_a_password_in_the_admin_is_audited(city: City, client_for: Any) -> None:
    citizen = city.users["citizen"]
    response = client_for("admin").post(
        f"/admin/core/user/{citizen.pk}/password/",
        {"password1": "Fresh-pass-2026", "password2": "Fresh-pass-2026", "usable_password": "true"},
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password("Fresh-pass-2026")
    event = AuditEvent.objects.get(action="admin.set_password")
    assert event.object_id == str(citizen.pk) and event.changes == {"password": ["***", "***"]}


def test_token_revoke_action(city: City, client_for: Any) -> None:
    user = city.users["citizen"]
    token, _ = services.token_create(actor=user, user=user, name="旧令牌")
    response = client_for("admin").post(
        reverse("admin:core_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoke", actor=city.users["admin"]).count() == 1
    assert Unit.objects.count() == 2  # nothing else touched
