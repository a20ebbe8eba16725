"""The outcome webhook, as the voice-AI platform calls it: signed requests through
Django's test client, every malformed one answered with a reason, never a 500."""

import datetime
import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.tests.factories import make_campaign
from leads.dialer import outcomes
from leads.dialer.signing import signed_headers
from leads.dialer.tests.conftest import QUIET
from leads.models import Call, CallReport, Lead, LeadStatus, StatusChange
from leads.tests.factories import make_lead, pass_at_any_hour

pytestmark = [
    pytest.mark.django_db,
    # Calls placed at the clock's time: the calling rules are not what these tests are about.
    pytest.mark.usefixtures("without_calling_rules"),
]


def post(
    call_id,
    body,
    *,
    message_id: str | None = None,
    when: datetime.datetime | None = None,
    headers=None,
    client: Client | None = None,
):
    text = body if isinstance(body, str) else json.dumps(body)
    signed = signed_headers(message_id or f"msg_{uuid.uuid4().hex}", text, now=when or timezone.now())
    if headers is not None:
        signed = headers
    return (client or Client()).post(
        reverse("call_outcome", args=[call_id]),
        data=text,
        content_type="application/json",
        headers=signed,
    )


GOOD = {
    "outcome": "completed",
    "duration_seconds": 74,
    "goal_achieved": True,
    "extracted_variables": {"booked": True},
    "summary": "Booked for Tuesday.",
    "recording_url": "https://recordings.example.com/1.mp3",
}


def test_a_signed_outcome_is_recorded_and_moves_the_lead(call):
    response = post(call.pk, GOOD)

    assert response.status_code == 200 and response.json()["result"] == "applied"
    call.refresh_from_db()
    assert (call.outcome, call.duration_seconds, call.goal_achieved, call.summary) == (
        "completed",
        74,
        True,
        "Booked for Tuesday.",
    )
    assert call.recording_url == GOOD["recording_url"] and call.extracted_variables == {"booked": True}
    assert Lead.objects.get(pk=call.lead_id).status == LeadStatus.COMPLETED
    assert StatusChange.objects.filter(lead_id=call.lead_id, to_status="completed", source="webhook").exists()


def test_a_replayed_message_changes_nothing(call):
    first = post(call.pk, {"outcome": "no-answer"}, message_id="msg_1")
    again = post(call.pk, {"outcome": "no-answer"}, message_id="msg_1")

    assert first.json()["result"] == "applied"
    assert again.status_code == 200 and again.json()["result"] == "repeat"
    assert CallReport.objects.filter(call=call).count() == 1


def test_a_second_outcome_for_a_closed_call_is_kept_but_moves_nothing(call):
    post(call.pk, {"outcome": "no-answer"})
    status = Lead.objects.get(pk=call.lead_id).status
    late = post(call.pk, GOOD)

    assert late.status_code == 200 and late.json()["result"] == "kept"
    assert Lead.objects.get(pk=call.lead_id).status == status == LeadStatus.RESCHEDULED
    assert list(CallReport.objects.filter(call=call).order_by("id").values_list("applied", flat=True)) == [True, False]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: {**h, "webhook-signature": "v1,AAAA" + h["webhook-signature"][7:]},
        lambda h: {**h, "webhook-signature": "nonsense"},
        lambda h: {**h, "webhook-signature": "v1,@@not-base64@@"},
        lambda h: {**h, "webhook-signature": "v2," + h["webhook-signature"][3:]},
        lambda h: {k: v for k, v in h.items() if k != "webhook-signature"},
        lambda h: {k: v for k, v in h.items() if k != "webhook-id"},
        lambda h: {**h, "webhook-timestamp": "yesterday"},
        lambda h: {**h, "webhook-timestamp": "nan"},
        lambda h: {},
    ],
)
def test_a_bad_or_missing_signature_is_401(call, tamper):
    text = json.dumps(GOOD)
    headers = tamper(signed_headers("msg_x", text, now=timezone.now()))
    response = post(call.pk, text, headers=headers)
    assert response.status_code == 401 and "signature" in response.json()["message"]
    assert Call.objects.get(pk=call.pk).ended_at is None


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_outside_five_minutes_is_401(call, minutes):
    response = post(call.pk, GOOD, when=timezone.now() + datetime.timedelta(minutes=minutes))
    assert response.status_code == 401


def test_a_body_signed_with_another_secret_is_401(call, settings):
    settings.LEADS_DIALER = {
        **settings.LEADS_DIALER,
        "WEBHOOK_SECRET": "whsec_c2VjcmV0LW9mLXNvbWVib2R5LWVsc2UsIDMyIGJ5dGU=",
    }
    text = json.dumps(GOOD)
    headers = signed_headers("msg_y", text, now=timezone.now())
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, "WEBHOOK_SECRET": ""}
    assert post(call.pk, text, headers=headers).status_code == 401


@pytest.mark.parametrize("secret", ["whsec_", "notbase64", "whsec_eA=="])
def test_an_unusable_secret_of_this_site_answers_503_not_500(call, settings, secret):
    # "whsec_" answered 500. `manage.py check` refuses all three (leads.dialer.checks);
    # a site started without it tells the platform to retry later.
    settings.LEADS_DIALER = {**settings.LEADS_DIALER, "WEBHOOK_SECRET": secret}
    text = json.dumps(GOOD)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(timezone.now().timestamp())),
        "webhook-signature": "v1,AAAA",
    }
    response = Client().post(
        reverse("call_outcome", args=[call.pk]), data=text, content_type="application/json", headers=headers
    )

    assert response.status_code == 503 and "secret" in response.json()["message"]
    assert Call.objects.get(pk=call.pk).ended_at is None


def test_an_unknown_call_is_404(call):
    assert post(uuid.uuid4(), GOOD).status_code == 404
    assert Client().post("/hooks/calls/not-a-uuid/", data="{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('"completed"', "JSON object"),
        ("[]", "JSON object"),
        ({"outcome": "hung-up"}, "outcome must be one of"),
        ({"outcome": "lost"}, "outcome must be one of"),  # ours, never reported
        ({}, "outcome must be one of"),
        ({"outcome": None}, "outcome must be one of"),
        ({"outcome": "completed", "duration_seconds": "74"}, "duration_seconds"),
        ({"outcome": "completed", "duration_seconds": -1}, "duration_seconds"),
        ({"outcome": "completed", "duration_seconds": 1.5}, "duration_seconds"),
        ({"outcome": "completed", "duration_seconds": True}, "duration_seconds"),
        ({"outcome": "completed", "goal_achieved": "yes"}, "goal_achieved"),
        ({"outcome": "completed", "extracted_variables": []}, "extracted_variables"),
        ({"outcome": "completed", "extracted_variables": "x"}, "extracted_variables"),
        ({"outcome": "completed", "summary": 5}, "summary"),
        ({"outcome": "completed", "recording_url": "javascript:alert(1)"}, "recording_url"),
        ({"outcome": "completed", "recording_url": 7}, "recording_url"),
        ({"outcome": "completed", "opt_out": "yes"}, "opt_out"),
        ({"outcome": "completed", "opt_out": 1}, "opt_out"),
        ({"outcome": "completed", "disposition": 5}, "disposition"),
        ({"outcome": "completed", "disposition": "x" * 65}, "disposition"),
        ({"outcome": "completed", "disposition": "two\nlines"}, "disposition"),
        ({"outcome": "completed", "callback_at": "tomorrow at three"}, "callback_at"),
        ({"outcome": "completed", "callback_at": "2026-12-04"}, "callback_at"),  # a date is no time
        ({"outcome": "completed", "callback_at": "2026-13-04T15:00:00"}, "callback_at"),
        ({"outcome": "completed", "callback_at": "0001-01-01T00:00:00+14:00"}, "callback_at"),
        ({"outcome": "completed", "callback_at": 1764860400}, "callback_at"),
        ({"outcome": "completed", "callback_at": "2026-12-04T15:00:00" + " " * 60}, "callback_at"),
        ({"outcome": "completed", "transcript": "agent: hello"}, "transcript"),
        ({"outcome": "completed", "transcript": [{"role": "bot", "text": "hi"}]}, "transcript[0].role"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": 5}]}, "transcript[0].text"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": "hi", "at": -1}]}, "transcript[0].at"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": "hi", "at": "3s"}]}, "transcript[0].at"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": "hi", "at": 10**30}]}, "transcript[0].at"),
        ({"outcome": "completed", "transcript": ["hi"]}, "transcript[0]"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": "hi"}] * 5001}, "transcript"),
        ({"outcome": "completed", "transcript": [{"role": "agent", "text": "x" * 10_001}]}, "transcript[0].text"),
    ],
)
def test_malformed_reports_are_400_with_the_reason(call, body, reason):
    response = post(call.pk, body)
    assert response.status_code == 400 and reason in response.json()["message"]
    assert Call.objects.get(pk=call.pk).ended_at is None
    assert not CallReport.objects.exists()


def test_two_messages_whose_ids_share_a_long_prefix_are_both_applied():
    # The id was cut to 200 characters before de-duplication: the second delivery was
    # answered "repeat" and its outcome lost.
    campaign = make_campaign(max_calls_in_parallel=2)
    make_lead(campaign=campaign)
    make_lead(campaign=campaign)
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(QUIET)
    first, second = Call.objects.order_by("lead_id")
    prefix = "msg_" + "p" * 400

    answers = [
        post(first.pk, {"outcome": "no-answer"}, message_id=prefix + "-1").json(),
        post(second.pk, {"outcome": "busy"}, message_id=prefix + "-2").json(),
    ]

    assert [answer["result"] for answer in answers] == ["applied", "applied"]
    assert set(Call.objects.values_list("outcome", flat=True)) == {"no-answer", "busy"}
    assert sorted(CallReport.objects.values_list("webhook_id", flat=True)) == [prefix + "-1", prefix + "-2"]
    # The same long id again is still a repeat.
    assert post(second.pk, {"outcome": "busy"}, message_id=prefix + "-2").json()["result"] == "repeat"


def test_an_id_of_the_longest_length_is_kept_whole(call):
    message_id = "msg_" + "x" * (outcomes.MAX_WEBHOOK_ID_LENGTH - 4)
    assert post(call.pk, GOOD, message_id=message_id).json()["result"] == "applied"
    assert CallReport.objects.get().webhook_id == message_id


@pytest.mark.parametrize(
    ("message_id", "reason"),
    [
        ("msg_" + "x" * 997, "longer than 1000 characters"),
        ("msg_\x01", "control character"),
    ],
)
def test_a_webhook_id_that_cannot_be_kept_whole_is_400(call, message_id, reason):
    response = post(call.pk, GOOD, message_id=message_id)

    assert response.status_code == 400 and reason in response.json()["message"]
    assert Call.objects.get(pk=call.pk).ended_at is None and not CallReport.objects.exists()


def test_an_oversized_body_is_400(call, settings):
    body = {"outcome": "completed", "summary": "x" * (settings.LEADS_WEBHOOK_MAX_BYTES + 1)}
    response = post(call.pk, body)
    assert response.status_code == 400 and "larger than" in response.json()["message"]


def test_a_body_that_is_not_utf8_is_refused(call):
    response = Client().post(
        reverse("call_outcome", args=[call.pk]),
        data=b"\xff\xfe{}",
        content_type="application/json",
        headers={"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,AA=="},
    )
    assert response.status_code == 401


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("slash", ["/", ""])
def test_the_hook_answers_with_or_without_its_trailing_slash(call, settings, debug, slash):
    # With DEBUG on APPEND_SLASH raised (a 500) for a POST without the slash; with it
    # off it redirected, which a platform follows as a GET (or not at all).
    settings.DEBUG = debug
    text = json.dumps(GOOD)
    response = Client(raise_request_exception=False).post(
        f"/hooks/calls/{call.pk}{slash}",
        data=text,
        content_type="application/json",
        headers=signed_headers(f"msg_{uuid.uuid4().hex}", text, now=timezone.now()),
    )

    assert response.status_code == 200 and response.json()["result"] == "applied"
    assert Lead.objects.get(pk=call.lead_id).status == LeadStatus.COMPLETED


def test_only_post(call):
    response = Client().get(reverse("call_outcome", args=[call.pk]))
    assert response.status_code == 405


def test_random_bodies_never_cause_a_server_error(call):
    """Seeded random JSON of every shape, signed: each answer is 200 or 400, never 500."""
    import random

    rng = random.Random(20261127)
    scalars = [None, True, False, 0, -1, 1.5, 10**20, "", "completed", "busy", "x" * 300, "https://a.b/c", [], {}]

    def value(depth=0):
        kind = rng.random()
        if depth < 2 and kind < 0.2:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        if depth < 2 and kind < 0.4:
            return {rng.choice(list(GOOD) + ["x"]): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return rng.choice(scalars)

    codes = set()
    for _ in range(300):
        body = {name: value() for name in rng.sample(list(GOOD), rng.randint(0, len(GOOD)))}
        if rng.random() < 0.5:
            body["outcome"] = rng.choice(["completed", "voicemail", "no-answer", "busy", "failed", "invalid-number"])
        codes.add(post(call.pk, body).status_code)
    assert codes <= {200, 400} and 400 in codes


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_that_only_python_reads_is_refused(call, literal):
    response = post(call.pk, '{"outcome": "completed", "extracted_variables": {"score": ' + literal + "}}")
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        '{"outcome": "completed", "summary": "a\\u0000b"}',
        '{"outcome": "completed", "extracted_variables": {"note": "a\\u0000b"}}',
        '{"outcome": "completed", "extracted_variables": {"a\\u0000": 1}}',
    ],
)
def test_a_nul_character_is_refused(call, body):
    # PostgreSQL stores no NUL in text or JSON: refused with a reason, not a server error.
    response = post(call.pk, body)
    assert response.status_code == 400 and "NUL" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        "[" * 60_000,  # under the size limit, deeper than Python's JSON reader goes
        '{"outcome": "completed", "extracted_variables": {"a": ' + "[" * 50 + "]" * 50 + "}}",
    ],
)
def test_a_body_nested_too_deep_is_refused(call, body):
    response = post(call.pk, body)
    assert response.status_code == 400


def test_nesting_of_a_few_levels_is_fine(call):
    response = post(
        call.pk, {"outcome": "completed", "extracted_variables": {"slots": [{"day": "Tue", "at": [9, 30]}]}}
    )
    assert response.status_code == 200


def test_a_report_with_a_long_transcript_up_to_a_megabyte_is_recorded(call):
    turns = [{"role": "agent" if i % 2 else "callee", "text": "word " * 180, "at": i * 3.5} for i in range(1000)]
    body = {"outcome": "completed", "transcript": turns, "disposition": "interested", "summary": "<b>long</b>"}
    assert 900_000 < len(json.dumps(body)) < 1024 * 1024
    response = post(call.pk, body)
    assert response.status_code == 200, response.json()
    stored = Call.objects.get(pk=call.pk)
    assert stored.transcript == turns and stored.disposition == "interested"


def _statements(queries) -> list[str]:
    """The statements of a request, their first word, transaction control aside."""
    words = [query["sql"].split(None, 1)[0].upper() for query in queries]
    return [word for word in words if word not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")]


@pytest.mark.parametrize(
    "body",
    [
        GOOD,
        {"outcome": "no-answer"},
        # A callback reads the number's zone, the window and the callbacks so far:
        # all of it from what the two locks read.
        {"outcome": "completed", "goal_achieved": False, "callback_at": "2030-01-08T15:00:00", "disposition": "later"},
    ],
)
def test_an_outcome_is_eight_statements(call, body):
    # The call and its lead locked together, their campaign, then their numbers
    # (with whether each is on the do-not-call list), the call closed, the number,
    # the audit row, the lead, the report kept. A field record_outcome reads without
    # loading it would be a query more here.
    make_lead(campaign=call.campaign)  # another lead: nothing grows with it
    with CaptureQueriesContext(connection) as queries:
        response = post(call.pk, body)

    assert response.json()["result"] == "applied"
    assert _statements(queries) == ["SELECT", "SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT", "UPDATE", "INSERT"]


def test_a_repeat_is_told_by_the_report_it_would_keep(call):
    post(call.pk, {"outcome": "no-answer"}, message_id="msg_1")
    status = Lead.objects.get(pk=call.lead_id).status
    with CaptureQueriesContext(connection) as queries:
        again = post(call.pk, GOOD, message_id="msg_1")

    # The call is closed: nothing moves, and the index refuses the second report.
    assert again.json()["result"] == "repeat"
    assert _statements(queries) == ["SELECT", "INSERT"]
    assert Lead.objects.get(pk=call.lead_id).status == status
    assert CallReport.objects.filter(call=call).count() == 1
