"""Cases (工单): the filtered list, the case page, and one POST endpoint per workflow action, each calling the
matching service. A refused action shows the case page again with the message and what was typed. A unit's
reply is reviewed first (答复质量, ``shizhi.ai.review``): a weak one goes out only once the unit confirms it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from shizhi.ai.review import ReplyReview, review_reply, review_setting
from shizhi.core import workcalendar
from shizhi.core.errors import ApplicationError, ErrorCode, PermissionDenied, ValidationFailed
from shizhi.core.models import Area, AreaLevel, User
from shizhi.core.permissions import has_perm
from shizhi.hotline import ai_assist, page_selectors, selectors, services
from shizhi.hotline.models import (
    Case,
    CaseStatus,
    Category,
    Extension,
    SlaKind,
    SupervisionKind,
)
from shizhi.hotline.views.common import (
    actor,
    bool_field,
    int_field,
    next_url,
    pin_labels,
    staff_page,
    text,
    window,
)

# ---------------------------------------------------------------------------------------------- list


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters(request: HttpRequest, staff: bool) -> tuple[selectors.CaseFilters, dict[str, str]]:
    """The list's filters from the query string; values that make no sense are dropped, not refused."""
    get = request.GET
    raw = {
        k: get.get(k, "").strip()[:64] for k in ("status", "category", "unit", "area", "since", "until", "q")
    }
    raw["overdue"] = "1" if get.get("overdue") == "1" else ""
    since, until = _date(raw["since"]), _date(raw["until"])
    tz = workcalendar.local_tz()
    filters = selectors.CaseFilters(
        status=raw["status"] if raw["status"] in CaseStatus.values else None,
        category=raw["category"] or None,
        unit=int(raw["unit"]) if staff and raw["unit"].isdigit() else None,
        area=int(raw["area"]) if staff and raw["area"].isdigit() else None,
        since=dt.datetime.combine(since, dt.time.min, tzinfo=tz) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if until else None,
        overdue=True if raw["overdue"] else None,
        text=raw["q"] or None,
    )
    return filters, raw


@staff_page("hotline.view_cases", "hotline.submit_own")
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """Cases in the reader's scope (a citizen: 我的诉求), filtered, newest first, without counting them all."""
    user = actor(request)
    staff = has_perm(user, "hotline.view_cases")
    filters, raw = _filters(request, staff)
    try:
        qs = selectors.case_list(actor=user, filters=filters).select_related("street")
        page = window(request, qs)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        page = window(request, Case.objects.none())
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hotline/case_list.html",
        {
            "page": page,
            "filters": raw,
            "staff": staff,
            "statuses": CaseStatus.choices,
            "categories": Category.objects.order_by("path").only("code", "full_name", "level"),
            "units": page_selectors.active_units() if staff else [],
            "areas": Area.objects.filter(level__in=[AreaLevel.DISTRICT, AreaLevel.STREET]).order_by("path")
            if staff
            else [],
            "query": query.urlencode(),
            "now": timezone.now(),
        },
    )


# ---------------------------------------------------------------------------------------------- one case


def _detail(
    request: HttpRequest,
    user: User,
    case: Case,
    *,
    failed: str = "",
    status: int = 200,
    review: ReplyReview | None = None,
) -> HttpResponse:
    context = page_selectors.case_page(actor=user, case=case)
    context.update(
        {
            "failed": failed,
            "review": _review_rows(review) if review is not None else None,
            "posted": request.POST if failed else {},
            "units": page_selectors.active_units(),
            "sla_kinds": SlaKind.choices,
            "supervision_kinds": [
                (k, label) for k, label in SupervisionKind.choices if k != SupervisionKind.OVERDUE
            ],
            "pin_labels": pin_labels(),
            "now": timezone.now(),
            "back": next_url(request, "") if failed else "",
        }
    )
    return render(request, "hotline/case_detail.html", context, status=status)


@staff_page("hotline.view_cases", "hotline.submit_own")
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user = actor(request)
    return _detail(request, user, selectors.access_case(actor=user, case_id=case_id))


# ---------------------------------------------------------------------------------------------- actions

Handler = Callable[[HttpRequest, User, Case], str]


def _one_unit(data: Any, name: str = "unit") -> Any:
    units = page_selectors.resolve_units(text(data, name, 200), field=name)
    if len(units) != 1:
        raise ValidationFailed(gettext("请指定一个承办单位"), details={"field": name})
    return units[0]


def _answer_directly(request: HttpRequest, user: User, case: Case) -> str:
    raw = text(request.POST, "article", 12)
    article = services.knowledge_get(int(raw)) if raw.isdigit() else None
    reply = text(request.POST, "reply").strip() or (article.answer if article else "")
    services.case_answer_directly(actor=user, case=case, reply=reply, article=article)
    return gettext("已直接答复")


def _dispatch(request: HttpRequest, user: User, case: Case) -> str:
    unit = _one_unit(request.POST)
    assists = page_selectors.resolve_units(text(request.POST, "assist", 1000), field="assist")
    sla_kind = text(request.POST, "sla_kind", 16)
    services.case_dispatch(
        actor=user,
        case=case,
        unit=unit,
        assist_units=assists,
        sla_kind=sla_kind or None,
        note=text(request.POST, "note", 600),
    )
    ai_assist.record(user, case, ("unit",), unit=unit)  # the unit model's suggestion vs the choice
    return gettext("工单 %(number)s 已派至 %(unit)s") % {"number": case.number, "unit": unit.name}


def _add_assist(request: HttpRequest, user: User, case: Case) -> str:
    units = page_selectors.resolve_units(text(request.POST, "assist", 1000), field="assist")
    services.case_add_assist(actor=user, case=case, units=units, note=text(request.POST, "note", 600))
    return gettext("已增派协办单位")


def _accept(request: HttpRequest, user: User, case: Case) -> str:
    services.case_accept(actor=user, case=case)
    return gettext("已签收工单 %(number)s") % {"number": case.number}


def _return(request: HttpRequest, user: User, case: Case) -> str:
    services.case_return(actor=user, case=case, reason=text(request.POST, "reason", 600))
    return gettext("已退单，等待热线中心审核")


def _review_return(request: HttpRequest, user: User, case: Case) -> str:
    approve = bool_field(request.POST, "approve")
    if approve is None:
        raise ValidationFailed(gettext("请选择同意或驳回退单"), details={"field": "approve"})
    unit = _one_unit(request.POST) if approve else None
    services.case_review_return(
        actor=user, case=case, approve=approve, unit=unit, note=text(request.POST, "note", 600)
    )
    return gettext("已同意退单并改派") if approve else gettext("已驳回退单，工单退回原单位")


def _start(request: HttpRequest, user: User, case: Case) -> str:
    services.case_start(actor=user, case=case)
    return gettext("已开始办理")


def _assist_note(request: HttpRequest, user: User, case: Case) -> str:
    services.case_assist_note(actor=user, case=case, note=text(request.POST, "note"))
    return gettext("已提交协办意见")


def _request_extension(request: HttpRequest, user: User, case: Case) -> str:
    days = int_field(request.POST, "working_days", label=gettext("延长工作日"))
    services.case_request_extension(
        actor=user, case=case, working_days=days or 0, reason=text(request.POST, "reason", 600)
    )
    return gettext("已提交延期申请")


def _decide_extension(request: HttpRequest, user: User, case: Case) -> str:
    approve = bool_field(request.POST, "approve")
    if approve is None:
        raise ValidationFailed(gettext("请选择批准或不批准"), details={"field": "approve"})
    ext_id = int_field(request.POST, "extension", label=gettext("延期申请")) or 0
    extension = Extension.objects.filter(pk=ext_id, case=case).first()
    if extension is None:
        raise ValidationFailed(gettext("延期申请不存在"), details={"field": "extension"})
    services.case_decide_extension(
        actor=user, extension=extension, approve=approve, note=text(request.POST, "note", 600)
    )
    return gettext("已批准延期") if approve else gettext("已驳回延期申请")


# ---------------------------------------------------------------------------------------------- reply review


# The review's dimensions as the reply form names them.
REVIEW_DIMENSIONS: dict[str, Any] = {
    "relevance": _("相关性"),
    "completeness": _("完整性"),
    "interpretability": _("可解释性"),
}


class ReviewFlagged(ValidationFailed):
    """A reply the review (答复质量) found weak, sent without ``confirm_review``: refused, with the review to
    show above the reply form."""

    def __init__(self, review: ReplyReview):
        labels = gettext("、").join(str(REVIEW_DIMENSIONS[d]) for d in review.flags)
        super().__init__(
            gettext(
                "答复质量检查未通过（%(dimensions)s），答复尚未发出。请修改答复，或核对后勾选“答复已核对，仍然提交”。"
            )
            % {"dimensions": labels},
            details={"field": "reply", "flags": review.flags, "scores": review.scores},
        )
        self.review = review


def _review(case: Case, reply: str) -> ReplyReview:
    return review_reply(message_title=case.title, message_content=case.content, reply=reply)


def _review_rows(review: ReplyReview) -> dict[str, Any]:
    """The review as the reply form shows it: a bar per dimension (score, its threshold, flagged) with its
    reasons."""
    thresholds = review_setting("thresholds")
    return {
        "ok": review.ok,
        "dimensions": [
            {
                "name": name,
                "label": label,
                "score": review.scores[name],
                "percent": round(100 * review.scores[name]),
                "threshold": float(thresholds[name]),
                "flagged": name in review.flags,
                "reasons": review.reasons_for(name),
            }
            for name, label in REVIEW_DIMENSIONS.items()
        ],
    }


def _reply(request: HttpRequest, user: User, case: Case) -> str:
    """答复: the reply goes out when the review finds nothing weak, or the unit confirmed it had checked it
    (``confirm_review=1``). A reply the service would refuse anyway (no right, wrong state, too short) is left
    to the service, so that its own message is shown."""
    reply = text(request.POST, "reply")
    if request.POST.get("confirm_review") != "1" and "reply" in selectors.allowed_actions(user, case):
        services.check_text(reply, field="reply", label="答复内容", max_length=4000, min_length=10)
        review = _review(case, reply)
        if review.flags:
            raise ReviewFlagged(review)
    services.case_reply(actor=user, case=case, reply=reply)
    return gettext("已答复市民")


def _check_reply(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    """检查答复: the review of the typed reply above the reply form, with the text kept; nothing is sent."""
    if "reply" not in selectors.allowed_actions(user, case):
        raise PermissionDenied(gettext("当前不能答复此工单"))
    review = _review(case, text(request.POST, "reply"))
    if review.ok:
        messages.info(request, gettext("答复质量检查未发现问题，可以提交"))
    else:
        messages.warning(request, gettext("答复质量检查发现需要改进之处，请见答复框上方的说明"))
    return _detail(request, user, case, failed="reply", review=review)


def _callback(request: HttpRequest, user: User, case: Case) -> str:
    reached = request.POST.get("reached") != "0"
    services.case_callback(
        actor=user,
        case=case,
        reached=reached,
        solved=bool_field(request.POST, "solved") if reached else None,
        satisfaction=int_field(request.POST, "satisfaction", label=gettext("满意度"), required=False)
        if reached
        else None,
        note=text(request.POST, "note", 600),
    )
    return gettext("已记录回访，工单办结")


def _citizen_rate(request: HttpRequest, user: User, case: Case) -> str:
    if case.citizen_id != user.pk:
        raise PermissionDenied(gettext("只能评价本人的诉求"))
    solved = bool_field(request.POST, "solved")
    if solved is None:
        raise ValidationFailed(gettext("请选择问题是否已解决"), details={"field": "solved"})
    services.case_callback(
        actor=user,
        case=case,
        reached=True,
        solved=solved,
        satisfaction=int_field(request.POST, "satisfaction", label=gettext("满意度")),
        note=text(request.POST, "note", 600),
        by_citizen=True,
    )
    return gettext("感谢您的评价！")


def _reopen(request: HttpRequest, user: User, case: Case) -> str:
    services.case_reopen(actor=user, case=case, reason=text(request.POST, "reason", 600))
    return gettext("工单已重办，退回原承办单位")


def _merge(request: HttpRequest, user: User, case: Case) -> str:
    master = selectors.access_case(actor=user, number=text(request.POST, "master", 20).strip())
    services.case_merge(actor=user, master=master, duplicate=case, note=text(request.POST, "note", 500))
    return gettext("已合并到 %(master)s") % {"master": master.number}


def _supervise(request: HttpRequest, user: User, case: Case) -> str:
    kind = text(request.POST, "kind", 16) or SupervisionKind.MANUAL
    services.case_supervise(actor=user, case=case, note=text(request.POST, "note", 600), kind=kind)
    return gettext("已督办工单 %(number)s") % {"number": case.number}


def _link(request: HttpRequest, user: User, case: Case) -> str:
    other = selectors.access_case(actor=user, number=text(request.POST, "other", 20).strip())
    services.case_link(actor=user, case=case, other=other)
    return gettext("已关联工单 %(number)s") % {"number": other.number}


def _attach(request: HttpRequest, user: User, case: Case) -> str:
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationFailed(gettext("请选择要上传的文件"), details={"field": "file"})
    may = bool(selectors.allowed_actions(user, case)) or case.citizen_id == user.pk
    attachment = services.case_attach(actor=user, case=case, upload=upload, may_attach=may)
    return gettext("已上传附件“%(name)s”") % {"name": attachment.name}


ACTIONS: dict[str, Handler] = {
    "answer_directly": _answer_directly,
    "dispatch": _dispatch,
    "add_assist": _add_assist,
    "accept": _accept,
    "return": _return,
    "review_return": _review_return,
    "start": _start,
    "assist_note": _assist_note,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "reply": _reply,
    "callback": _callback,
    "citizen_rate": _citizen_rate,
    "reopen": _reopen,
    "merge": _merge,
    "supervise": _supervise,
    "link": _link,
    "attach": _attach,
}


@staff_page("hotline.view_cases", "hotline.submit_own")
@require_POST
def case_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    """One workflow action on one case. Success: back to where it was started (``next``) with a message.
    Refusal: the case page again, with the message, what was typed, and nothing changed."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(action)
    user = actor(request)
    case = selectors.access_case(actor=user, case_id=case_id)
    try:
        if action == "reply" and request.POST.get("check") == "1":
            return _check_reply(request, user, case)
        message = handler(request, user, case)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        status = 403 if exc.code == ErrorCode.PERMISSION_DENIED else 422
        review = exc.review if isinstance(exc, ReviewFlagged) else None
        return _detail(request, user, case, failed=action, status=status, review=review)
    messages.success(request, message)
    return redirect(next_url(request, reverse("hotline:case_detail", kwargs={"case_id": case.pk})))


@staff_page("hotline.view_cases", "hotline.submit_own")
@require_GET
def attachment_file(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    """An attachment, only for those who may see its case (files are not served from a public folder)."""
    user = actor(request)
    case = selectors.access_case(actor=user, case_id=case_id)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("attachment")
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(False, attachment.name) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response  # type: ignore[return-value]  # FileResponse streams; Django treats it as a response
