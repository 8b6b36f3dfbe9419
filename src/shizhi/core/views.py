"""Server-rendered pages of the core app, and the health check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from shizhi.cockpit import selectors as cockpit_selectors
from shizhi.cockpit.web import page_errors, paginate, query_without_page
from shizhi.core import selectors, services
from shizhi.core.errors import ApplicationError, ValidationFailed
from shizhi.core.models import UnitKind, User
from shizhi.core.permissions import has_perm


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database state, for load balancers and ``make demo``: 200 when the database answers."""
    db: dict[str, object] = {"vendor": connection.vendor}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        db.update(status="ok", pending_migrations=len(pending))
        status = 200
    except Exception as exc:  # any database failure means "not healthy", and says why
        db.update(status="error", error=str(exc)[:200])
        status = 503
    return JsonResponse({"status": "ok" if status == 200 else "error", "database": db}, status=status)


# ----------------------------------------
# Pages (行政区划、承办单位、审计日志、工作日历): thin, the shaping lives in shizhi.cockpit.selectors.
# ----------------------------------------


@login_required
@page_errors
def area_index(request: HttpRequest) -> HttpResponse:
    """The city's page when there is one city; otherwise the list of cities (or how to load some)."""
    cities = cockpit_selectors.city_list(actor=request.user)
    if len(cities) == 1:
        return redirect("core:area_detail", area_id=cities[0].pk)
    return render(request, "core/area_index.html", {"cities": cities})


@login_required
@page_errors
def area_detail(request: HttpRequest, area_id: int) -> HttpResponse:
    page = cockpit_selectors.area_page(actor=request.user, area_id=area_id)
    return render(request, "core/area_detail.html", page)


@login_required
@page_errors
def unit_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()[:64]
    if kind not in UnitKind.values:
        kind = ""
    area_id = request.GET.get("area", "")
    area = selectors.access_area(actor=request.user, area_id=int(area_id)) if area_id.isdigit() else None
    units = selectors.unit_list(
        actor=request.user, kind=kind or None, q=q or None, area_id=area.pk if area else None
    )
    return render(
        request,
        "core/unit_list.html",
        {
            "page": paginate(request, units),
            "kinds": UnitKind.choices,
            "kind": kind,
            "q": q,
            "area": area,
            "query": query_without_page(request),
        },
    )


@login_required
@page_errors
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    return render(
        request, "core/unit_detail.html", cockpit_selectors.unit_page(actor=request.user, unit_id=unit_id)
    )


@login_required
@page_errors
def audit(request: HttpRequest) -> HttpResponse:
    if not has_perm(request.user, "core.view_audit"):
        raise PermissionDenied(gettext("只有管理员和督办员可以查看审计日志"))
    filters = {
        key: request.GET.get(key, "").strip()[:64] for key in ("action", "object_type", "object_id", "user")
    }
    events = selectors.audit_list(
        actor=request.user,
        action=filters["action"] or None,
        object_type=filters["object_type"] or None,
        object_id=filters["object_id"] or None,
        actor_id=cockpit_selectors.audit_actor_id(filters["user"]),
    )
    page = paginate(request, events)
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "rows": [(e, cockpit_selectors.audit_change_rows(e)) for e in page.object_list],
            "filters": filters,
            "choices": cockpit_selectors.audit_filter_choices(actor=request.user),
            "query": query_without_page(request),
        },
    )


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    year, month = cockpit_selectors.parse_month(request.GET.get("month"))
    return render(request, "core/calendar.html", cockpit_selectors.calendar_month(year, month))


@login_required
@page_errors
def account(request: HttpRequest) -> HttpResponse:
    """My account (我的账号): profile, roles, and personal API tokens (create: shown once; revoke)."""
    user = request.user
    assert isinstance(user, User)  # login_required
    new_token = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create_token":
                _, new_token = services.token_create(actor=user, user=user, name=request.POST.get("name", ""))
                messages.success(request, gettext("令牌已创建。请立即复制保存，离开本页后将无法再次查看。"))
            elif request.POST.get("action") == "revoke_token":
                token_id = request.POST.get("token_id", "")
                if not token_id.isdigit():
                    raise ValidationFailed(gettext("令牌编号不正确"))
                token = selectors.access_token(actor=user, token_id=int(token_id))
                services.token_revoke(actor=user, token=token)
                messages.success(request, gettext("令牌已撤销。"))
                return redirect("core:account")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "core/account.html",
        {
            "account": user,
            "roles": selectors.user_roles(user),
            "tokens": user.api_tokens.order_by("-created_at", "-id"),
            "new_token": new_token,
            "now": timezone.now(),
        },
    )
