"""seed_demo and run_dialer, as make run and an operator call them (what the demo holds:
leads/tests/test_seeding.py)."""

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from campaigns import services
from campaigns.models import Assistant, Campaign
from campaigns.tests.factories import make_campaign
from leads.models import Call, Lead, StatusChange
from leads.tests.factories import make_lead


@pytest.mark.django_db
def test_seed_demo_plays_the_demo_once_and_says_what_it_made():
    out = io.StringIO()
    call_command("seed_demo", "--once", "--leads", "30", stdout=out)
    assert "Demo data created: 30 leads" in out.getvalue() and "dialer passes" in out.getvalue()
    call_command("seed_demo", "--once", stdout=out)
    assert "Demo data is there already." in out.getvalue()
    assert Assistant.objects.count() == 1
    assert Campaign.objects.count() == 2
    assert Lead.objects.count() == 30
    assert Call.objects.exists()
    # Every status but the first came through a transition, so it has its audit row.
    moved = StatusChange.objects.values("lead").distinct().count()
    assert moved >= Lead.objects.exclude(status="created").count()


@pytest.mark.parametrize("leads", ["1", "100000"])
def test_seed_demo_refuses_a_lead_count_it_cannot_make(leads):
    with pytest.raises(CommandError, match="--leads must be between 2 and"):
        call_command("seed_demo", "--leads", leads)


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
