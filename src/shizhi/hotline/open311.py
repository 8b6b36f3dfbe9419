"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/, so that existing Open311
clients (city apps, FixMyStreet, SeeClickFix-style reporters) can submit and follow hotline requests.

    GET  discovery.{fmt}                   the service discovery document
    GET  services.{fmt}                    active categories (诉求分类) as services
    GET  services/{service_code}.{fmt}     a service definition (no extra attributes: metadata is false)
    POST requests.{fmt}                    submit a request (api_key required); the case number comes back at once
    GET  requests.{fmt}                    requests, filtered (last 90 days, at most 1000)
    GET  requests/{service_request_id}.{fmt}
    GET  tokens/{token}.{fmt}              the token is the case number itself (services are "realtime")

``fmt`` is ``json`` or ``xml``; any other extension is a 404. Errors are the spec's list, ``[{"code", "description"}]``
or ``<errors><error>…``, with status 400, 403 or 404 (405 for a wrong method). Shizhi serves one jurisdiction:
``jurisdiction_id`` is accepted and ignored. Plain Django views: the spec's formats are not ninja's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from shizhi.core.errors import ApplicationError
from shizhi.hotline import open311_data as data
from shizhi.hotline.open311_format import (
    FORMATS,
    Open311Error,
    from_application_error,
    render,
    render_error,
)
from shizhi.hotline.services.open311keys import open311_case_create, open311_key_authenticate

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-27T00:00:00+08:00"  # the last change of this endpoint's behaviour
DEFAULT_CONTACT = "市民服务热线（12345）平台管理员"
DEFAULT_KEY_SERVICE = (
    "提交诉求需要api_key，请联系平台管理员申请（shizhi open311 key create 名称）；查询无需密钥。"
)

View = Callable[..., HttpResponse]


def open311_endpoint(*methods: str) -> Callable[[View], View]:
    """Check the format extension and the method; turn every refusal into the spec's error list."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
            allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
            try:
                if fmt not in FORMATS:
                    raise Open311Error(404, f"format {fmt[:16]} is not supported: use json or xml")
                if request.method not in allowed:
                    response = render_error(
                        fmt, Open311Error(405, f"method {request.method} is not allowed here")
                    )
                    response["Allow"] = ", ".join(sorted(allowed))
                    return response
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                return render_error(fmt, exc)
            except ApplicationError as exc:
                return render_error(fmt, from_application_error(exc))

        return wrapper

    return decorate


def _params(request: HttpRequest) -> dict[str, str]:
    """The query string, overlaid (POST) with the form-encoded body the spec prescribes, or a JSON object."""
    params = request.GET.dict()
    if request.method != "POST":
        return params
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (UnicodeDecodeError, ValueError):
            raise Open311Error(400, "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Open311Error(400, "the JSON body must be an object")
        for name, value in body.items():
            if isinstance(value, dict | list):
                raise Open311Error(400, f"{str(name)[:32]} must be a single value")
            params[str(name)] = "" if value is None else str(value)
        return params
    params.update(request.POST.dict())
    return params


@open311_endpoint("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri(request.path.rsplit("/", 1)[0])
    conf = getattr(settings, "SHIZHI", {})
    document = {
        "changeset": CHANGESET,
        "contact": conf.get("OPEN311_CONTACT", DEFAULT_CONTACT),
        "key_service": conf.get("OPEN311_KEY_SERVICE", DEFAULT_KEY_SERVICE),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, document, root="discovery")


@open311_endpoint("GET")
def services(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return render(fmt, data.service_list(), root="services", item="service")


@open311_endpoint("GET")
def service_definition(request: HttpRequest, code: str, *, fmt: str) -> HttpResponse:
    return render(fmt, data.service_definition(code), root="service_definition")


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    params = _params(request)
    raw_key = (params.get("api_key") or "").strip()
    if not raw_key:
        raise Open311Error(403, "api_key was not provided")
    key = open311_key_authenticate(raw_key)
    if key is None:
        raise Open311Error(403, "api_key is invalid or has been revoked")
    case_in, extras = data.submission_from_params(params)
    case = open311_case_create(key=key, data=case_in, extras=extras)
    created = {
        "service_request_id": case.number,
        "service_notice": f"诉求已受理。{data.service_notice(case)}",
        "account_id": None,  # Shizhi keeps no accounts for Open311 clients' users
    }
    return render(fmt, [created], root="service_requests", item="request")


@csrf_exempt  # a machine-to-machine endpoint authenticated by api_key, never by a browser session
@open311_endpoint("GET", "POST")
def requests(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    query = data.parse_request_query(request.GET.dict())
    rows = [data.request_dict(case) for case in data.find_requests(query)]
    return render(fmt, rows, root="service_requests", item="request")


@open311_endpoint("GET")
def request_detail(request: HttpRequest, request_id: str, *, fmt: str) -> HttpResponse:
    case = data.find_request(request_id)
    return render(fmt, [data.request_dict(case)], root="service_requests", item="request")


@open311_endpoint("GET")
def token(request: HttpRequest, token_id: str, *, fmt: str) -> HttpResponse:
    """Shizhi answers every POST with its service_request_id, so a token is only ever the case number: it
    resolves to itself, for clients that follow the token flow anyway."""
    try:
        case = data.find_request(token_id)
    except Open311Error:
        raise Open311Error(404, f"token {token_id[:32]} was not found") from None
    return render(
        fmt,
        [{"service_request_id": case.number, "token": case.number}],
        root="service_requests",
        item="request",
    )


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Anything else under /open311/v2/: the spec's 404, in JSON when the path asks for it, else XML."""
    fmt = "json" if path.endswith(".json") else "xml"
    return render_error(fmt, Open311Error(404, "no such Open311 resource"))
