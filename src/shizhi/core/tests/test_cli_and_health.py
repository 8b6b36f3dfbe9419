import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from shizhi.core.models import ApiToken, AuditEvent, CalendarDay, Role, User
from shizhi.core.tests.factories import build_world

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_createuser_makes_the_first_admin() -> None:
    run("createuser", "root", "--role", "admin", "--password", "Very-secret-2026", "--display-name", "管理员")
    user = User.objects.get(username="root")
    assert user.check_password("Very-secret-2026") and user.is_staff and user.is_superuser
    assert list(user.role_assignments.values_list("role", flat=True)) == [Role.ADMIN]
    event = AuditEvent.objects.get(action="user.create")
    assert event.origin == "cli" and event.actor_label == "system"


def test_createuser_with_a_unit_role_and_its_errors() -> None:
    world = build_world()
    run("createuser", "handler", "--role", "unit_handler", "--unit", "cgj", "--password", "Very-secret-2026")
    assert User.objects.get(username="handler").role_assignments.get().unit == world.units["cgj"]
    count = User.objects.count()
    with pytest.raises(CommandError, match="单位编码 nope 不存在"):
        run("createuser", "hh2", "--role", "unit_handler", "--unit", "nope", "--password", "Very-secret-2026")
    with pytest.raises(CommandError, match="必须指定所属单位"):
        run("createuser", "hh3", "--role", "unit_handler", "--password", "Very-secret-2026")
    with pytest.raises(CommandError, match="用户名已被使用"):
        run("createuser", "handler", "--role", "citizen", "--password", "Very-secret-2026")
    assert User.objects.count() == count


def test_token_command_prints_a_working_token_once() -> None:
    run("createuser", "robot", "--role", "operator", "--password", "Very-secret-2026")
    raw = run("token", "create", "robot", "ci").strip()
    assert raw.startswith("shz_")
    assert not ApiToken.objects.filter(digest__contains=raw).exists()
    resp = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 200 and resp.json()["username"] == "robot"


def test_calendar_command() -> None:
    out = run("calendar", "show", "2026", "2")
    assert "2026-02-14 周六 上班 春节调休上班" in out
    assert "2026-02-16 周一 休息 春节" in out
    assert run("calendar", "deadline", "2026-09-30T16:00", "--working-days", "1").strip() == (
        "2026-10-08T23:59:59.999999+08:00"
    )
    run("calendar", "set", "2031-01-01", "--holiday", "--name", "元旦")
    assert CalendarDay.objects.get().name == "元旦"
    with pytest.raises(CommandError):
        run("calendar", "set", "2031-02-30", "--holiday")


def test_healthz_reports_the_database() -> None:
    resp = Client().get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["database"]["pending_migrations"] == 0


def test_openapi_lists_the_routes() -> None:
    resp = Client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for route in (
        "/api/v1/me",
        "/api/v1/areas",
        "/api/v1/areas/tree",
        "/api/v1/areas/locate",
        "/api/v1/units",
        "/api/v1/units/{unit_id}",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/calendar/deadline",
    ):
        assert route in paths, route
    assert Client().get("/api/v1/docs").status_code == 200


def test_the_shizhi_command_runs_from_any_folder(tmp_path) -> None:
    env = {"SHIZHI_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"}
    migrate = subprocess.run(
        [sys.executable, "-m", "shizhi", "migrate", "-v", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "var" / "shizhi.sqlite3").exists() and (tmp_path / "var" / "secret_key").exists()
    proc = subprocess.run(
        [sys.executable, "-m", "shizhi", "calendar", "deadline", "2026-02-13T17:00", "--working-hours", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2026-02-14T10:30:00+08:00"
    bad = subprocess.run(
        [sys.executable, "-m", "shizhi", "check"],
        cwd=tmp_path,
        env={
            **env,
            "SHIZHI_PROFILE": "production",
            "SHIZHI_ALLOWED_HOSTS": "gov.example.cn",
            "SHIZHI_DATABASE_URL": "postgres://shizhi@127.0.0.1:5432/shizhi",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "SHIZHI_SECRET_KEY" in bad.stderr
