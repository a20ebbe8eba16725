"""pytest: the database comes from DATABASE_URL (PostgreSQL in CI) or SQLite."""

from .base import *  # noqa: F403
from .base import env_bool

SECRET_KEY = "test-only-key"
# Off, as in production; DEBUG=1 runs the suite as `make run` has it (make test runs
# both). pytest.ini's django_debug_mode = keep lets pytest-django leave it as set here,
# and the processes tests start (dialers, workers) inherit the same environment.
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline in tests unless a test chooses the database backend itself.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
