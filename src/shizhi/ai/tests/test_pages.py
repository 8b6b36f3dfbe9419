"""The registry pages (分类模型): the list with figures and override rates, one model's per-class table and
confusion-matrix heatmap data, activation (roll back) from the page, and 403 for anyone but an administrator."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from shizhi.ai.models import TrainedModel
from shizhi.ai.tests.factories import english_labels, train
from shizhi.core.models import AuditEvent, Role
from shizhi.core.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_vendor(monkeypatch: Any) -> None:
    monkeypatch.setattr("shizhi.cockpit.web.finders.find", lambda path: f"/fake/{path}")


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role, (role, None, None)))
    return client


def test_model_list_shows_every_version_with_its_figures(with_vendor: None) -> None:
    v1 = train().model
    train(data=english_labels())
    response = client_for(Role.ADMIN).get("/ai/models/")
    assert response.status_code == 200
    body = response.content.decode()
    rows = re.findall(r'<tr data-model="(\d+)">(.*?)</tr>', body, re.S)
    assert [int(pk) for pk, _ in rows] == list(
        TrainedModel.objects.order_by("-version").values_list("pk", flat=True)
    )
    first = dict(rows)[str(v1.pk)]
    assert "启用中" in first and f"{v1.macro_f1:.4f}" in first and '<td class="num">100</td>' in first
    assert "诉求分类改选率" in body
    nav = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', body, re.S)
    assert nav and "分类模型" in nav.group(1)


def test_model_page_has_the_per_class_table_and_the_heatmap_data(with_vendor: None) -> None:
    model = train().model
    body = client_for(Role.ADMIN).get(f"/ai/models/{model.pk}/").content.decode()
    assert 'data-ai-chart="confusion"' in body and "ai/models.js" in body
    chart = json.loads(
        re.findall(r'<script id="confusion-data" type="application/json">(.*?)</script>', body)[0]
    )
    cv = model.metrics["cv"]
    assert (
        chart["labels"] == ["供水", "噪音", "教育", "路灯"] and chart["matrix"] == cv["confusion"]["matrix"]
    )
    assert chart["words"] == {"truth": "真实类别", "predicted": "预测类别", "count": "条数"}
    table = re.search(r'<table class="data" id="per-class">(.*?)</table>', body, re.S)
    assert table and len(re.findall(r"<tr><td>", table.group(1))) == 4
    assert "启用此版本" not in body  # it is the active one


def test_activate_from_the_page(with_vendor: None) -> None:
    v1 = train().model
    v2 = train(data=english_labels()).model
    admin = client_for(Role.ADMIN)
    body = admin.get(f"/ai/models/{v2.pk}/").content.decode()
    assert "启用此版本" in body and "启用（回滚）" in body
    response = admin.post(f"/ai/models/{v2.pk}/activate/", follow=True)
    assert response.redirect_chain[-1][0] == f"/ai/models/{v2.pk}/"
    assert "已启用模型 msg 版本 2" in response.content.decode()
    assert list(TrainedModel.objects.filter(is_active=True).values_list("pk", flat=True)) == [v2.pk]
    assert AuditEvent.objects.filter(action="ai.model_activate", origin="web").count() == 1
    assert admin.get(f"/ai/models/{v1.pk}/activate/").status_code == 405


def test_pages_are_for_administrators_only() -> None:
    model = train().model
    operator = client_for(Role.OPERATOR)
    for url in ("/ai/models/", f"/ai/models/{model.pk}/"):
        assert operator.get(url).status_code == 403
    assert operator.post(f"/ai/models/{model.pk}/activate/").status_code == 403
    assert client_for(Role.ADMIN).get("/ai/models/999999/").status_code == 404
    assert Client().get("/ai/models/").status_code == 302  # to the login page
