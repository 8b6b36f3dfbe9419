"""One typed reader for every setting that comes from the environment.

Everything the platform reads from ``SHIZHI_*`` variables goes through :func:`load_config`, so that the
defaults (the embedded profile: SQLite in the data dir, in-process tasks) and the checks for production
live in one place and can be tested without touching ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("embedded", "production")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _list(env: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Config:
    profile: str
    data_dir: Path
    database_url: str
    secret_key: str
    debug: bool
    allowed_hosts: list[str]
    redis_url: str
    mqtt_url: str
    time_zone: str = "Asia/Shanghai"
    language_code: str = "zh-hans"
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    require_services: bool = False
    csrf_trusted_origins: list[str] = field(default_factory=list)

    @property
    def is_production(self) -> bool:
        return self.profile == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _secret_key(env: Mapping[str, str], data_dir: Path, production: bool) -> str:
    key = env.get("SHIZHI_SECRET_KEY", "").strip()
    if key:
        if production and len(key) < 32:
            raise ConfigError("SHIZHI_SECRET_KEY must be at least 32 characters in production")
        return key
    if production:
        raise ConfigError("SHIZHI_SECRET_KEY is required in production (SHIZHI_PROFILE=production)")
    # Embedded profile: generate a key once and keep it in the data dir, so sessions survive restarts.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key, encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return key


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    profile = env.get("SHIZHI_PROFILE", "embedded").strip().lower() or "embedded"
    if profile not in PROFILES:
        raise ConfigError(f"SHIZHI_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}")
    production = profile == "production"
    data_dir = Path(env.get("SHIZHI_DATA_DIR", "./var")).expanduser().resolve()
    database_url = env.get("SHIZHI_DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'shizhi.sqlite3'}"
    if database_url.split(":", 1)[0] not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(
            f"SHIZHI_DATABASE_URL must be an sqlite:/// or postgres:// URL, not {database_url.split(':', 1)[0]!r}"
        )
    debug = _bool(env, "SHIZHI_DEBUG", False)
    if production and debug:
        raise ConfigError("SHIZHI_DEBUG must be off in production")
    default_hosts = [] if production else ["127.0.0.1", "localhost", "[::1]", "testserver"]
    allowed_hosts = _list(env, "SHIZHI_ALLOWED_HOSTS", default_hosts)
    if production and not allowed_hosts:
        raise ConfigError("SHIZHI_ALLOWED_HOSTS is required in production (comma-separated host names)")
    if production and database_url.startswith("sqlite:"):
        raise ConfigError("production needs SHIZHI_DATABASE_URL pointing at PostgreSQL")
    return Config(
        profile=profile,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_secret_key(env, data_dir, production),
        debug=debug,
        allowed_hosts=allowed_hosts,
        redis_url=env.get("SHIZHI_REDIS_URL", "redis://127.0.0.1:6379/0"),
        mqtt_url=env.get("SHIZHI_MQTT_URL", "mqtt://127.0.0.1:1883"),
        time_zone=env.get("SHIZHI_TIME_ZONE", "Asia/Shanghai"),
        language_code=env.get("SHIZHI_LANGUAGE", "zh-hans"),
        map_tile_url=env.get("SHIZHI_MAP_TILE_URL", ""),
        map_tile_attribution=env.get("SHIZHI_MAP_TILE_ATTRIBUTION", ""),
        require_services=_bool(env, "SHIZHI_REQUIRE_SERVICES", False),
        csrf_trusted_origins=_list(env, "SHIZHI_CSRF_TRUSTED_ORIGINS", []),
    )
