from pathlib import Path

import pytest

from shizhi.config.env import ConfigError, load_config


def test_embedded_defaults(tmp_path: Path) -> None:
    cfg = load_config({"SHIZHI_DATA_DIR": str(tmp_path)})
    assert cfg.profile == "embedded"
    assert cfg.database_url == f"sqlite:///{tmp_path / 'shizhi.sqlite3'}"
    assert cfg.debug is False
    assert cfg.time_zone == "Asia/Shanghai"
    assert cfg.language_code == "zh-hans"
    assert "127.0.0.1" in cfg.allowed_hosts
    assert cfg.redis_url == "redis://127.0.0.1:6379/0"
    assert cfg.mqtt_url == "mqtt://127.0.0.1:1883"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_config({"SHIZHI_DATA_DIR": str(tmp_path)}).secret_key
    second = load_config({"SHIZHI_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert (
        load_config({"SHIZHI_DATA_DIR": str(tmp_path), "SHIZHI_SECRET_KEY": "x" * 40}).secret_key == "x" * 40
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {
        "SHIZHI_DATA_DIR": str(tmp_path),
        "SHIZHI_PROFILE": "production",
        "SHIZHI_DATABASE_URL": "postgres://u@db/shizhi",
        "SHIZHI_ALLOWED_HOSTS": "gov.example.cn",
    }
    with pytest.raises(ConfigError, match="SHIZHI_SECRET_KEY"):
        load_config(env)
    assert not (tmp_path / "secret_key").exists()
    cfg = load_config({**env, "SHIZHI_SECRET_KEY": "k" * 50})
    assert cfg.is_production and cfg.allowed_hosts == ["gov.example.cn"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHIZHI_DEBUG": "maybe"}, "SHIZHI_DEBUG"),
        ({"SHIZHI_PROFILE": "cloud"}, "SHIZHI_PROFILE"),
        ({"SHIZHI_DATABASE_URL": "mysql://x/y"}, "SHIZHI_DATABASE_URL"),
        (
            {"SHIZHI_PROFILE": "production", "SHIZHI_SECRET_KEY": "k" * 50, "SHIZHI_ALLOWED_HOSTS": "a"},
            "PostgreSQL",
        ),
        (
            {
                "SHIZHI_PROFILE": "production",
                "SHIZHI_SECRET_KEY": "k" * 50,
                "SHIZHI_DATABASE_URL": "postgres://u@db/x",
            },
            "SHIZHI_ALLOWED_HOSTS",
        ),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"SHIZHI_DATA_DIR": str(tmp_path), **env})


def test_lists_and_booleans(tmp_path: Path) -> None:
    cfg = load_config(
        {
            "SHIZHI_DATA_DIR": str(tmp_path),
            "SHIZHI_DEBUG": "yes",
            "SHIZHI_ALLOWED_HOSTS": " a.cn, b.cn ,",
            "SHIZHI_REQUIRE_SERVICES": "1",
        }
    )
    assert cfg.debug is True and cfg.allowed_hosts == ["a.cn", "b.cn"] and cfg.require_services is True
