"""The outcome webhook under generated input (hypothesis): signed bodies of every JSON
shape, webhook ids short and over-long, paths and methods of every kind. Whatever
arrives, the answer is one the webhook documents (200, 400, 401, 404, 405: never a
500 or a redirect), and a call moves its lead at most once.

Each example runs in leadsite.testing.rolled_back: the call made by the fixture stays,
what an example's deliveries wrote is undone before the next one."""

import json
import uuid
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import assume, example, given
from hypothesis import strategies as st

from leads.dialer.signing import signed_headers
from leads.models import REPORTED_OUTCOMES, Call, CallReport, StatusChange
from leadsite.testing import rolled_back

pytestmark = pytest.mark.django_db

ANSWERS = {200, 400, 401, 404, 405}


# A header value as an HTTP server passes it on: visible ASCII (a server strips the
# spaces around a value and refuses control characters).
HEADER_TEXT = st.characters(min_codepoint=0x21, max_codepoint=0x7E)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=16,
)
report_fields = {
    "outcome": st.sampled_from(REPORTED_OUTCOMES) | json_values,
    "duration_seconds": st.integers(min_value=-5, max_value=100_000) | json_values,
    "goal_achieved": st.booleans() | json_values,
    "extracted_variables": st.dictionaries(st.text(max_size=20), json_values, max_size=6) | json_values,
    "summary": st.text(max_size=300) | json_values,
    "recording_url": st.sampled_from(["https://recordings.example.com/1.mp3", "javascript:alert(1)", "http://", ""])
    | st.text(max_size=40),
    "transcript": st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["agent", "callee"]) | json_values, "text": st.text(max_size=40) | json_values},
            optional={"at": st.floats(min_value=-10, max_value=100_000) | json_values},
        ),
        max_size=4,
    )
    | json_values,
    "opt_out": st.booleans() | json_values,
    "callback_at": st.datetimes().map(lambda moment: moment.isoformat())
    | st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
    | json_values,
    "disposition": st.text(max_size=80) | json_values,
}
reports = st.fixed_dictionaries({}, optional=report_fields)
# Mostly reports (valid or nearly), also any JSON and text that is not JSON at all.
bodies = st.one_of(reports.map(json.dumps), reports.map(json.dumps), json_values.map(json.dumps), st.text(max_size=200))
# Reports that apply: how a platform retries, and how two deliveries race.
valid_reports = st.fixed_dictionaries(
    {"outcome": st.sampled_from(REPORTED_OUTCOMES)},
    optional={
        "duration_seconds": st.integers(min_value=0, max_value=86_400),
        "goal_achieved": st.booleans(),
        "summary": st.text(max_size=100),
    },
).map(json.dumps)


@st.composite
def webhook_ids(draw) -> list[str]:
    """Ids of a few deliveries, sharing a prefix (short, or as long as a platform's
    ids may be): equal ids are the same delivery, different ids are different ones."""
    short = st.text(HEADER_TEXT, max_size=20)
    long = st.builds(
        lambda head, size: (head * size)[:size],
        st.text(HEADER_TEXT, min_size=1, max_size=8),
        st.integers(min_value=190, max_value=320),
    )
    prefix = draw(short | long)
    suffixes = draw(st.lists(st.text(HEADER_TEXT, max_size=6), min_size=2, max_size=4))
    return [prefix + suffix for suffix in suffixes if prefix + suffix]


def post(path: str, body: str, *, message_id: str, method: str = "POST", signed: bool = True):
    headers = signed_headers(message_id, body, now=timezone.now()) if signed else {}
    return Client().generic(method, path, data=body.encode(), content_type="application/json", headers=headers)


def moves(call: Call) -> int:
    return StatusChange.objects.filter(lead_id=call.lead_id, source=StatusChange.Source.WEBHOOK).count()


@st.composite
def deliveries(draw) -> list[tuple[str, str]]:
    """(webhook id, body) of each delivery, mostly reports that apply."""
    return [(message_id, draw(valid_reports | valid_reports | bodies)) for message_id in draw(webhook_ids())]


COMPLETED = json.dumps({"outcome": "completed"})


@given(sent=deliveries())
# Two deliveries whose ids share their first 200 characters (what the probe found).
@example(sent=[("0" * 200, COMPLETED), ("0" * 201, COMPLETED)])
def test_signed_deliveries_are_answered_and_move_the_lead_at_most_once(call, sent):
    path = f"/hooks/calls/{call.pk}/"
    with rolled_back():
        received: set[str] = set()
        for message_id, body in sent:
            response = post(path, body, message_id=message_id)
            assert response.status_code in {200, 400}, response.content
            if response.status_code == 200:
                result = response.json()["result"]
                # The same id is the same delivery; any other id, however alike, is another.
                if message_id in received:
                    assert result == "repeat", "a delivery received before is applied again"
                else:
                    assert result != "repeat", "a new delivery is taken for one received before"
                received.add(message_id)
        assert moves(call) <= 1
        assert CallReport.objects.filter(call=call, applied=True).count() <= 1


@given(body=bodies, message_id=st.text(HEADER_TEXT, min_size=1, max_size=40))
def test_the_same_delivery_twice_moves_the_lead_once(call, body, message_id):
    path = f"/hooks/calls/{call.pk}/"
    with rolled_back():
        first = post(path, body, message_id=message_id)
        again = post(path, body, message_id=message_id)
        assert first.status_code in {200, 400} and again.status_code == first.status_code
        if first.status_code == 200:
            assert again.json()["result"] == "repeat"
        assert moves(call) <= 1


path_segments = st.one_of(
    st.just("{call}"),
    st.just("{CALL}"),
    st.builds(lambda: str(uuid.uuid4())),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40).map(
        lambda s: quote(s, safe="")
    ),
    st.sampled_from(["", "..", "%00", "%2F", "%u0000", "null", "0" * 40]),
)


@given(
    prefix=st.sampled_from(["/hooks/calls/", "/hooks/calls//", "/hooks/call/", "/hooks/", "/HOOKS/calls/"]),
    segment=path_segments,
    slash=st.booleans(),
    query=st.sampled_from(["", "?x=1", "?webhook-id=1", "?" + "a" * 3000]),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    signed=st.booleans(),
    body=valid_reports | bodies,
    message_id=st.text(HEADER_TEXT, min_size=1, max_size=40),
)
# The webhook's own address without its trailing slash (what the probe found).
@example(
    prefix="/hooks/calls/",
    segment="{call}",
    slash=False,
    query="",
    method="POST",
    signed=True,
    body=COMPLETED,
    message_id="msg_1",
)
def test_any_path_and_method_gets_a_documented_answer(
    call, prefix, segment, slash, query, method, signed, body, message_id
):
    path = prefix + segment.format(call=call.pk, CALL=str(call.pk).upper()) + ("/" if slash else "") + query
    with rolled_back():
        response = post(path, body, message_id=message_id, method=method, signed=signed)
        assert response.status_code in ANSWERS, (path, response.status_code)
        assert moves(call) <= 1


@given(
    body=valid_reports | bodies,
    headers=st.fixed_dictionaries(
        {},
        optional={
            name: st.text(HEADER_TEXT | st.just(" "), max_size=120)
            | st.sampled_from(["", "v1,", "v1,AA==", "0", "-1", "99999999999999999999", "nan"])
            for name in ["webhook-id", "webhook-timestamp", "webhook-signature"]
        },
    ),
    keep=st.sets(st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"])),
)
def test_forged_or_damaged_signatures_are_refused(call, body, headers, keep):
    """Random headers, some of them taken from a real signature of another message:
    refused (401, or 400 for what no delivery may carry), the call untouched."""
    signed_body = json.dumps({"outcome": "busy"})
    assume(not (len(keep) == 3 and body == signed_body))  # that one is the genuine message
    genuine = signed_headers("msg_genuine", signed_body, now=timezone.now())
    forged = {**headers, **{name: genuine[name] for name in keep}}
    with rolled_back():
        response = Client().post(
            f"/hooks/calls/{call.pk}/", data=body.encode(), content_type="application/json", headers=forged
        )
        assert response.status_code in {400, 401}, (forged, response.content)
        assert Call.objects.get(pk=call.pk).ended_at is None and moves(call) == 0
