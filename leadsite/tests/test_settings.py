"""The production settings: what check --deploy passes and what stops the site starting."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings


def run_check_deploy(**env):
    # A deployment's shell: none of the test session's own settings.
    dropped = ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("LEADS_")}
    environment.update(DJANGO_SETTINGS_MODULE="leadsite.settings.production", DATABASE_URL="sqlite:///:memory:", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )


DEPLOYED = {"SECRET_KEY": "k" * 10 + "-random-" + "x9Y2" * 12, "ALLOWED_HOSTS": "leads.example.com"}
HTTP_DIALER = {
    "LEADS_DIALER_BACKEND": "http",
    "LEADS_DIALER_URL": "https://platform.example.com/calls",
    "LEADS_WEBHOOK_SECRET": "whsec_" + "c2VjcmV0LWtleS1vZi0zMi1yYW5kb20tYnl0ZXMtISE=",
}


@pytest.mark.parametrize("dialer", [HTTP_DIALER, {"LEADS_DIALER_BACKEND": "simulated"}])
def test_production_settings_pass_check_deploy(dialer):
    result = run_check_deploy(**DEPLOYED, **dialer)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "leads.example.com"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "s" * 60}, "ALLOWED_HOSTS must list"),
        ({"SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "x", "SECURE_SSL_REDIRECT": "perhaps"}, "must be a boolean"),
        # No fallback to the simulated backend, which would invent outcomes for real leads.
        (DEPLOYED, "LEADS_DIALER_BACKEND must be set"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": ""}, "LEADS_WEBHOOK_SECRET must be set"),
        (
            {
                **DEPLOYED,
                **HTTP_DIALER,
                "LEADS_DIALER_BACKEND": "leads.dialer.backends.http.HttpBackend",
                "LEADS_WEBHOOK_SECRET": "",
            },
            "LEADS_WEBHOOK_SECRET must be set",
        ),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_IMPORT_BATCH_ROWS": "0"}, "leadsite.E004"),
        # The three: every webhook 500, every webhook 401, a 1-byte key.
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "whsec_"}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "notbase64"}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "whsec_eA=="}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_DIALER_URL": "platform.example.com"}, "leadsite.E002"),
        ({**DEPLOYED, **HTTP_DIALER, "CONN_MAX_AGE": "a minute"}, "CONN_MAX_AGE must be a whole number"),
        ({**DEPLOYED, **HTTP_DIALER, "CONN_MAX_AGE": "-1"}, "CONN_MAX_AGE must be at least 0"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(env, message):
    result = run_check_deploy(**env)
    assert result.returncode != 0
    assert message in result.stderr


def database_settings(module: str, **env) -> dict:
    """The default database's settings as ``module`` makes them in a fresh process."""
    environment = {k: v for k, v in os.environ.items() if k != "CONN_MAX_AGE" and not k.startswith("LEADS_")}
    environment.update(DJANGO_SETTINGS_MODULE=module, DATABASE_URL="postgres://u@db.example.com/leads", **env)
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; print(json.dumps([db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return dict(zip(("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"), json.loads(result.stdout), strict=True))


@pytest.mark.parametrize(
    ("module", "env", "expected"),
    [
        # Production keeps each thread's connection a minute, checked before reuse.
        ("leadsite.settings.production", {**DEPLOYED, **HTTP_DIALER}, 60),
        ("leadsite.settings.production", {**DEPLOYED, **HTTP_DIALER, "CONN_MAX_AGE": "0"}, 0),
        ("leadsite.settings.production", {**DEPLOYED, **HTTP_DIALER, "CONN_MAX_AGE": "300"}, 300),
        # Development closes it after each request, unless told otherwise.
        ("leadsite.settings.dev", {}, 0),
        ("leadsite.settings.dev", {"CONN_MAX_AGE": "60"}, 60),
    ],
)
def test_persistent_database_connections(module, env, expected):
    assert database_settings(module, **env) == {"CONN_MAX_AGE": expected, "CONN_HEALTH_CHECKS": True}
