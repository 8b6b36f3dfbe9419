"""English pages (英文界面): Chinese is the source language (the msgids), English comes from
``locale/en/LC_MESSAGES/django.po``, compiled into the shipped ``django.mo``.

A page is English only for whoever chose it with the switcher (the language cookie); everyone else, whatever
their browser asks for, gets Chinese. The API always answers in Chinese.
"""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from shizhi.cockpit.tests.conftest import CITY, COMMUNITY_JIANGJING, City
from shizhi.core.audit import audit_record
from shizhi.core.models import AuditEvent, Role, RoleAssignment, UnitContact

PACKAGE = Path(__file__).resolve().parents[2]
LOCALE = PACKAGE / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # Chinese characters and punctuation


def html(response: Any) -> str:
    return response.content.decode("utf-8")


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def main_nav(body: str) -> str:
    match = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', body, re.S)
    assert match, "no main navigation"
    return match.group(1)


def nav_texts(body: str) -> list[str]:
    return re.findall(r"<a [^>]*>([^<]+)</a>", main_nav(body))


@pytest.fixture
def with_vendor(monkeypatch: Any) -> None:
    """Pretend Leaflet and ECharts are installed, so that the map and chart markup is rendered."""
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")


# ------------------------------------------------------------------------------ English, when chosen

pytestmark = pytest.mark.django_db


def test_login_page_in_english(client: Client) -> None:
    body = html(english(client).get("/login/"))
    assert '<html lang="en">' in body
    assert "<title>Sign in · Shizhi Municipal Social Governance Platform</title>" in body
    assert '<label for="id_username">Username</label>' in body
    assert '<label for="id_password">Password</label>' in body
    assert '<button type="submit" class="btn block">Sign in</button>' in body
    for chinese in ("登录", "用户名", "密码", "市域社会治理平台"):
        assert chinese not in body


def test_wrong_password_message_in_english(city: City, client: Client) -> None:
    response = english(client).post("/login/", {"username": "admin1", "password": "wrong-password"})
    assert "Incorrect username or password. Please try again (passwords are case-sensitive)." in html(
        response
    )


def test_home_page_in_english(city: City, client_for: Any, with_vendor: None) -> None:
    body = html(english(client_for("admin")).get("/"))
    assert '<html lang="en">' in body
    assert nav_texts(body) == [
        "Home",
        "Administrative divisions",
        "Handling units",
        "Hotline ▾",
        "Intake",
        "Dispatch",
        "Cases",
        "Oversight",
        "Knowledge base",
        "Dispatch catalogue",
        "Get One Thing Done ▾",
        "Service guide",
        "My applications",
        "List management",
        "Standing promotion",
        "Classifier models",
        "Risk warning ▾",
        "Alert board",
        "Grid risk",
        "Device map",
        "Working-day calendar",
        "Audit log",
        "Administration",
    ]
    assert not CJK.search(main_nav(body))
    assert "System administrator" in body  # the user's role in the header
    assert "<h1>青岚市 · City dashboard</h1>" in body
    labels = re.findall(r'<div class="label">([^<]+)</div>', body)
    assert labels == [
        "Districts/Counties",
        "Streets/Townships",
        "Communities/Villages",
        "Grids",
        "Resident population",
        "Households",
        "Handling units",
        "Users",
    ]
    assert 'data-count="population" title="7,000 people">7,000<small>people</small>' in body
    assert 'data-count="households" title="2,500 households">2,500<small>households</small>' in body
    assert "Urban communities" in body and "Total resident population" in body
    assert "<th>District/County</th>" in body and "Urban population" in body
    assert "退出登录" not in body and '<button type="submit">Sign out</button>' in body


def test_home_chart_and_map_words_come_translated_for_the_scripts(
    city: City, client_for: Any, with_vendor: None
) -> None:
    body = html(english(client_for("citizen")).get("/"))
    chart = json.loads(
        re.findall(r'<script id="population-chart-data" type="application/json">(.*?)</script>', body)[0]
    )
    assert chart["labels"] == {"urban": "Urban", "rural": "Rural", "axis": "People", "people": "{n} people"}
    assert chart["districts"] == ["滨江区", "青山县"]  # names are data, never translated
    labels = json.loads(
        re.findall(r'<script id="city-map-labels" type="application/json">(.*?)</script>', body)[0]
    )
    assert labels["grid_worker"] == "Grid worker: {name}"
    assert labels["density"] == "Population density: {density} people/km²"
    assert not any(CJK.search(text) for text in labels.values())
    assert 'data-labels="city-map-labels"' in body


def test_big_numbers_are_shortened_in_the_page_language() -> None:
    from shizhi.cockpit.templatetags.cockpit import wan, wan_unit

    with translation.override("zh-hans"):
        assert (wan(12_345_678), wan_unit(12_345_678), wan(99_999), wan_unit(99_999)) == (
            "1,234.6",
            "万",
            "99,999",
            "",
        )
    with translation.override("en"):
        assert (wan(12_345_678), wan_unit(12_345_678)) == ("12.35", "million")
        assert (wan(345_678), wan_unit(345_678)) == ("345,678", "")


def test_area_page_in_english(city: City, client_for: Any, with_vendor: None) -> None:
    community = city.area(COMMUNITY_JIANGJING)
    body = html(english(client_for("citizen")).get(f"/core/areas/{community.pk}/"))
    crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', body, re.S)
    assert crumbs and re.findall(r">([^<>]+)</a>", crumbs.group(1))[0] == "Administrative divisions"
    assert '<p class="sub">Community/Village · Statistical division code 330902001001</p>' in body
    assert "<dt>Resident population</dt><dd>3,000 people</dd>" in body
    assert "<dt>Households</dt><dd>1,000 households</dd>" in body
    assert "<dt>Urban/rural</dt><dd>Urban (111)</dd>" in body
    assert "<h2>Grid map</h2>" in body
    assert '<span class="tag grey">Not assigned</span>' in body
    assert "<th>Grid code</th><th>Name</th><th>Grid worker</th>" in body
    assert "江景第一网格" in body  # data stays as it is
    assert not CJK.search(main_nav(body))


def test_city_page_in_english(city: City, client_for: Any, with_vendor: None) -> None:
    body = html(english(client_for("citizen")).get(f"/core/areas/{city.area(CITY).pk}/"))
    assert "<h2>District/County map</h2>" in body
    assert "<h2>Sub-divisions (District/County)</h2>" in body
    assert '<option value="density">Population density</option>' in body


def test_calendar_page_in_english(client_for: Any) -> None:
    body = html(english(client_for("citizen")).get("/core/calendar/", {"month": "2026-02"}))
    assert "<h1>Working-day calendar · February 2026</h1>" in body
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", body)
    assert headers == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    holiday = re.search(r'data-date="2026-02-16" data-kind="holiday"[^>]*>(.*?)</td>', body, re.S)
    assert holiday and '<span class="badge">Off</span>' in holiday.group(1)
    makeup = re.search(r'data-date="2026-02-14" data-kind="makeup"[^>]*>(.*?)</td>', body, re.S)
    assert makeup and '<span class="badge">Work</span>' in makeup.group(1)
    assert "Public holiday (Off)" in body and "Make-up working day (Work)" in body
    assert "‹ Previous month" in body and "Next month ›" in body
    assert not CJK.search(main_nav(body))


def test_calendar_warning_in_english(client_for: Any) -> None:
    body = html(english(client_for("citizen")).get("/core/calendar/", {"month": "2099-05"}))
    assert "The State Council's holiday schedule for 2099 has not been entered yet" in body


def test_refusal_and_error_pages_in_english(city: City, client_for: Any) -> None:
    response = english(client_for("citizen")).get("/core/audit/")
    assert response.status_code == 403
    body = html(response)
    assert "<h1>Access denied</h1>" in body
    assert "Only administrators and supervisors may view the audit log" in body
    assert '<html lang="en">' in body
    response = english(client_for("citizen")).get("/core/areas/999999/")
    assert response.status_code == 404 and "<h1>Page not found</h1>" in html(response)


def test_admin_in_english(city: City, client_for: Any) -> None:
    body = html(english(client_for("admin")).get("/admin/"))
    assert "Shizhi · Administration" in body
    for name in (
        "Administrative divisions",
        "Handling units",
        "Working-day calendar adjustments",
        "Audit events",
    ):
        assert name in body


# ------------------------------------------------------------------------------ Chinese, for everyone else


def test_pages_stay_chinese_for_an_english_browser(city: City, client_for: Any, client: Client) -> None:
    browser = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
    body = html(client.get("/login/", **browser))
    assert '<html lang="zh-hans">' in body
    assert '<label for="id_username">用户名</label>' in body and "Username" not in body
    user = client_for("admin")
    body = html(user.get("/", **browser))
    assert nav_texts(body) == [
        "首页",
        "行政区划",
        "承办单位",
        "接诉即办 ▾",
        "受理",
        "派单",
        "工单",
        "督办考核",
        "知识库",
        "派单目录",
        "高效办成一件事 ▾",
        "办事指南",
        "我的申请",
        "清单管理",
        "常态化推进",
        "分类模型",
        "风险预警 ▾",
        "预警看板",
        "网格风险",
        "设备地图",
        "工作日历",
        "审计日志",
        "系统管理",
    ]
    assert '<div class="label">区县</div>' in body and "Districts/Counties" not in body
    assert "<small>人</small>" in body
    body = html(user.get(f"/core/areas/{city.area(COMMUNITY_JIANGJING).pk}/", **browser))
    assert "<dt>常住人口</dt><dd>3,000 人</dd>" in body and "Resident population" not in body
    body = html(user.get("/core/calendar/", {"month": "2026-02"}, **browser))
    assert "<h1>工作日历 · 2026年2月</h1>" in body and "<th>周一</th>" in body


def test_an_unknown_language_cookie_means_chinese(client: Client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert '<html lang="zh-hans">' in html(client.get("/login/"))


def test_the_api_answers_in_chinese_even_when_english_was_chosen(city: City, client_for: Any) -> None:
    admin = english(client_for("admin"))
    unit = admin.get(f"/api/v1/units/{city.units['bj-cgj'].pk}").json()
    assert unit["kind_label"] == "职能部门"
    target = city.users["citizen"]
    response = admin.post(
        f"/api/v1/users/{target.pk}/roles", {"role": Role.UNIT_HANDLER}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["message"] == "角色“承办人”必须指定所属单位"  # not half translated


def test_audit_records_are_written_in_the_platform_language(city: City) -> None:
    assignment = RoleAssignment.objects.get(user=city.users["admin"])
    with translation.override("en"):
        assert "System administrator" in str(assignment)  # what an English admin page shows
        event = audit_record(actor=None, action="test.repr", obj=assignment)
    assert AuditEvent.objects.get(pk=event.pk).object_repr == "系统管理员甲 · 系统管理员 · 全市"


def test_admin_audit_keys_for_inlines_are_in_the_platform_language() -> None:
    from shizhi.core.admin import formset_changes

    class Formset:
        model = UnitContact
        new_objects = ["新联系人"]
        changed_objects: list[Any] = []
        deleted_objects: list[Any] = []

    with translation.override("en"):
        assert formset_changes(Formset()) == {
            "单位联系人": {"added": ["新联系人"], "changed": [], "deleted": []}
        }


# ------------------------------------------------------------------------------ the catalogue


def read_po(path: Path) -> list[dict[str, Any]]:
    """Entries of a .po file: ``{"ctxt", "id", "plural", "str": {index: text}, "flags"}`` (header left out)."""
    entries: list[dict[str, Any]] = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict[str, Any] = {"ctxt": None, "id": None, "plural": None, "str": {}, "flags": set()}
        field: tuple[str, int | None] | None = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
                continue
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (".*")$', line)
            if match:
                keyword, index, text = match.group(1), match.group(2), json.loads(match.group(3))
                field = (keyword, int(index) if index is not None else None)
            elif line.startswith('"') and field is not None:
                text = json.loads(line)
            else:
                raise AssertionError(f"unexpected line in {path.name}: {line!r}")
            keyword, index = field
            if keyword == "msgctxt":
                entry["ctxt"] = (entry["ctxt"] or "") + text
            elif keyword == "msgid":
                entry["id"] = (entry["id"] or "") + text
            elif keyword == "msgid_plural":
                entry["plural"] = (entry["plural"] or "") + text
            else:
                key = index if index is not None else 0
                entry["str"][key] = entry["str"].get(key, "") + text
        if entry["id"]:
            entries.append(entry)
    return entries


PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+(?::[^}]*)?\}")


def test_catalogue_is_complete() -> None:
    entries = read_po(LOCALE / "django.po")
    assert len(entries) > 200
    header = (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n")[0]
    assert "fuzzy" not in header
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["id"]
        forms = (
            [entry["str"].get(0, "")]
            if entry["plural"] is None
            else [entry["str"].get(i, "") for i in (0, 1)]
        )
        for text in forms:
            assert text.strip(), f"no translation for {entry['id']!r}"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(entry["id"])), (
                f"placeholders differ in {entry['id']!r}"
            )


def test_compiled_catalogue_matches_the_po_file() -> None:
    """The shipped .mo has every translation of the .po exactly: catches a forgotten compilemessages."""
    with (LOCALE / "django.mo").open("rb") as fp:
        mo = gettext.GNUTranslations(fp)
    for entry in read_po(LOCALE / "django.po"):
        ctxt, msgid = entry["ctxt"], entry["id"]
        if entry["plural"] is None:
            got = mo.pgettext(ctxt, msgid) if ctxt else mo.gettext(msgid)
            assert got == entry["str"][0], f"{msgid!r}: .mo has {got!r}, run compilemessages"
        else:
            for n, index in ((1, 0), (2, 1)):
                got = (
                    mo.npgettext(ctxt, msgid, entry["plural"], n)
                    if ctxt
                    else mo.ngettext(msgid, entry["plural"], n)
                )
                assert got == entry["str"][index], f"{msgid!r}: .mo has {got!r}, run compilemessages"


# ------------------------------------------------------------------------------ nothing left hard-coded

TEMPLATE_DIRS = [PACKAGE / "templates", PACKAGE / "cockpit" / "templates", PACKAGE / "core" / "templates"]
# Language names are shown in their own language, whatever the page's language.
ALLOWED_CHINESE = ('aria-label="语言 Language"', ">中文</button>")
TRANSLATED = re.compile(
    r"{%\s*translate\b.*?%}|{%\s*blocktranslate\b.*?%}.*?{%\s*endblocktranslate\s*%}|{%\s*comment\s*%}.*?"
    r"{%\s*endcomment\s*%}|{#.*?#}",
    re.S,
)


@pytest.mark.parametrize(
    "template", sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html")), ids=lambda p: p.name
)
def test_templates_have_no_untranslated_chinese(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    for allowed in ALLOWED_CHINESE:
        text = text.replace(allowed, "")
    leftover = [line.strip() for line in TRANSLATED.sub("", text).splitlines() if CJK.search(line)]
    assert leftover == []


@pytest.mark.parametrize("script", sorted((PACKAGE / "static" / "shizhi").glob("*.js")), ids=lambda p: p.name)
def test_scripts_have_no_chinese_outside_comments(script: Path) -> None:
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", script.read_text(encoding="utf-8"), flags=re.S)
    assert not CJK.search(code)
