import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from campaigns import services
from campaigns.models import Assistant, Campaign
from campaigns.tests.factories import make_campaign
from leads.models import Call, Lead, LeadStatus, StatusChange
from leads.tests.factories import make_lead


@pytest.mark.django_db
def test_seed_demo_makes_leads_in_every_manual_status_once():
    call_command("seed_demo", "--once", stdout=io.StringIO())
    call_command("seed_demo", "--once", stdout=io.StringIO())
    assert Assistant.objects.count() == 1
    assert Campaign.objects.count() == 2
    assert Lead.objects.count() == 300
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert statuses >= {
        LeadStatus.CREATED,
        LeadStatus.SCHEDULED,
        LeadStatus.RESCHEDULED,
        LeadStatus.REACHED_MAX_RETRIES,
        LeadStatus.COMPLETED,
        LeadStatus.BLACKLISTED,
    }
    # Every status but the first came through a transition, so it has its audit row.
    assert StatusChange.objects.values("lead").distinct().count() == Lead.objects.exclude(status="created").count()


@pytest.mark.django_db
def test_ensure_admin_creates_the_user_once_and_prints_the_login(tmp_path, capsys):
    settings.BASE_DIR, base = tmp_path, settings.BASE_DIR
    try:
        call_command("ensure_admin")
        first = capsys.readouterr().out
        call_command("ensure_admin")
        second = capsys.readouterr().out
    finally:
        settings.BASE_DIR = base
    password = (tmp_path / ".admin-password").read_text().strip()
    assert f"'admin' with password '{password}'" in first
    assert first == second
    assert get_user_model().objects.get(username="admin").check_password(password)


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
        # The three: every webhook 500, every webhook 401, a 1-byte key.
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "whsec_"}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "notbase64"}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_WEBHOOK_SECRET": "whsec_eA=="}, "leadsite.E001"),
        ({**DEPLOYED, **HTTP_DIALER, "LEADS_DIALER_URL": "platform.example.com"}, "leadsite.E002"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(env, message):
    result = run_check_deploy(**env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_run_dialer_once_dials_and_says_what_it_did(settings):
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, "BACKEND": "simulated"}
    campaign = make_campaign(max_calls_in_parallel=2)
    for _ in range(3):
        make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    out = io.StringIO()
    call_command("run_dialer", "--once", stdout=out)
    assert "placed 2" in out.getvalue()
    assert Call.objects.filter(ended_at__isnull=True).count() == 2


@pytest.mark.parametrize("interval", ["0", "-1", "5000"])
def test_run_dialer_refuses_a_bad_interval(interval):
    with pytest.raises(CommandError, match="--interval"):
        call_command("run_dialer", "--interval", interval)


def test_run_dialer_refuses_an_unknown_backend(settings):
    settings.LEADS_DIALER = {"BACKEND": "smoke-signals"}
    with pytest.raises(ImproperlyConfigured, match="simulated' or 'http"):
        call_command("run_dialer", "--once")
