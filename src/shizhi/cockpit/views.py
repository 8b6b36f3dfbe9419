from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shizhi.core.selectors import city_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "cockpit/home.html", {"counts": city_counts()})
