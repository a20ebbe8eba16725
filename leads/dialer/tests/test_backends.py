"""Dialer backends at their boundary: the http backend against a real HTTP server in
this process (the voice-AI platform's side), and backend settings."""

import http.server
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from standardwebhooks.webhooks import Webhook

from campaigns import services
from campaigns.tests.factories import make_assistant, make_campaign
from leads.dialer import passes
from leads.dialer.backends import get_backend
from leads.dialer.backends.http import HttpBackend
from leads.dialer.backends.simulated import DEFAULT_ODDS
from leads.dialer.signing import webhook_secret
from leads.models import Call, Lead, LeadStatus
from leads.tests.factories import make_lead

pytestmark = [
    pytest.mark.django_db,
    # Calls placed at the clock's time: the calling rules are not what these tests are about.
    pytest.mark.usefixtures("without_calling_rules"),
]


class Platform(http.server.ThreadingHTTPServer):
    """Answers each POST with ``status`` and ``body`` after ``delay`` seconds and keeps
    what it received."""

    def __init__(self, status=200, body=b'{"id": "prov-123"}', delay=0.0):
        self.status, self.body, self.delay, self.received = status, body, delay, []
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/calls"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.in_flight -= 1
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def platform():
    servers = []

    def make(**options) -> Platform:
        servers.append(Platform(**options))
        return servers[-1]

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def dial_with(backend) -> Call:
    assistant = make_assistant(variables=[{"name": "language", "default_value": "English"}])
    campaign = make_campaign(assistant=assistant, name="Spring")
    make_lead(campaign=campaign, primary="+14155550101", variables={"customer_name": "Ana"})
    services.campaign_start(campaign=campaign)
    passes.run_pass(backend=backend)
    return Call.objects.get()


def test_the_call_request_is_signed_json_with_the_merged_variables(platform):
    server = platform()
    call = dial_with(HttpBackend(url=server.url, callback_base_url="https://leads.example.com/"))

    [(headers, body)] = server.received
    headers = {k.lower(): v for k, v in headers.items()}
    payload = Webhook(webhook_secret()).verify(body, headers)  # raises unless signed right
    assert payload == {
        "call_id": str(call.pk),
        "campaign": {"id": call.campaign_id, "name": "Spring"},
        "lead_id": call.lead_id,
        "number": "+14155550101",
        "variables": {"language": "English", "customer_name": "Ana"},
        "callback_url": f"https://leads.example.com/hooks/calls/{call.pk}/",
    }
    assert call.provider_call_id == "prov-123" and call.ended_at is None
    assert Lead.objects.get().status == LeadStatus.PROCESSING


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 401}, "HTTP 401"),
        ({"delay": 1.0}, "could not be reached"),
    ],
)
def test_a_failed_request_is_a_dial_error(platform, options, error):
    server = platform(**options)
    call = dial_with(HttpBackend(url=server.url, callback_base_url="http://x", timeout=0.3))
    call.refresh_from_db()
    assert call.outcome == "dial-error" and error in call.backend_data["error"]
    lead = Lead.objects.get()
    assert (lead.status, lead.attempts) == (LeadStatus.RESCHEDULED, 0)


def test_an_unreachable_platform_is_a_dial_error():
    server = Platform()
    url = server.url
    server.server_close()  # nothing listens there now
    call = dial_with(HttpBackend(url=url, callback_base_url="http://x", timeout=1))
    call.refresh_from_db()
    assert call.outcome == "dial-error" and "could not be reached" in call.backend_data["error"]


def test_a_2xx_without_json_is_still_placed(platform):
    server = platform(status=202, body=b"accepted")
    call = dial_with(HttpBackend(url=server.url, callback_base_url="http://x"))
    call.refresh_from_db()
    assert call.ended_at is None and call.provider_call_id == ""


@pytest.mark.parametrize(
    ("dialer_settings", "message"),
    [
        ({"BACKEND": "carrier-pigeon"}, "must be 'simulated' or 'http'"),
        ({"BACKEND": "leads.dialer.backends.pigeon.PigeonBackend"}, "or the dotted path of a backend class"),
        ({"BACKEND": "leads.dialer.backends.http.PigeonBackend"}, "or the dotted path of a backend class"),
        ({"BACKEND": "leads.models.Call"}, "is not a dialer backend"),
        ({"BACKEND": "leads.dialer.backends.http.HttpBackend", "URL": ""}, "LEADS_DIALER_URL"),
        ({"BACKEND": "http", "URL": ""}, "LEADS_DIALER_URL"),
        ({"BACKEND": "http", "URL": "https://platform.example.com/calls", "TIMEOUT": -1}, "LEADS_DIALER_TIMEOUT"),
        ({"BACKEND": "http", "URL": "https://platform.example.com/calls", "TIMEOUT": "10"}, "LEADS_DIALER_TIMEOUT"),
        ({"BACKEND": "simulated", "SIMULATED": {"ODDS": {"hung-up": 1}}}, "unknown outcomes"),
        ({"BACKEND": "simulated", "SIMULATED": {"ODDS": dict.fromkeys(DEFAULT_ODDS, 0)}}, "not all 0"),
        ({"BACKEND": "simulated", "SIMULATED": {"ODDS": {"busy": -1}}}, "0 or more"),
        ({"BACKEND": "simulated", "SIMULATED": {"ODDS": {"busy": "often"}}}, "0 or more"),
        ({"BACKEND": "simulated", "SIMULATED": {"GOAL_ODDS": 2}}, "GOAL_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"GOAL_ODDS": "often"}}, "GOAL_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"OPT_OUT_ODDS": 1.5}}, "OPT_OUT_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"OPT_OUT_ODDS": True}}, "OPT_OUT_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"CALLBACK_ODDS": -0.5}}, "CALLBACK_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"CALLBACK_ODDS": None}}, "CALLBACK_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"DIAL_ERROR_ODDS": -0.1}}, "DIAL_ERROR_ODDS"),
        ({"BACKEND": "simulated", "SIMULATED": {"DURATION_SCALE": 0}}, "DURATION_SCALE"),
    ],
)
def test_misconfigured_backends_say_what_is_wrong(settings, dialer_settings, message):
    settings.LEADS_DIALER = dialer_settings
    with pytest.raises(ImproperlyConfigured, match=message):
        get_backend()


def test_the_calls_of_a_pass_are_requested_side_by_side(platform):
    server = platform(delay=0.3)
    campaign = make_campaign(max_calls_in_parallel=6)
    for _ in range(6):
        make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    passes.run_pass(backend=HttpBackend(url=server.url, callback_base_url="http://x"))

    assert len(server.received) == 6 and server.most_in_flight > 1  # not one after another
    assert Call.objects.filter(ended_at__isnull=True).exclude(provider_call_id="prov-123").count() == 0


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/calls", "not a url", "http://[::1", "https://"])
def test_an_address_the_backend_cannot_use_is_refused_at_start(settings, url):
    settings.LEADS_DIALER = {"BACKEND": "http", "URL": url}
    with pytest.raises(ImproperlyConfigured, match="LEADS_DIALER_URL"):
        get_backend()


@pytest.mark.parametrize("secret", ["whsec_", "notbase64", "whsec_eA=="])
def test_an_unusable_secret_stops_the_http_backend_at_start(settings, secret):
    # Before: "notbase64" made every call a dial error, "whsec_eA==" signed with a
    # key of one byte.
    settings.LEADS_DIALER = {"BACKEND": "http", "URL": "https://platform.example.com/calls", "WEBHOOK_SECRET": secret}
    with pytest.raises(ImproperlyConfigured, match="LEADS_WEBHOOK_SECRET"):
        get_backend()


class BrokenBackend:
    """A backend with a bug (anyone may write one to the interface): it raises."""

    name = "broken"

    def place(self, call, *, now):
        raise RuntimeError("boom")

    def reports(self, calls, *, now):
        return iter(())


def test_a_backend_that_fails_unexpectedly_gives_a_dial_error_not_a_dead_dialer():
    call = dial_with(BrokenBackend())
    call.refresh_from_db()
    assert call.outcome == "dial-error" and "broken backend failed: RuntimeError('boom')" in call.backend_data["error"]
    assert Lead.objects.get().status == LeadStatus.RESCHEDULED


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("simulated", "SimulatedBackend"),
        ("leads.dialer.backends.simulated.SimulatedBackend", "SimulatedBackend"),
        ("http", "HttpBackend"),
        ("leads.dialer.backends.http.HttpBackend", "HttpBackend"),
    ],
)
def test_a_backend_is_chosen_by_dotted_path_or_by_its_short_name(settings, name, backend):
    settings.LEADS_DIALER = {
        "BACKEND": name,
        "URL": "https://platform.example.com/calls",
        "TIMEOUT": 3.5,
        "SIMULATED": {"SEED": 7, "GOAL_ODDS": 0.25},
    }
    chosen = get_backend()
    assert type(chosen).__name__ == backend
    if backend == "HttpBackend":
        assert (chosen.url, chosen.timeout) == ("https://platform.example.com/calls", 3.5)
    else:
        assert (chosen.seed, chosen.goal_odds) == (7, 0.25)
