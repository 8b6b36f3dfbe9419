"""Django settings, all read from the environment through :mod:`shizhi.config.env`."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from shizhi.config.env import load_config

CONFIG = load_config()
PACKAGE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts
CSRF_TRUSTED_ORIGINS = CONFIG.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shizhi.core",
    "shizhi.demo",
    "shizhi.cockpit",
    "shizhi.hotline",
    "shizhi.ai",
    "shizhi.warning",
    "shizhi.onething",
    "shizhi.sensing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shizhi.core.middleware.ApiErrorShapeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "shizhi.cockpit.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shizhi.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "shizhi.config.urls"
WSGI_APPLICATION = "shizhi.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shizhi.cockpit.context_processors.shell",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
if CONFIG.uses_sqlite:
    CONFIG.data_dir.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while a seed or import writes; IMMEDIATE avoids lock upgrades failing.
        # A checkpoint every 10,000 WAL pages (40 MB) rather than SQLite's 1,000: each intake dirties a page
        # per index, and checkpointing ten times less often halved the cost of a commit (shizhi bench hotline).
        # A 32 MB page cache per connection keeps the hot index pages of a million cases in memory.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA wal_autocheckpoint=10000; PRAGMA cache_size=-32000; PRAGMA temp_store=MEMORY;"
        ),
    }
    # Each server thread keeps its connection (and its page cache) between requests.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cockpit:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = CONFIG.language_code
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = CONFIG.data_dir / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves collected files from here in production
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = CONFIG.data_dir / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
if CONFIG.is_production:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"shizhi": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Shizhi's own settings (not from the environment: product defaults that a city may change in code or later
# in an admin page).
SHIZHI = {
    "MAP_TILE_URL": CONFIG.map_tile_url,
    "MAP_TILE_ATTRIBUTION": CONFIG.map_tile_attribution,
    # Office hours for "N working hours" deadlines (工作时间), local time.
    "WORK_HOURS": [("09:00", "12:00"), ("13:30", "17:30")],
    "REDIS_URL": CONFIG.redis_url,
    "MQTT_URL": CONFIG.mqtt_url,
}
