"""The knowledge base (知识库) and the dispatch catalogue (派单目录): everyone on a case may read them; the
people who keep them may change them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shizhi.core.errors import ApplicationError, NotFound, ValidationFailed
from shizhi.core.models import Area, AreaLevel
from shizhi.core.permissions import has_perm
from shizhi.hotline import page_selectors, selectors, services
from shizhi.hotline.models import Category, DispatchRule, KnowledgeArticle
from shizhi.hotline.views.common import actor, staff_page, text, window

# ---------------------------------------------------------------------------------------------- knowledge base


@staff_page("hotline.view_cases")
@require_GET
def knowledge(request: HttpRequest) -> HttpResponse:
    """Search the answers (Chinese, by character bigrams); without a query the most used come first."""
    q = request.GET.get("q", "").strip()[:200]
    manage = has_perm(request.user, "hotline.manage_knowledge")
    hits: list[tuple[float | None, KnowledgeArticle]] = []
    page = None
    if q:
        hits = list(selectors.knowledge_search(q, limit=30, include_unpublished=manage))
    else:
        qs = KnowledgeArticle.objects.select_related("category").order_by("-times_used", "-updated_at", "-id")
        page = window(request, qs if manage else qs.filter(is_published=True), per_page=30)
        hits = [(None, a) for a in page.items]
    return render(request, "hotline/knowledge.html", {"q": q, "hits": hits, "page": page, "manage": manage})


def _article_values(data: Any) -> dict[str, Any]:
    code = text(data, "category", 32)
    category = Category.objects.filter(code=code).first() if code else None
    if code and category is None:
        raise ValidationFailed(gettext("诉求分类不存在"), details={"field": "category"})
    return {
        "title": text(data, "title", 400),
        "question": text(data, "question", 8000),
        "answer": text(data, "answer", 16000),
        "keywords": text(data, "keywords", 400),
        "source": text(data, "source", 400),
        "category": category,
        "is_published": data.get("is_published") == "1",
    }


@staff_page("hotline.manage_knowledge")
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, article_id: int | None = None) -> HttpResponse:
    article = services.knowledge_get(article_id) if article_id is not None else None
    if article is not None:
        values: dict[str, Any] = {
            "title": article.title,
            "question": article.question,
            "answer": article.answer,
            "keywords": article.keywords,
            "source": article.source,
            "category": article.category.code if article.category else "",
            "is_published": "1" if article.is_published else "",
        }
    else:
        values = {"is_published": "1"}
    if request.method == "POST":
        values = request.POST.dict()
        try:
            saved = services.knowledge_save(
                actor=actor(request), article=article, **_article_values(request.POST)
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("知识库条目“%(title)s”已保存") % {"title": saved.title})
            return redirect(f"{reverse('hotline:knowledge')}?{urlencode({'q': saved.title})}")
    return render(
        request,
        "hotline/knowledge_edit.html",
        {"article": article, "values": values, "groups": page_selectors.category_groups()},
    )


# ---------------------------------------------------------------------------------------------- catalogue


@staff_page("hotline.view_cases", "hotline.manage_catalogue")
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """The category tree (诉求分类) and the dispatch catalogue (派单目录) that names a unit for each."""
    rules = list(
        DispatchRule.objects.select_related("category", "area", "unit").order_by("category__path", "id")
    )
    by_category: dict[int, list[DispatchRule]] = {}
    for rule in rules:
        by_category.setdefault(rule.category_id, []).append(rule)
    categories = list(Category.objects.order_by("path"))
    return render(
        request,
        "hotline/catalogue.html",
        {
            "rows": [(c, by_category.get(c.pk, [])) for c in categories],
            "rules": rules,
            "manage": has_perm(request.user, "hotline.manage_catalogue"),
            "categories": categories,
            "areas": Area.objects.filter(level__in=[AreaLevel.DISTRICT, AreaLevel.STREET]).order_by("path"),
            "units": page_selectors.active_units(),
        },
    )


@staff_page("hotline.manage_catalogue")
@require_POST
def rule_create(request: HttpRequest) -> HttpResponse:
    try:
        category = Category.objects.filter(code=text(request.POST, "category", 32)).first()
        if category is None:
            raise ValidationFailed(gettext("请选择诉求分类"), details={"field": "category"})
        area_id = text(request.POST, "area", 12)
        area = Area.objects.filter(pk=int(area_id)).first() if area_id.isdigit() else None
        to_street = request.POST.get("to_street") == "1"
        unit_text = text(request.POST, "unit", 200)
        units = page_selectors.resolve_units(unit_text, field="unit") if unit_text and not to_street else []
        services.dispatch_rule_create(
            actor=actor(request),
            category=category,
            area=area,
            unit=units[0] if units else None,
            to_street=to_street,
            note=text(request.POST, "note", 200),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("已新增派单规则：%(category)s") % {"category": category.full_name})
    return redirect("hotline:catalogue")


@staff_page("hotline.manage_catalogue")
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = DispatchRule.objects.select_related("category").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(gettext("派单规则"))
    name = rule.category.full_name
    services.dispatch_rule_delete(actor=actor(request), rule=rule)
    messages.success(request, gettext("已删除派单规则：%(category)s") % {"category": name})
    return redirect("hotline:catalogue")
