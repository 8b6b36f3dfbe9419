"""Django admin (系统管理) for core data, in Chinese (or the language the user chose), for users with the admin
role only.

The admin writes to the database directly, around our services, so that nothing changes without an audit
event: areas, grids, audit events and API tokens are read-only here; units, users and calendar days leave an
``admin.add`` / ``admin.change`` / ``admin.delete`` audit event (or go through the services, which audit
themselves: role assignments, calendar days); ``is_staff``/``is_superuser`` follow the admin role and cannot
be edited by hand.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shizhi.core import services
from shizhi.core.audit import SECRET_FIELDS, _jsonable, audit_record
from shizhi.core.errors import ApplicationError
from shizhi.core.models import (
    ApiToken,
    Area,
    AuditEvent,
    CalendarDay,
    Grid,
    Role,
    RoleAssignment,
    Unit,
    UnitContact,
    User,
)
from shizhi.core.permissions import ROLE_POLICIES, has_perm

# ------------------------------------------------------------------------------------------ who may enter


def _admin_site_permission(request: HttpRequest) -> bool:
    """Only active users holding the admin role (系统管理员) may use the admin site."""
    user = request.user
    return bool(user.is_active and user.is_staff and has_perm(user, "core.use_admin_site"))


admin.site.has_permission = _admin_site_permission  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------ audit helpers

_SECRET_FORM_FIELDS = SECRET_FIELDS | {"password1", "password2", "usable_password"}


def form_changes(form: forms.ModelForm, *, change: bool) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field the admin form changed; secrets only as "***"."""
    out: dict[str, list[Any]] = {}
    for name in form.changed_data:
        if name in _SECRET_FORM_FIELDS:
            out[name] = ["***", "***"]
            continue
        old = form.initial.get(name) if change else None
        new = form.cleaned_data.get(name)
        if isinstance(new, QuerySet):
            new = [o.pk for o in new]
        out[name] = [_jsonable(old), _jsonable(new)]
    return out


def formset_changes(formset: Any) -> dict[str, Any]:
    """What an inline formset added, changed and deleted (by name only; values may be personal data).

    Keyed by the model's name in the platform's language (``LANGUAGE_CODE``), not the admin user's: the audit
    log is a record, the same whoever wrote it."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(formset.model._meta.verbose_name)
    added = [str(o) for o in formset.new_objects]
    changed = [f"{o}: {', '.join(fields)}" for o, fields in formset.changed_objects]
    deleted = [str(o) for o in formset.deleted_objects]
    if not (added or changed or deleted):
        return {}
    return {label: {"added": added, "changed": changed, "deleted": deleted}}


class AuditedAdmin(admin.ModelAdmin):
    """Every save and delete through the admin leaves an audit event in the same transaction."""

    def audit_scope(self, obj: Any) -> dict[str, Any]:
        return {}

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        changes = form_changes(form, change=change)
        super().save_model(request, obj, form, change)
        if changes or not change:
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action="admin.change" if change else "admin.add",
                obj=obj,
                changes=changes,
                **self.audit_scope(obj),
            )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        changes = formset_changes(formset)
        if changes:
            audit_record(
                actor=request.user,  # type: ignore[arg-type]
                action="admin.change",
                obj=form.instance,
                changes=changes,
                **self.audit_scope(form.instance),
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_record(actor=request.user, action="admin.delete", obj=obj, **self.audit_scope(obj))  # type: ignore[arg-type]
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            audit_record(actor=request.user, action="admin.delete", obj=obj, **self.audit_scope(obj))  # type: ignore[arg-type]
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never changed here (the data comes from imports and services)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _boundary_summary(obj: Any) -> str:
    if not obj.boundary:
        return "—"
    return gettext("{type}，范围 {min_lng:.4f},{min_lat:.4f} – {max_lng:.4f},{max_lat:.4f}").format(
        type=obj.boundary.get("type", "?"),
        min_lng=obj.min_lng,
        min_lat=obj.min_lat,
        max_lng=obj.max_lng,
        max_lat=obj.max_lat,
    )


# ------------------------------------------------------------------------------------------ areas and grids


@admin.register(Area)
class AreaAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "kind", "urban_rural", "population", "households", "area_km2")
    list_filter = ("level", "urban_rural", "kind")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    list_per_page = 100
    fields = (
        "code", "name", "level", "kind", "urban_rural", "urban_rural_code", "parent", "population",
        "households", "area_km2", "centroid_lng", "centroid_lat", "boundary_summary", "path", "created_at",
        "updated_at",
    )  # fmt: skip

    @admin.display(description=_("边界"))
    def boundary_summary(self, obj: Area) -> str:
        return _boundary_summary(obj)


@admin.register(Grid)
class GridAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "community", "grid_worker", "population", "households")
    search_fields = ("code", "name", "community__name")
    list_select_related = ("community", "grid_worker")
    list_per_page = 100
    fields = (
        "code", "name", "community", "grid_worker", "population", "households", "area_km2", "centroid_lng",
        "centroid_lat", "boundary_summary", "created_at", "updated_at",
    )  # fmt: skip

    @admin.display(description=_("边界"))
    def boundary_summary(self, obj: Grid) -> str:
        return _boundary_summary(obj)


# ------------------------------------------------------------------------------------------ units

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class UnitContactForm(forms.ModelForm):
    class Meta:
        model = UnitContact
        fields = ("name", "title", "mobile", "email", "is_primary")

    def clean_mobile(self) -> str:
        mobile = self.cleaned_data.get("mobile", "")
        if mobile and not _MOBILE_RE.match(mobile):
            raise forms.ValidationError(gettext("手机号格式不正确"))
        return mobile


class UnitContactInline(admin.TabularInline):
    model = UnitContact
    form = UnitContactForm
    extra = 0


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind", "area", "phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "short_name")
    list_select_related = ("area",)
    autocomplete_fields = ("parent", "area")
    inlines = (UnitContactInline,)
    fields = (
        "code", "name", "short_name", "kind", "parent", "area", "responsibilities", "phone", "address",
        "is_active",
    )  # fmt: skip

    def audit_scope(self, obj: Unit) -> dict[str, Any]:
        return {"unit": obj if obj.pk else None, "area_path": obj.area.path if obj.area else ""}


# ------------------------------------------------------------------------------------------ users and roles


class RoleAssignmentForm(forms.ModelForm):
    """Checks a new role assignment the way ``services.role_assign`` will, so the admin shows form errors
    instead of failing on save."""

    class Meta:
        model = RoleAssignment
        fields = ("role", "unit", "area")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role, unit, area = data.get("role"), data.get("unit"), data.get("area")
        if not role:
            return data
        policy = ROLE_POLICIES[role]
        if policy.needs_unit and unit is None:
            self.add_error("unit", gettext("该角色必须指定所属单位"))
        if unit is not None and not policy.unit_allowed:
            self.add_error("unit", gettext("该角色不按单位授权"))
        if area is not None and not policy.area_allowed:
            self.add_error("area", gettext("该角色不按区域授权"))
        user = getattr(self.instance, "user", None) if self.instance.user_id else data.get("user")
        if (
            user is not None
            and user.pk is not None
            and (
                RoleAssignment.objects.filter(user=user, role=role, unit=unit, area=area)
                .exclude(pk=self.instance.pk)
                .exists()
            )
        ):
            raise forms.ValidationError(gettext("该用户已有此角色授权"))
        return data


class RoleAssignmentInline(admin.TabularInline):
    """Existing assignments are read-only; add or delete rows (saved through the services)."""

    model = RoleAssignment
    form = RoleAssignmentForm
    extra = 0
    autocomplete_fields = ("unit", "area")
    fields = ("role", "unit", "area", "created_at")
    readonly_fields = ("created_at",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShizhiUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


class ShizhiUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User

    def clean_mobile(self) -> str:
        mobile = self.cleaned_data.get("mobile", "")
        if mobile and not _MOBILE_RE.match(mobile):
            raise forms.ValidationError(gettext("手机号格式不正确"))
        return mobile


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    form = ShizhiUserChangeForm
    add_form = ShizhiUserCreationForm
    list_display = ("username", "display_name", "mobile", "roles", "is_active", "last_login")
    list_filter = ("is_active", "role_assignments__role")
    search_fields = ("username", "display_name", "mobile")
    ordering = ("id",)
    inlines = (RoleAssignmentInline,)
    readonly_fields = ("is_staff", "is_superuser", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("display_name", "mobile", "id_number", "email")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2", "display_name", "mobile"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("role_assignments")

    @admin.display(description=_("角色"))
    def roles(self, obj: User) -> str:
        return (
            gettext("、").join(sorted({str(a.get_role_display()) for a in obj.role_assignments.all()})) or "—"
        )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not RoleAssignment:
            super().save_formset(request, form, formset, change)
            return
        # Role changes go through the services: they keep is_staff in step, refuse to remove the last admin,
        # and write their own audit events.
        formset.save(commit=False)
        user = form.instance
        for assignment in formset.deleted_objects:
            try:
                services.role_revoke(actor=request.user, assignment=assignment)  # type: ignore[arg-type]
            except ApplicationError as exc:
                messages.error(
                    request,
                    gettext("未能撤销角色“{role}”：{message}").format(
                        role=assignment.get_role_display(), message=exc.message
                    ),
                )
        for assignment in formset.new_objects:
            try:
                services.role_assign(
                    actor=request.user,  # type: ignore[arg-type]
                    user=user,
                    role=services.RoleIn(role=assignment.role, unit=assignment.unit, area=assignment.area),
                )
            except ApplicationError as exc:
                messages.error(
                    request,
                    gettext("未能授予角色“{role}”：{message}").format(
                        role=assignment.get_role_display(), message=exc.message
                    ),
                )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            changed = (
                request.method == "POST"
                and response.status_code == 302
                and response.get("Location") != request.get_full_path()
            )
            if changed:
                user = User.objects.get(pk=id)
                audit_record(
                    actor=request.user,  # type: ignore[arg-type]
                    action="admin.set_password",
                    obj=user,
                    changes={"password": ["***", "***"]},
                )
        return response


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    """Role assignments (角色授权): add and revoke through the services; never edited in place."""

    form = RoleAssignmentForm
    list_display = ("user", "role", "unit", "area", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__display_name", "unit__name", "area__name")
    list_select_related = ("user", "unit", "area")
    autocomplete_fields = ("user", "unit", "area")
    fields = ("user", "role", "unit", "area")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.role == Role.ADMIN:
            others = RoleAssignment.objects.filter(role=Role.ADMIN, user__is_active=True).exclude(pk=obj.pk)
            if not others.exists():
                return False  # the last admin keeps the role (services.role_revoke refuses it too)
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: forms.ModelForm, change: bool
    ) -> None:
        assignment = services.role_assign(
            actor=request.user,  # type: ignore[arg-type]
            user=obj.user,
            role=services.RoleIn(role=obj.role, unit=obj.unit, area=obj.area),
        )
        obj.pk, obj.created_at = assignment.pk, assignment.created_at

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        services.role_revoke(actor=request.user, assignment=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        for obj in queryset.select_related("user", "unit", "area"):
            try:
                services.role_revoke(actor=request.user, assignment=obj)  # type: ignore[arg-type]
            except ApplicationError as exc:
                messages.error(
                    request, gettext("未能撤销“{object}”：{message}").format(object=obj, message=exc.message)
                )


# ------------------------------------------------------------------------------------------ tokens, audit


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Personal API tokens: shown without their digest; may be revoked (through the service)."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    actions = ("revoke",)

    @admin.action(description=_("撤销所选令牌"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
            count += 1
        self.message_user(
            request,
            ngettext("已撤销 {count} 个令牌。", "已撤销 {count} 个令牌。", count).format(count=count),
            messages.SUCCESS,
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "origin",
        "ip",
    )
    list_filter = ("action", "origin", "object_type")
    search_fields = ("actor_label", "action", "object_type", "object_id", "object_repr")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = (
        "created_at", "actor", "actor_label", "action", "object_type", "object_id", "object_repr",
        "changes_pretty", "ip", "origin", "area_path", "unit",
    )  # fmt: skip
    list_select_related = ("actor",)

    @admin.display(description=_("变更"))
    def changes_pretty(self, obj: AuditEvent) -> str:
        import json

        return format_html(
            "<pre style='white-space:pre-wrap;margin:0'>{}</pre>",
            json.dumps(obj.changes, ensure_ascii=False, indent=2),
        )


# ------------------------------------------------------------------------------------------ calendar


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Holiday calendar overrides (工作日历调整), saved through the service (audited, caches cleared)."""

    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    search_fields = ("name",)
    date_hierarchy = "date"
    fields = ("date", "is_workday", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("date",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: forms.ModelForm, change: bool) -> None:
        day = services.calendar_day_set(
            actor=request.user,  # type: ignore[arg-type]
            date=obj.date,
            is_workday=obj.is_workday,
            name=obj.name,
        )
        obj.pk = day.pk

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        services.calendar_day_delete(actor=request.user, date=obj.date)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        for obj in queryset:
            services.calendar_day_delete(actor=request.user, date=obj.date)  # type: ignore[arg-type]
