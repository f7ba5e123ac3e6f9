"""Django settings, read from the environment so that one command can start the app.

* ``WAVEUNET_WEB_DATA``: the private data folder (database, secret key, every user's files);
  default ``~/.local/share/waveunet-web``. Nothing in it is served as a public URL.
* ``WAVEUNET_WEB_MODELS``: folder of ``*.ckpt`` checkpoints offered to users (default: the
  ``make demo`` runs, ``runs/demo/lightning_logs/version_N/checkpoints``).
* ``DJANGO_SECRET_KEY``: the secret key; without it, the key kept in ``DATA/secret_key``
  (``waveunet web`` writes one on first start).
* ``DATABASE_URL``: ``postgres://user:password@host:5432/name`` to use PostgreSQL (several
  workers, several machines); default SQLite in the data folder.
* ``WAVEUNET_WEB_HOSTS``: comma-separated allowed host names (default: loopback only).
* Limits (defaults in brackets): ``WAVEUNET_WEB_MAX_UPLOAD_MB`` [200], ``WAVEUNET_WEB_MAX_SECONDS``
  [900], ``WAVEUNET_WEB_QUOTA_MB`` [4000], ``WAVEUNET_WEB_MAX_QUEUED`` [3],
  ``WAVEUNET_WEB_RETENTION_DAYS`` [30], ``WAVEUNET_WEB_STALE_SECONDS`` [300].

Importing this module writes nothing (tests import it).
"""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

DATA_DIR = Path(os.environ.get("WAVEUNET_WEB_DATA") or Path.home() / ".local" / "share" / "waveunet-web")
MODELS_DIR = os.environ.get("WAVEUNET_WEB_MODELS") or None  # None: look for the demo run


def _secret_key() -> str:
    """The environment's key, else the one kept in the data folder, else a fresh one for
    this process only (sessions then end with it; ``waveunet web`` always writes the file)."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    kept = DATA_DIR / "secret_key"
    if kept.is_file():
        return kept.read_text().strip()
    return secrets.token_urlsafe(50)


def _database(url: str | None) -> dict:
    """Django's DATABASES entry for ``DATABASE_URL`` (PostgreSQL), or SQLite in the data folder."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # WAL: the page keeps reading while the worker writes progress; IMMEDIATE takes
            # the write lock at the start of a transaction, so two writers wait instead of failing
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must start with postgres:// or postgresql://, got {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("WAVEUNET_WEB_DEBUG") == "1"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("WAVEUNET_WEB_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "waveunet_lit.web.apps.WebConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "waveunet_lit.web.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "waveunet_lit.web.wsgi.application"
DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
STATIC_URL = "static/"

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_SAMESITE = "Lax"

# Uploads: file data goes to a temporary file from the first byte (our handler also stops at
# the size cap); DATA_UPLOAD_MAX_MEMORY_SIZE does not count file data, so it cannot cap it.
FILE_UPLOAD_MAX_MEMORY_SIZE = 0

WAVEUNET_MAX_UPLOAD_BYTES = int(_number("WAVEUNET_WEB_MAX_UPLOAD_MB", 200) * 2**20)
WAVEUNET_MAX_SECONDS = _number("WAVEUNET_WEB_MAX_SECONDS", 900)
WAVEUNET_MIN_SECONDS = 1.0
WAVEUNET_MAX_CHANNELS = 2
WAVEUNET_QUOTA_BYTES = int(_number("WAVEUNET_WEB_QUOTA_MB", 4000) * 2**20)
WAVEUNET_MAX_QUEUED = int(_number("WAVEUNET_WEB_MAX_QUEUED", 3))
WAVEUNET_RETENTION_DAYS = _number("WAVEUNET_WEB_RETENTION_DAYS", 30)
WAVEUNET_STALE_SECONDS = _number("WAVEUNET_WEB_STALE_SECONDS", 300)
WAVEUNET_MAX_SHIFTS = 4
