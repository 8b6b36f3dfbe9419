"""Routes of the Open311 GeoReport v2 endpoint, included at /open311/v2/ (see shizhi.hotline.open311)."""

from django.urls import re_path

from shizhi.hotline import open311

app_name = "open311"

# ``fmt`` is any extension, so that an unsupported one gets the spec's 404 rather than some other page.
_FMT = r"\.(?P<fmt>[^./]+)$"

urlpatterns = [
    re_path(r"^discovery" + _FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + _FMT, open311.services, name="services"),
    re_path(r"^services/(?P<code>[^/]+)" + _FMT, open311.service_definition, name="service-definition"),
    re_path(r"^requests" + _FMT, open311.requests, name="requests"),
    re_path(r"^requests/(?P<request_id>[^/]+)" + _FMT, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token_id>[^/]+)" + _FMT, open311.token, name="token"),
    re_path(r"^(?P<path>.*)$", open311.not_found, name="not-found"),
]
