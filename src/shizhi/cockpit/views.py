"""The city cockpit's pages (城市驾驶舱): thin, the numbers come from selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shizhi.cockpit.selectors import population_by_district
from shizhi.core.selectors import city_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cockpit/home.html",
        {"counts": city_counts(), "population_chart": population_by_district()},
    )
