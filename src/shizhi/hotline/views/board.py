"""The supervisor's board (督办考核): what is overdue, flagged or due soon, and the three rates (三率)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from shizhi.cockpit.selectors import parse_month
from shizhi.core.permissions import has_perm
from shizhi.hotline import page_selectors
from shizhi.hotline.models import SupervisionKind
from shizhi.hotline.views.common import actor, staff_page


@staff_page("hotline.view_rates", "hotline.supervise")
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    year, month = parse_month(request.GET.get("month"))
    user = actor(request)
    data = page_selectors.board(actor=user, month=year * 100 + month)
    today = timezone.localdate()
    # The month selector: the last two years, and the chosen month if it is older.
    months = [page_selectors.month_add(today.year * 100 + today.month, -i) for i in range(24)]
    if year * 100 + month not in months:
        months.insert(0, year * 100 + month)
    return render(
        request,
        "hotline/board.html",
        {
            **data,
            "year": year,
            "month_number": month,
            "months": [(f"{m // 100}-{m % 100:02d}", m // 100, m % 100) for m in months],
            "selected": f"{year}-{month:02d}",
            "charts": page_selectors.board_charts(data),
            "can_supervise": has_perm(user, "hotline.supervise"),
            "supervision_kinds": [
                (k, label) for k, label in SupervisionKind.choices if k != SupervisionKind.OVERDUE
            ],
            "now": timezone.now(),
        },
    )
