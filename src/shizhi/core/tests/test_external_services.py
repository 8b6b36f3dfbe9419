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
def test_postgresql_answers() -> None:
    """In CI's PostgreSQL run the whole suite runs on PostgreSQL: check that it really does. In the SQLite run,
    check that the server the production profile needs is there (SHIZHI_TEST_POSTGRES_URL)."""
    url = os.environ.get("SHIZHI_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        assert connection.vendor == "postgresql"
        with connection.cursor() as cursor:
            cursor.execute("SHOW TIMEZONE")
            assert cursor.fetchone()[0] == "UTC"
        return
    import psycopg

    server = os.environ.get("SHIZHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    parsed = urlparse(server)
    require_service("PostgreSQL", parsed.hostname or "127.0.0.1", parsed.port or 5432)
    try:
        with psycopg.connect(server, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
    except psycopg.OperationalError as exc:
        if os.environ.get("SHIZHI_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"PostgreSQL refused the test connection ({exc}); set SHIZHI_TEST_POSTGRES_URL")
    assert version is not None and int(version[0]) >= 120000
