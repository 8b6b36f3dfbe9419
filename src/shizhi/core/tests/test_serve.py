"""``shizhi serve`` runs the platform under waitress in one process: pages, the API's errors and static files."""

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shizhi.core.benchmarks import free_port, wait_for_port


@pytest.mark.slow
def test_serve_answers_health_api_errors_and_keeps_connections_alive(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHIZHI_DATA_DIR": str(tmp_path),
        "SHIZHI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
    }
    subprocess.run([sys.executable, "-m", "shizhi", "migrate", "-v0"], env=env, check=True, timeout=120)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shizhi", "serve", "--port", str(port), "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for_port(port, 60, alive=lambda: proc.poll() is None), "shizhi serve did not start"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200 and body["database"]["status"] == "ok"
        assert resp.getheader("Server") == "shizhi"
        # Same connection (HTTP/1.1 keep-alive): an unknown API route gets the platform's error shape.
        conn.request("GET", "/api/v1/no-such-route")
        resp = conn.getresponse()
        assert resp.status == 404 and json.loads(resp.read())["code"] == "not_found"
        conn.request("POST", "/api/v1/cases", body="{}", headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == 401 and json.loads(data)["code"] == "not_authenticated", data
        conn.request("GET", "/login/")
        resp = conn.getresponse()
        assert resp.status == 200 and "登录" in resp.read().decode()
        conn.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "waitress 2 线程" in out


def test_serve_refuses_bad_options() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="端口"):
        call_command("serve", port=70000)
    with pytest.raises(CommandError, match="线程数"):
        call_command("serve", threads=0)
