"""The admin lists' querystrings under generated input (hypothesis): filter names and
values an operator, a stale bookmark or an attacker may send (lookups in a variable
name, ``__`` in a parameter, huge numbers, NUL, HTML, any unicode, a key repeated).
Whatever arrives, a list answers below 500 and never echoes markup unescaped.

Each example runs in leadsite.testing.rolled_back: the leads made by the fixture stay."""

import unicodedata
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from campaigns import services
from campaigns.tests.factories import make_assistant, make_campaign
from leads.dialer.backends.simulated import SimulatedBackend
from leads.filters import LeadFilter
from leads.models import Contact, Lead
from leads.tests.factories import make_lead, pass_at_any_hour, set_results
from leads.variables import value_text
from leadsite.testing import rolled_back

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


def unaccented(text: str) -> str:
    """What "contains" compares besides case (leads.folding): accents dropped."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


@pytest.fixture
def leads(admin_client_logged):
    """A campaign with leads that have variables and secondary numbers, one of them
    called: every list has rows for its filters to act on."""
    campaign = make_campaign(assistant=make_assistant(variables=[{"name": "customer_name"}]))
    ana = make_lead(campaign=campaign, variables={"customer_name": "Ana", "notes": "VIP"}, secondaries=["+12125550102"])
    set_results(make_lead(campaign=campaign, variables={"customer_name": SCRIPT}), results={"notes": SCRIPT})
    set_results(ana, results={"notes": "VIP", "count": 3, "flag": True, "isnull": "x"}, disposition="booked")
    services.campaign_start(campaign=campaign)
    pass_at_any_hour(SimulatedBackend(seed=1, duration_scale=1000))
    return admin_client_logged


# Lookups and transforms, as a variable name or a value: text that must stay data.
LOOKUPS = [
    "isnull",
    "has_key",
    "has_keys",
    "has_any_keys",
    "regex",
    "iregex",
    "gt",
    "gte",
    "lt",
    "contains",
    "icontains",
    "in",
    "exact",
    "startswith",
    "contained_by",
    "keys",
    "len",
    "customer_name",
    "customer_name__isnull",
    "notes__regex",
    "__",
    "_",
    "pk",
    "id",
    "0",
    "1__gt",
]
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "99999999999999999999",
    "-99999999999999999999",
    str(2**63),
    "1e309",
    "NaN",
    "inf",
    "\x00",
    "a\x00b",
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE leads_lead; --",
    "%",
    "%%",
    "_",
    "\\",
    "true",
    "false",
    "yes",
    "None",
    "null",
    "[]",
    "{}",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "2026-02-29",
    "+14155550101",
    "415",
    "+",
    "Ana",
    "an",
    "VIP",
    "ß",
    "İ",
    "🙂",
    "\u202e",
    "a" * 3000,
]
values = st.sampled_from(HOSTILE) | st.sampled_from(LOOKUPS) | st.text(max_size=30) | st.integers().map(str)

LEAD_PARAMS = sorted(LeadFilter.base_filters)
ADMIN_PARAMS = ["q", "o", "p", "all", "e", "_facets", "_changelist_filters", "_to_field", "_popup", "action"]
ORM_PARAMS = [
    "campaign__id__exact",
    "campaign__id",
    "status__exact",
    "status__in",
    "attempts__gt",
    "id__gte",
    "pk",
    "contacts__phone__regex",
    "contacts__variables__has_key",
    "campaign__assistant__name",
    "lead__id__exact",
    "outcome__exact",
    "goal_achieved__exact",
    "goal_achieved__isnull",
    "placed_at__gte",
    "placed_at__lt",
    "open",
    "source__exact",
    "to_status__exact",
    "from_status__exact",
    "assistant__id__exact",
    "file_format__exact",
    "created_at__gte",
    "password",
    "created_by__password__startswith",
]
keys = (
    st.sampled_from(LEAD_PARAMS)
    | st.sampled_from(ADMIN_PARAMS)
    | st.sampled_from(ORM_PARAMS)
    | st.builds(lambda a, b: f"{a}__{b}", st.sampled_from(LEAD_PARAMS + ORM_PARAMS), st.sampled_from(LOOKUPS))
    | st.text(max_size=20)
)
querystrings = st.lists(st.tuples(keys, values), max_size=6).map(urlencode)

OTHER_LISTS = [
    "/admin/leads/call/",
    "/admin/leads/statuschange/",
    "/admin/leads/exportrecord/",
    "/admin/leads/importrecord/",
    "/admin/leads/donotcallnumber/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/assistant/",
]


def get(client, url: str):
    response = client.get(url)
    assert response.status_code < 500, url
    assert SCRIPT.encode() not in response.content, f"{url} shows markup unescaped"
    return response


def shown(response) -> set[int]:
    """The leads the list shows (none when it answers with a redirect or an error)."""
    if response.status_code != 200 or response.context is None or "cl" not in response.context:
        return set()  # ?e=… (the admin's "database error" page) shows no list either
    return {lead.pk for lead in response.context["cl"].result_list}


def compares(held: str, wanted: str, *, exact: bool) -> bool:
    """Whether a filter asking for ``wanted`` may show a value ``held``: equal, or
    containing it in some case folding."""
    if exact:
        return held == wanted
    return any(fold(wanted) in fold(held) for fold in (str.lower, str.upper, str.casefold))


@given(query=querystrings)
@example(query="variable=isnull&value=x")
@example(query="status=rescheduled&status=completed&q=415&o=1&p=2")
def test_the_leads_list_answers_any_querystring(leads, query):
    with rolled_back():
        get(leads, f"/admin/leads/lead/?{query}")


@given(
    variable=st.sampled_from(["customer_name", "notes", *LOOKUPS]) | st.text(max_size=20),
    value=values,
    which=st.sampled_from(["value", "value_contains"]),
    before=querystrings,
)
@example(variable="isnull", value="x", which="value", before="")
@example(variable="has_key", value="customer_name", which="value", before="")
@example(variable="regex", value="^A", which="value", before="")
@example(variable="gt", value="A", which="value", before="")
def test_the_leads_list_reads_a_variable_name_as_data(leads, variable, value, which, before):
    """?variable=<name>&value=<text> shows only leads whose variable of that name has
    that value, whatever the name spells (a lookup, a transform, "__"), or nothing with
    a reason: never leads picked by a lookup the name turned into."""
    with rolled_back():
        # The variable filter last: a key repeated in ``before`` is the one replaced.
        response = get(leads, f"/admin/leads/lead/?{before}&{urlencode({'variable': variable, which: value})}")
        if not value.strip():
            return  # no value: the variable filter is not set
        matching = set()
        for contact in Contact.objects.filter(position=0):
            held = contact.variables.get(variable)
            if not isinstance(held, str):
                continue
            if which == "value" and held == value:
                matching.add(contact.lead_id)
            if which == "value_contains" and any(
                fold(value) in fold(held) for fold in (str.lower, str.upper, str.casefold, unaccented)
            ):
                matching.add(contact.lead_id)
        assert shown(response) <= matching, f"variable={variable!r} {which}={value!r} shows other leads"


@given(
    name=st.sampled_from(["notes", "count", "flag", *LOOKUPS]) | st.text(max_size=20),
    value=values,
    which=st.sampled_from(["result_value", "result_contains"]),
    before=querystrings,
)
@example(name="isnull", value="x", which="result_value", before="")
@example(name="flag", value="true", which="result_value", before="")
@example(name="count", value="3", which="result_value", before="goal_achieved=unknown")
@example(name="notes", value="%", which="result_contains", before="")
@example(name="notes", value='"', which="result_contains", before="opted_out=false")
def test_the_leads_list_reads_a_result_name_as_data(leads, name, value, which, before):
    """?result=<name>&result_value=<text> shows only leads whose result of that name
    has that text (as the export writes it), whatever the name spells, or nothing
    with a reason."""
    with rolled_back():
        response = get(leads, f"/admin/leads/lead/?{before}&{urlencode({'result': name, which: value})}")
        if not value.strip() or not name.strip():
            return  # nothing to compare, or a reason shown
        wanted, name = value.strip(), name.strip()  # as the form reads them
        matching = {
            lead.pk
            for lead in Lead.objects.exclude(results={})
            if name in lead.results and compares(value_text(lead.results[name]), wanted, exact=which == "result_value")
        }
        assert shown(response) <= matching, f"result={name!r} {which}={value!r} shows other leads"


@given(path=st.sampled_from(OTHER_LISTS), query=querystrings)
@example(path="/admin/leads/call/", query="campaign__id__exact=99999999999999999999")
@example(path="/admin/leads/statuschange/", query="q=99999999999999999999")
def test_every_other_admin_list_answers_any_querystring(leads, path, query):
    with rolled_back():
        get(leads, f"{path}?{query}")
