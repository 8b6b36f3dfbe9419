"""The department inbox (部门收件箱): a unit's parts of applications, to accept (受理), finish (办结) or refuse
(不予办理), with promise-based handling (容缺受理) of a missing material. Each department sees only its own parts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from shizhi.core.errors import ApplicationError
from shizhi.onething import outputs, selectors, services
from shizhi.onething.content import spec_of
from shizhi.onething.models import SubTask, SubTaskStatus
from shizhi.onething.views.applications import file_response
from shizhi.onething.views.common import actor, next_url, query_without_page, staff_page, text, window

TABS = (
    # key, label, statuses
    ("ready", "待受理", (SubTaskStatus.READY,)),
    ("in_progress", "办理中", (SubTaskStatus.IN_PROGRESS,)),
    ("overdue", "已超期", (SubTaskStatus.READY, SubTaskStatus.IN_PROGRESS)),
    ("waiting", "等待前置", (SubTaskStatus.WAITING,)),
    ("done", "已办结", (SubTaskStatus.DONE, SubTaskStatus.REJECTED)),
)


def _promisable(st: SubTask) -> list[dict[str, Any]]:
    """Materials of the sub-task's matter a department may accept without (容缺): not shared, not yet promised."""
    promised = {p.material_key for p in st.promises.all()}
    return [m.as_dict() for m in spec_of(st.matter).materials if not m.shared_data and m.key not in promised]


@staff_page("onething.handle")
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """待受理 / 办理中 / 已超期 / 等待前置 / 已办结 tabs of the user's units' sub-tasks, earliest deadline first."""
    user = actor(request)
    tab = request.GET.get("tab", "ready")
    tabs = {key: (label, statuses) for key, label, statuses in TABS}
    if tab not in tabs:
        tab = "ready"
    now = timezone.now()
    qs = selectors.subtask_inbox(actor=user, statuses=tabs[tab][1]).select_related("application__version")
    if tab == "overdue":
        qs = qs.filter(due_at__lt=now)
    if tab == "done":
        qs = qs.order_by("-finished_at", "-id")
    q = text(request.GET, "q", 40).strip()
    if q:
        qs = qs.filter(Q(application__number__icontains=q) | Q(application__applicant_name__icontains=q))
    page = window(request, qs, per_page=30)
    counts = {
        key: selectors.subtask_inbox(actor=user, statuses=statuses)
        .filter(**({"due_at__lt": now} if key == "overdue" else {}))
        .count()
        for key, _, statuses in TABS
        if key != "done"
    }
    rows = [
        {"st": st, "out": outputs.subtask_out(st, now), "promisable": _promisable(st)} for st in page.items
    ]
    return render(
        request,
        "onething/inbox.html",
        {
            "tab": tab,
            "tabs": [(key, gettext(label), counts.get(key)) for key, label, _ in TABS],
            "rows": rows,
            "page": page,
            "q": q,
            "query": query_without_page(request),
            "overdue_promises": list(selectors.overdue_promises(actor=user)[:20]),
            "days": services.DEFAULT_PROMISE_DAYS,
        },
    )


@staff_page("onething.handle")
@require_GET
def subtask_detail(request: HttpRequest, subtask_id: int) -> HttpResponse:
    """One part: the fields of the form and the materials its matter needs, and the actions."""
    user = actor(request)
    st = selectors.access_subtask(actor=user, subtask_id=subtask_id)
    detail = outputs.subtask_detail(st)
    files = {m.material_key: m.pk for m in st.application.materials.all() if m.file}
    labels = {f.key: f.label for f in spec_of(st.matter).fields}
    return render(
        request,
        "onething/subtask.html",
        {
            "st": st,
            "d": detail,
            "form_rows": [(labels.get(k, k), v) for k, v in detail["form_data"].items()],
            "files": files,
            "promisable": _promisable(st),
            "days": services.DEFAULT_PROMISE_DAYS,
            "others": list(
                st.application.subtasks.exclude(pk=st.pk)
                .order_by("sort", "id")
                .values_list("department_name", "status")
            ),
            "status_labels": dict(SubTaskStatus.choices),
        },
    )


@staff_page("onething.handle")
@require_POST
def subtask_action(request: HttpRequest, subtask_id: int, action: str) -> HttpResponse:
    """accept 受理, complete 办结, reject 不予办理, promise 容缺受理."""
    user = actor(request)
    st = selectors.access_subtask(actor=user, subtask_id=subtask_id)
    number = st.application.number
    try:
        if action == "accept":
            services.subtask_accept(actor=user, subtask=st, note=text(request.POST, "note", 500))
            messages.success(request, gettext("已受理 %(number)s") % {"number": number})
        elif action == "complete":
            services.subtask_complete(actor=user, subtask=st, result=text(request.POST, "result", 1000))
            messages.success(request, gettext("已办结 %(number)s") % {"number": number})
        elif action == "reject":
            services.subtask_reject(actor=user, subtask=st, reason=text(request.POST, "reason", 1000))
            messages.success(request, gettext("已作不予办理 %(number)s") % {"number": number})
        elif action == "promise":
            raw = text(request.POST, "days", 3)
            services.promise_grant(
                actor=user,
                subtask=st,
                material_key=text(request.POST, "material_key", 64),
                days=int(raw) if raw.isdigit() else 0,
                note=text(request.POST, "note", 255),
            )
            messages.success(request, gettext("已容缺受理 %(number)s") % {"number": number})
        else:
            raise Http404
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(next_url(request, reverse("onething:subtask", kwargs={"subtask_id": st.pk})))


@staff_page("onething.handle")
@require_GET
def subtask_file(request: HttpRequest, subtask_id: int, material_key: str) -> HttpResponse:
    """A material the sub-task's matter needs, as handed in by the applicant."""
    st = selectors.access_subtask(actor=actor(request), subtask_id=subtask_id)
    if material_key not in {m.key for m in spec_of(st.matter).materials}:
        raise Http404
    material = st.application.materials.filter(material_key=material_key).first()
    if material is None:
        raise Http404
    return file_response(material)
