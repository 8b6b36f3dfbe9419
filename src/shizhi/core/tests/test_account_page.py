from typing import Any

import pytest
from django.test import Client

from shizhi.core import services
from shizhi.core.models import ApiToken, AuditEvent, Role
from shizhi.core.tests.factories import make_user

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_account_page_shows_profile_roles_and_creates_a_token_once() -> None:
    user = make_user("citizen1", (Role.CITIZEN, None, None), display_name="张三", mobile="13900000009")
    client = signed_in(user)
    page = client.get("/core/account/").content.decode()
    assert "张三" in page and "13900000009" in page and "市民 · 全市" in page
    resp = client.post("/core/account/", {"action": "create_token", "name": "我的脚本"})
    assert resp.status_code == 200
    token = ApiToken.objects.get(user=user)
    body = resp.content.decode()
    raw = body.split("<code>")[1].split("</code>")[0]
    assert raw.startswith("shz_") and services.token_authenticate(raw) == user
    assert token.name == "我的脚本"
    again = client.get("/core/account/").content.decode()
    assert raw not in again and token.prefix in again


def test_revoking_a_token_and_refusals() -> None:
    user = make_user("oper", (Role.OPERATOR, None, None))
    other = make_user("other", (Role.OPERATOR, None, None))
    theirs, _ = services.token_create(actor=other, user=other, name="theirs")
    mine, _ = services.token_create(actor=user, user=user, name="mine")
    client = signed_in(user)
    before = AuditEvent.objects.count()
    # Someone else's token: as if it did not exist; nothing changes.
    resp = client.post("/core/account/", {"action": "revoke_token", "token_id": str(theirs.pk)})
    assert resp.status_code == 200 and "令牌不存在或无权查看" in resp.content.decode()
    resp = client.post("/core/account/", {"action": "revoke_token", "token_id": "abc"})
    assert "令牌编号不正确" in resp.content.decode()
    resp = client.post("/core/account/", {"action": "create_token", "name": ""})
    assert "令牌名称不能为空" in resp.content.decode()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and AuditEvent.objects.count() == before
    resp = client.post("/core/account/", {"action": "revoke_token", "token_id": str(mine.pk)})
    assert resp.status_code == 302
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    assert "已撤销" in client.get("/core/account/").content.decode()


def test_account_page_needs_login() -> None:
    resp = Client().get("/core/account/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
