"""The servers the production profile uses are reachable and speak their protocols. Skipped with a reason when
a server is down, unless SHIZHI_REQUIRE_SERVICES=1 (CI), where a missing server fails the run."""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

from shizhi.conftest import require_service


def test_redis_answers_ping() -> None:
    url = urlparse(os.environ.get("SHIZHI_REDIS_URL", "redis://127.0.0.1:6379/0"))
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    require_service("Redis", host, port)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert s.recv(64) == b"+PONG\r\n"


def test_mqtt_broker_accepts_a_connection() -> None:
    url = urlparse(os.environ.get("SHIZHI_MQTT_URL", "mqtt://127.0.0.1:1883"))
    host, port = url.hostname or "127.0.0.1", url.port or 1883
    require_service("MQTT broker", host, port)
    client_id = b"shizhi-test"
    # MQTT 3.1.1 CONNECT: protocol "MQTT", level 4, clean session, keep-alive 10 s.
    variable = b"\x00\x04MQTT\x04\x02\x00\x0a"
    payload = len(client_id).to_bytes(2, "big") + client_id
    body = variable + payload
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(bytes([0x10, len(body)]) + body)
        assert s.recv(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
        s.sendall(b"\xe0\x00")  # DISCONNECT


@pytest.mark.django_db
def test_postgresql_when_configured() -> None:
    """In CI's PostgreSQL run the whole suite runs on PostgreSQL; this checks that it really does."""
    url = os.environ.get("SHIZHI_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        if os.environ.get("SHIZHI_REQUIRE_SERVICES") == "1":
            require_service("PostgreSQL", "127.0.0.1", 5432)
        pytest.skip("this run uses SQLite (SHIZHI_DATABASE_URL is not a PostgreSQL URL)")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW TIMEZONE")
        assert cursor.fetchone()[0] == "UTC"
