"""The dialer's system checks, through ``manage.py check`` as an operator runs it."""

import base64
import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from leads.dialer.signing import signer

GOOD_SECRET = "whsec_" + base64.b64encode(bytes(range(24))).decode()


def check(*args: str) -> None:
    call_command("check", *args, "--tag", "leadsite")


def dialer(settings, **options) -> None:
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, **options}


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("whsec_", "a key of 0 bytes"),  # every webhook answered 500
        ("notbase64", "must be 'whsec_' followed by base64"),  # every webhook 401, every call a dial error
        ("whsec_eA==", "a key of 1 bytes"),  # one byte: found by trying 256 keys
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "a key of 23 bytes"),
        ("whsec_not*base64!", "is not base64"),
        ("whsec_" + base64.b64encode(b"x" * 32).decode() + "\n", "is not base64"),
    ],
)
@pytest.mark.parametrize("backend", ["http", "simulated"])
def test_an_unusable_or_weak_webhook_secret_fails_the_check(settings, secret, reason, backend):
    # The webhook verifies with the secret whatever places the calls.
    dialer(settings, BACKEND=backend, URL="https://platform.example.com/calls", WEBHOOK_SECRET=secret)
    for args in [(), ("--deploy",)]:
        with pytest.raises(SystemCheckError, match=r"leadsite\.E001") as failure:
            check(*args)
        assert reason in str(failure.value)


@pytest.mark.parametrize(
    "secret",
    [
        GOOD_SECRET,
        GOOD_SECRET.rstrip("="),  # unpadded base64, as the standard's libraries accept
        "whsec_" + base64.b64encode(b"k" * 64).decode(),
    ],
)
def test_a_secret_of_24_random_bytes_or_more_passes(settings, secret):
    dialer(settings, BACKEND="http", URL="https://platform.example.com/calls", WEBHOOK_SECRET=secret)
    check("--deploy")
    assert signer().sign("msg_1", datetime.datetime.now(), "{}").startswith("v1,")


@pytest.mark.parametrize("backend", ["http", "leads.dialer.backends.http.HttpBackend"])
def test_the_http_backend_needs_its_own_secret_in_a_deployment(settings, backend):
    dialer(settings, BACKEND=backend, URL="https://platform.example.com/calls", WEBHOOK_SECRET="")
    check()  # development: the secret derived from SECRET_KEY
    with pytest.raises(SystemCheckError, match=r"leadsite\.E003"):
        check("--deploy")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"BACKEND": "smoke-signals"}, "must be 'simulated' or 'http'"),
        ({"BACKEND": "leads.dialer.backends.smoke.SmokeBackend"}, "the dotted path of a backend class"),
        ({"BACKEND": "http", "URL": ""}, "needs LEADS_DIALER_URL"),
        ({"BACKEND": "http", "URL": "ftp://platform.example.com"}, "needs LEADS_DIALER_URL"),
        ({"BACKEND": "http", "URL": "https://platform.example.com/calls", "TIMEOUT": 0}, "LEADS_DIALER_TIMEOUT"),
        ({"BACKEND": "simulated", "SIMULATED": {"ODDS": {"busy": -1}}}, "0 or more"),
        ({"BACKEND": "simulated", "SIMULATED": {"GOAL_ODDS": 2}}, "GOAL_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"DIAL_ERROR_ODDS": 1.5}}, "DIAL_ERROR_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"DURATION_SCALE": -1}}, "DURATION_SCALE"),
    ],
)
def test_settings_the_dialer_would_stop_at_fail_the_check(settings, options, reason):
    dialer(settings, WEBHOOK_SECRET=GOOD_SECRET, **options)
    with pytest.raises(SystemCheckError, match=r"leadsite\.E002") as failure:
        check()
    assert reason in str(failure.value)
