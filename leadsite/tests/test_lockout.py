"""Admin login throttling (django-axes, configured in leadsite/settings/base.py),
through the real login form."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def operator(django_user_model):
    django_user_model.objects.create_superuser("operator", "op@example.com", "right-pw-1")
    django_user_model.objects.create_superuser("colleague", "co@example.com", "right-pw-2")


def log_in(username: str, password: str, *, address: str = "203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    signed_in = client.get("/admin/").status_code == 200
    return response, signed_in


def fail(times: int, username: str = "operator", address: str = "203.0.113.7"):
    return [log_in(username, "wrong", address=address)[0].status_code for _ in range(times)]


def test_repeated_wrong_passwords_lock_the_login_even_for_the_right_password(operator):
    assert fail(LIMIT - 1) == [200] * (LIMIT - 1)  # the login page again, with its error
    assert fail(1) == [429]  # the last allowed failure locks

    response, signed_in = log_in("operator", "right-pw-1")

    assert response.status_code == 429 and not signed_in
    page = response.content.decode()
    assert f"{LIMIT} wrong passwords in a row for" in page and "<strong>operator</strong>" in page
    assert "15 minutes" in page and "axes_reset_username operator" in page


def test_the_lock_is_for_that_user_from_that_address_only(operator):
    fail(LIMIT)

    assert log_in("colleague", "right-pw-2")[1]  # another user, same address
    assert log_in("operator", "right-pw-1", address="198.51.100.20")[1]  # same user, another address
    assert not log_in("operator", "right-pw-1")[1]


def test_the_lock_ends_after_the_cool_off(operator):
    fail(LIMIT)
    # As if the cool-off had passed since the last attempt.
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1)
    )

    assert log_in("operator", "right-pw-1")[1]


def test_a_successful_login_clears_the_count(operator):
    fail(LIMIT - 1)
    assert log_in("operator", "right-pw-1")[1]
    assert fail(LIMIT - 1) == [200] * (LIMIT - 1)
    assert log_in("operator", "right-pw-1")[1]


def test_an_administrator_unlocks_with_axes_reset_username(operator):
    fail(LIMIT)
    call_command("axes_reset_username", "operator")

    assert log_in("operator", "right-pw-1")[1]
