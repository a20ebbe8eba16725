"""The simulated backend reports what a platform would: outcomes from its odds and,
for a conversation, a transcript, summary, disposition, results, a recording, opt-outs
and callbacks, the same every time for a seed, and valid as the webhook reads them."""

import datetime
import json

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads.dialer import outcomes, passes
from leads.dialer.backends import get_backend
from leads.dialer.backends.conversations import CALLBACK_HOURS
from leads.dialer.backends.simulated import DEFAULT_ODDS, RECORDING, SimulatedBackend, recording_url
from leads.models import Call, CallOutcome, DoNotCallNumber, Lead, LeadStatus
from leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db

# Tomorrow at 15:00 UTC (10 am on the US east coast, inside the shipped calling rule):
# after the leads' creation, so that they are due; a fixed date would stop being so.
NOW = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).replace(
    hour=15, minute=0, second=0, microsecond=0
)


def only(outcome: str) -> dict[str, int]:
    return {**dict.fromkeys(DEFAULT_ODDS, 0), outcome: 1}


TALKS = only("completed")


def simulated(**options) -> SimulatedBackend:
    """Every call a conversation, reported when the test says (after 1,000 times its length)."""
    return SimulatedBackend(
        seed=3, odds=TALKS, duration_scale=1000, recording_url="http://demo.example/static/x.mp3", **options
    )


def open_calls(count: int = 12, backend: SimulatedBackend | None = None, **campaign) -> list[Call]:
    campaign = make_campaign(
        goal_completion_variable="booked", max_calls_in_parallel=count, timezone="America/Chicago", **campaign
    )
    for i in range(count):
        make_lead(
            campaign=campaign,
            variables={"customer_name": f"Rosa Quinn{i}", "company": "Cedar Physio", "appointment_type": "follow-up"},
        )
    services.campaign_start(campaign=campaign)
    passes.run_pass(now=NOW, backend=backend or simulated())
    return list(Call.objects.select_related("campaign").order_by("lead_id"))


def test_a_seed_draws_the_same_reports_every_time():
    calls = open_calls()
    first = [simulated().payload(call) for call in calls]
    placed_again = [simulated().place(call, now=NOW).backend_data for call in calls]
    assert placed_again == [call.backend_data for call in calls]
    assert [simulated().payload(call) for call in calls] == first
    other = SimulatedBackend(seed=4, odds=TALKS)
    assert [other.place(call, now=NOW).backend_data["talk"] for call in calls] != [
        call.backend_data["talk"] for call in calls
    ]


def test_every_report_is_one_the_webhook_accepts_as_it_is():
    for call in open_calls(20, simulated(opt_out_odds=0.3, callback_odds=0.5)):
        payload = simulated().payload(call)
        report = outcomes.report_from_payload(json.loads(json.dumps(payload)))
        assert report.transcript == payload["transcript"]
        assert report.disposition == payload["disposition"] != ""
        assert report.summary == payload["summary"] != ""
        assert report.opt_out is payload["opt_out"]
        assert report.extracted_variables["booked"] is payload["goal_achieved"]
        assert report.recording_url == "http://demo.example/static/x.mp3"
        if "callback_at" in payload:
            assert report.callback_at == datetime.datetime.fromisoformat(payload["callback_at"])


def test_a_transcript_is_a_dialogue_with_the_calls_own_names_paced_within_its_length():
    for call in open_calls():
        payload = simulated().payload(call)
        turns = payload["transcript"]
        assert turns[0]["role"] == "agent" and "Cedar Physio" in turns[0]["text"]
        assert turns[1]["role"] == "callee"
        assert {turn["role"] for turn in turns} == {"agent", "callee"}
        times = [turn["at"] for turn in turns]
        assert times == sorted(times) and times[0] > 0 and times[-1] < payload["duration_seconds"]
        if payload["disposition"] == "booked":
            assert "follow-up" in payload["summary"] and payload["extracted_variables"]["appointment_slot"]
        if payload["disposition"] != "wrong-person":
            assert call.variables["customer_name"] in turns[0]["text"]


def reported(backend: SimulatedBackend, count: int = 6) -> list[dict]:
    """What ``backend`` says of ``count`` calls it placed (on a fresh campaign)."""
    Call.objects.all().delete()
    Lead.objects.all().delete()
    return [backend.payload(call) for call in open_calls(count, backend)]


def test_opt_outs_and_callbacks_come_at_their_odds_and_never_with_the_goal():
    for payload in reported(simulated(goal_odds=0, opt_out_odds=1)):
        assert payload["opt_out"] and payload["disposition"] == "do-not-call" and "callback_at" not in payload
    for payload in reported(simulated(goal_odds=0, opt_out_odds=0, callback_odds=1)):
        assert payload["disposition"] == "call-back-later" and not payload["opt_out"]
        # Naive: the callee's own wall clock (the campaign's zone here), a day to three ahead.
        at = datetime.datetime.fromisoformat(payload["callback_at"])
        assert at.tzinfo is None and at.hour in CALLBACK_HOURS and at.minute == 0
        local_today = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-6))).date()
        assert 1 <= (at.date() - local_today).days <= 3
        said = payload["transcript"][-2]
        assert said["role"] == "callee" and f"at {at.hour % 12 or 12} {'am' if at.hour < 12 else 'pm'}" in said["text"]
    for payload in reported(simulated(goal_odds=1, opt_out_odds=1, callback_odds=1)):
        assert payload["disposition"] == "booked" and not payload["opt_out"] and "callback_at" not in payload
    plain = reported(simulated(goal_odds=0, opt_out_odds=0, callback_odds=0), 20)
    assert {p["disposition"] for p in plain} == {"interested", "not-interested", "wrong-person"}
    assert not any(p["opt_out"] or "callback_at" in p for p in plain)


def test_the_dialer_applies_what_the_simulated_calls_said():
    backend = simulated(goal_odds=0, opt_out_odds=0.5, callback_odds=1)
    calls = open_calls(10, backend)
    passes.run_pass(now=NOW + datetime.timedelta(days=3), backend=SimulatedBackend(seed=99, duration_scale=1))
    for call in calls:
        call.refresh_from_db()
        lead = Lead.objects.get(pk=call.lead_id)
        assert call.ended_at is not None and call.transcript and lead.conversation_call_id == call.pk
        if call.opt_out:
            assert lead.status == LeadStatus.BLACKLISTED and lead.opted_out_at is not None
            assert DoNotCallNumber.objects.filter(phone=call.phone, source="call", call=call).exists()
        else:
            assert call.callback_at is not None and call.disposition == "call-back-later"
    assert {call.opt_out for call in calls} == {True, False}


def test_calls_without_a_conversation_say_no_more_than_a_platform_would():
    backend = SimulatedBackend(seed=5, odds=only("no-answer"))
    (call,) = open_calls(1, backend)
    assert backend.payload(call) == {
        "outcome": CallOutcome.NO_ANSWER,
        "duration_seconds": call.backend_data["duration"],
    }
    voicemail = SimulatedBackend(seed=5, odds=only("voicemail"), recording_url="")
    call.backend_data = voicemail.place(call, now=NOW).backend_data
    left = voicemail.payload(call)
    assert [turn["role"] for turn in left["transcript"]] == ["agent"] and left["summary"] == "Left a voicemail."
    assert "recording_url" not in left


def test_the_recording_is_a_small_static_mp3_at_the_sites_address(settings):
    settings.LEADS_DIALER = {"BACKEND": "simulated", "CALLBACK_BASE_URL": "https://leads.example.com/"}
    assert get_backend().recording_url == "https://leads.example.com/static/leadsite/demo-call.mp3"
    path = finders.find(RECORDING)
    with open(path, "rb") as audio:
        head = audio.read(3)
        size = len(head) + len(audio.read())
    assert head == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3")
    assert 1_000 < size < 100_000
    settings.LEADS_DIALER = {"BACKEND": "simulated", "CALLBACK_BASE_URL": ""}
    assert get_backend().recording_url == ""


@pytest.mark.parametrize("base", ["ftp://leads.example.com", "leads.example.com", "http://[::1"])
def test_a_callback_address_no_browser_could_use_stops_the_simulated_backend(settings, base):
    settings.LEADS_DIALER = {"BACKEND": "simulated", "CALLBACK_BASE_URL": base}
    with pytest.raises(ImproperlyConfigured, match="LEADS_CALLBACK_BASE_URL"):
        get_backend()


@pytest.mark.browser
def test_a_simulated_calls_recording_plays_in_a_browser(page, live_server):
    backend = SimulatedBackend(seed=3, odds=TALKS, duration_scale=1000, recording_url=recording_url(live_server.url))
    (call,) = open_calls(1, backend)
    url = backend.payload(call)["recording_url"]
    page.goto("/admin/login/")
    seconds = page.evaluate(
        """(url) => new Promise((resolve, reject) => {
             const audio = new Audio(url);
             audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
             audio.addEventListener("error", () => reject(new Error("cannot play " + url)));
           })""",
        url,
    )
    assert 5 < seconds < 60
