import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.tests.factories import make_campaign
from leads import services, transitions
from leads.filters import FilterProblem, filter_leads
from leads.models import ExportRecord, Lead
from leads.tests.factories import make_lead, phone, set_results
from leads.transitions import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads():
    """Five leads that differ in one way each."""
    spring, autumn = make_campaign(name="Spring"), make_campaign(name="Autumn")
    plain = make_lead(campaign=spring, primary="+14155550101", variables={"customer_name": "Ana", "city": "Austin"})
    second = make_lead(
        campaign=spring, secondaries=["+12125550102"], variables={"customer_name": "Ben", "city": "Boston"}
    )
    done = make_lead(campaign=autumn, variables={"customer_name": "Cy"})
    transitions.complete(Lead.objects.filter(pk=done.pk), actor=Actor.system())
    old = make_lead(campaign=autumn, variables={"customer_name": "Dee"})
    Lead.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=40),
        attempts=3,
        last_outcome="busy",
        last_attempt_at=timezone.now() - datetime.timedelta(days=39),
    )
    listed = make_lead(campaign=autumn, secondaries=[phone()], variables={"customer_name": "Eve"})
    services.do_not_call_add(phones=[listed.contacts.get(position=1).phone], actor=Actor.system())
    return {"plain": plain, "second": second, "done": done, "old": old, "listed": listed, "spring": spring}


def names(params) -> set[str]:
    return {lead.contacts.get(position=0).variables["customer_name"] for lead in filter_leads(params)}


def days_ago(n: int) -> str:
    return (timezone.localdate() - datetime.timedelta(days=n)).isoformat()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Ana", "Ben", "Cy", "Dee", "Eve"}),
        ({"status": ["completed"]}, {"Cy"}),
        ({"status": ["completed", "created"]}, {"Ana", "Ben", "Cy", "Dee", "Eve"}),
        ({"created_to": [days_ago(30)]}, {"Dee"}),
        ({"created_from": [days_ago(1)]}, {"Ana", "Ben", "Cy", "Eve"}),
        ({"last_attempt_from": [days_ago(40)], "last_attempt_to": [days_ago(39)]}, {"Dee"}),
        ({"last_outcome": ["busy"]}, {"Dee"}),
        ({"attempts_min": ["1"]}, {"Dee"}),
        ({"attempts_max": ["0"]}, {"Ana", "Ben", "Cy", "Eve"}),
        ({"has_secondary": ["true"]}, {"Ben", "Eve"}),
        ({"has_secondary": ["false"]}, {"Ana", "Cy", "Dee"}),
        ({"do_not_call": ["true"]}, {"Eve"}),
        ({"variable": ["city"], "value": ["Austin"]}, {"Ana"}),
        ({"variable": ["city"], "value_contains": ["OST"]}, {"Ben"}),
        ({"number": ["+1 415 555 01"]}, {"Ana"}),
        ({"number": ["212-555"]}, {"Ben"}),
        ({"status": ["created"], "has_secondary": ["true"], "do_not_call": ["false"]}, {"Ben"}),
    ],
)
def test_each_filter_alone_and_combined(leads, params, expected):
    assert names(params) == expected


def test_campaign_filter(leads):
    assert names({"campaign": [str(leads["spring"].pk)]}) == {"Ana", "Ben"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": ["lost"]}, "status"),
        ({"campaign": ["999999"]}, "campaign"),
        ({"campaign": ["abc"]}, "campaign"),
        ({"created_from": ["yesterday"]}, "created_from"),
        ({"attempts_min": ["many"]}, "attempts_min"),
        ({"has_secondary": ["perhaps"]}, "has_secondary"),
        ({"value": ["x"]}, "variable"),
        ({"variable": ["City Name"], "value": ["x"]}, "variable"),
    ],
)
def test_malformed_filters_are_refused_by_name(leads, params, field):
    with pytest.raises(FilterProblem, match=field):
        filter_leads(params)


def test_a_number_filter_that_is_not_a_number_matches_nothing(leads):
    assert names({"number": ["Ana"]}) == set()


def test_export_leads_writes_the_filtered_leads(leads, tmp_path):
    out = tmp_path / "out.csv"
    call_command(
        "export_leads", "--campaign", "Spring", "--filter", "has_secondary=false", "-o", str(out), stderr=io.StringIO()
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("phone_number,city,customer_name")  # no declared variables: by name
    assert len(lines) == 2 and lines[1].startswith("+14155550101,Austin,Ana")
    assert ExportRecord.objects.get().rows == 1


def test_export_leads_to_standard_output_and_xlsx(leads, tmp_path, capsysbinary):
    call_command("export_leads", "--status", "completed")
    assert capsysbinary.readouterr().out.decode().splitlines()[1].split(",")[1] == "Cy"
    out = tmp_path / "out.xlsx"
    call_command("export_leads", "--format", "xlsx", "-o", str(out), stderr=io.StringIO())
    import openpyxl

    assert openpyxl.load_workbook(out).active.max_row == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "Nope"], "No campaign"),
        (["--filter", "bogus=1"], "one of campaign"),
        (["--filter", "goal=true"], "goal=true"),
        (["--filter", "novalue"], "NAME=VALUE"),
        (["--status", "lost"], "status"),
        (["--filter", "attempts_min=x"], "attempts_min"),
    ],
)
def test_export_leads_fails_clearly(leads, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_leads", *args)
    assert not ExportRecord.objects.exists()


# --- a variable's name is data, never a lookup --------------------------------------

LOOKUP_NAMES = [
    "isnull",
    "has_key",
    "has_keys",
    "has_any_keys",
    "regex",
    "iregex",
    "gt",
    "lt",
    "contains",
    "icontains",
    "contained_by",
    "exact",
    "in",
    "startswith",
    "key",
    "a__b",
    "customer_name__isnull",
    "_",
]


@pytest.fixture
def named_like_lookups():
    """One lead carrying each name as a variable (value "x <name>"), and two leads
    with only the usual customer_name, which a lookup read into the name would match."""
    campaign = make_campaign(name="Lookups")
    carriers = {
        name: make_lead(campaign=campaign, variables={"customer_name": name, name: f"x {name}"})
        for name in LOOKUP_NAMES
    }
    make_lead(campaign=campaign, variables={"customer_name": "Plain", "city": "Austin"})
    make_lead(campaign=campaign, variables={"customer_name": "Other", "city": "customer_name"})
    return carriers


@pytest.mark.parametrize("name", LOOKUP_NAMES)
def test_a_variable_named_like_a_lookup_is_compared_as_a_variable(named_like_lookups, name):
    assert names({"variable": [name], "value": [f"x {name}"]}) == {name}
    assert names({"variable": [name], "value_contains": [f"X {name.upper()}"]}) == {name}
    assert names({"variable": [name], "value": ["x"]}) == set()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("isnull", "x"),
        ("isnull", "true"),
        ("has_key", "customer_name"),
        ("has_keys", "customer_name"),
        ("regex", "."),
        ("iregex", ".*"),
        ("gt", "a"),
        ("lt", "zzz"),
        ("contains", "customer_name"),
        ("contained_by", "{}"),
        ("in", "x"),
        ("a__b", "x"),
        ("customer_name__isnull", "false"),
    ],
)
def test_a_lookup_name_that_no_lead_carries_matches_no_lead(leads, name, value):
    # Read as lookups, these matched every lead with a customer_name (or failed).
    assert names({"variable": [name], "value": [value]}) == set()
    assert names({"variable": [name], "value_contains": [value]}) == set()


def test_a_like_pattern_in_the_value_is_text(leads):
    make_lead(campaign=leads["spring"], variables={"customer_name": "Pct", "city": "100% _sure_"})
    assert names({"variable": ["city"], "value_contains": ["%"]}) == {"Pct"}
    assert names({"variable": ["city"], "value_contains": ["_"]}) == {"Pct"}
    assert names({"variable": ["city"], "value": ["100% _sure_"]}) == {"Pct"}
    assert names({"variable": ["city"], "value": ["100%"]}) == set()


@pytest.mark.parametrize(
    "name",
    [
        "city'",
        'ci"ty',
        "c%",
        "a\x00b",
        "<b>x</b>",
        "a" * 65,
        "x" * 10_000,
        "City",
        "a b",
        "a.b",
        "$.a",
        "a->b",
        "0",
    ],
)
def test_a_name_no_variable_can_have_is_refused_by_name(leads, name):
    with pytest.raises(FilterProblem, match="variable"):
        filter_leads({"variable": [name], "value": ["x"]})


@pytest.mark.parametrize("name", ["isnull", "has_key", "a__b"])
def test_export_leads_compares_a_lookup_named_variable_as_a_variable(named_like_lookups, tmp_path, name):
    out = tmp_path / "out.csv"
    call_command(
        "export_leads",
        "--filter",
        f"variable={name}",
        "--filter",
        f"value=x {name}",
        "-o",
        str(out),
        stderr=io.StringIO(),
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and f"x {name}" in lines[1]


def test_export_leads_refuses_a_name_no_variable_can_have(leads):
    with pytest.raises(CommandError, match="variable"):
        call_command("export_leads", "--filter", "variable=ci'ty", "--filter", "value=x")


@pytest.mark.parametrize("contains", ["GARCIA", "garcía", "Garci\u0301a", "RCÍ"])
def test_a_variable_contains_whatever_the_case_and_accents(leads, contains):
    make_lead(campaign=leads["spring"], variables={"customer_name": "Fe", "city": "San García"})
    assert names({"variable": ["city"], "value_contains": [contains]}) == {"Fe"}
    assert names({"variable": ["city"], "value": [contains]}) == set()  # "equals" stays exact


def test_a_variable_contains_longer_than_any_value_is_refused_by_name(leads):
    with pytest.raises(FilterProblem, match="value_contains"):
        filter_leads({"variable": ["city"], "value_contains": ["a" * 60_000]})


# --- what the calls found out ------------------------------------------------------


@pytest.fixture
def found():
    """Four leads as their calls left them, and one never reached."""
    campaign = make_campaign(name="Results")
    soon = timezone.now() + datetime.timedelta(days=1)

    def lead(name: str, **fields) -> Lead:
        return set_results(make_lead(campaign=campaign, variables={"customer_name": name}), **fields)

    return {
        "booked": lead(
            "Booked",
            results={"appointment_booked": True, "appointment_time": "Tuesday 15:00", "budget": 500, "notes": "García"},
            goal_achieved=True,
            disposition="booked",
        ),
        "declined": lead(
            "Declined",
            results={"appointment_booked": False, "reason": "Too expensive, 100% sure", "budget": 42.5},
            goal_achieved=False,
            disposition="not-interested",
            callback_at=soon,
        ),
        "opted": lead(
            "Opted",
            results={"reason": 'said "never again"', "details": {"asked": ["twice"]}, "42": "answer"},
            disposition="do-not-call",
            opted_out_at=timezone.now(),
        ),
        "silent": lead("Silent"),
        "campaign": campaign,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"goal_achieved": ["true"]}, {"Booked"}),
        ({"goal_achieved": ["false"]}, {"Declined"}),
        ({"goal_achieved": ["unknown"]}, {"Opted", "Silent"}),
        ({"disposition": ["booked"]}, {"Booked"}),
        ({"disposition": ["not-interested"]}, {"Declined"}),
        ({"disposition": ["Booked"]}, set()),  # the label as the AI chose it
        ({"callback_pending": ["true"]}, {"Declined"}),
        ({"callback_pending": ["false"]}, {"Booked", "Opted", "Silent"}),
        ({"opted_out": ["true"]}, {"Opted"}),
        ({"opted_out": ["false"]}, {"Booked", "Declined", "Silent"}),
        ({"result": ["appointment_time"], "result_value": ["Tuesday 15:00"]}, {"Booked"}),
        ({"result": ["appointment_time"], "result_value": ["tuesday 15:00"]}, set()),  # equals: exactly
        ({"result": ["appointment_time"], "result_contains": ["TUES"]}, {"Booked"}),
        ({"result": ["appointment_booked"], "result_value": ["true"]}, {"Booked"}),  # as the export writes it
        ({"result": ["appointment_booked"], "result_value": ["false"]}, {"Declined"}),
        ({"result": ["budget"], "result_value": ["500"]}, {"Booked"}),
        ({"result": ["budget"], "result_value": ["42.5"]}, {"Declined"}),
        ({"result": ["budget"], "result_contains": ["5"]}, {"Booked", "Declined"}),
        ({"result": ["reason"], "result_contains": ["expensive"]}, {"Declined"}),
        ({"result": ["reason"], "result_contains": ["100%"]}, {"Declined"}),  # % is text
        ({"result": ["reason"], "result_contains": ["%"]}, {"Declined"}),
        ({"result": ["reason"], "result_contains": ["_"]}, set()),
        ({"result": ["reason"], "result_contains": ['"never']}, {"Opted"}),  # a quote, JSON-escaped in the text
        ({"result": ["reason"], "result_value": ['said "never again"']}, {"Opted"}),
        ({"result": ["details"], "result_value": ['{"asked": ["twice"]}']}, {"Opted"}),  # an object as JSON
        ({"result": ["details"], "result_contains": ['["twice"]']}, {"Opted"}),
        ({"result": ["42"], "result_value": ["answer"]}, {"Opted"}),  # a key, never an index
        ({"result": ["notes"], "result_contains": ["GARC"]}, {"Booked"}),
        ({"result": ["reason"], "result_value": ["expensive"]}, set()),
        ({"result": ["nobody_has_it"], "result_contains": ["a"]}, set()),
        ({"result": ["reason"]}, {"Booked", "Declined", "Opted", "Silent"}),  # a name alone filters nothing
        ({"goal_achieved": ["true"], "status": ["created"], "opted_out": ["false"]}, {"Booked"}),
        ({"goal_achieved": ["unknown"], "opted_out": ["false"]}, {"Silent"}),
        ({"callback_pending": ["false"], "opted_out": ["false"], "goal_achieved": ["unknown"]}, {"Silent"}),
    ],
)
def test_each_result_filter_alone_and_combined(found, params, expected):
    assert names(params) == expected
    assert names({**params, "campaign": [str(found["campaign"].pk)]}) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"goal_achieved": ["maybe"]}, "goal_achieved"),
        ({"goal_achieved": ["1"]}, "goal_achieved"),
        ({"callback_pending": ["perhaps"]}, "callback_pending"),
        ({"opted_out": ["yes"]}, "opted_out"),
        ({"disposition": ["x" * 65]}, "disposition"),
        ({"disposition": ["a\x00b"]}, "disposition"),
        ({"result_value": ["x"]}, "result"),
        ({"result_contains": ["x"]}, "result"),
        ({"result": ["x" * 201], "result_value": ["x"]}, "result"),
        ({"result": ["a\x00b"], "result_value": ["x"]}, "result"),
        ({"result": ["reason"], "result_value": ["a\x00b"]}, "result_value"),
        ({"result": ["reason"], "result_contains": ["x" * 1001]}, "result_contains"),
    ],
)
def test_malformed_result_filters_are_refused_by_name(found, params, field):
    with pytest.raises(FilterProblem, match=field):
        filter_leads(params)


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "[1e400]",
        '{"a": NaN}',
        "9" * 5000,
        "[" * 999,
        "[" * 499 + "]" * 499,
        "null",
        "{}",
        "[]",
    ],
)
def test_a_result_value_that_spells_no_storable_json_is_compared_as_text(found, value):
    assert names({"result": ["reason"], "result_value": [value[:1000]]}) == set()
    assert names({"result": ["reason"], "result_contains": [value[:1000]]}) == set()


# Names a platform may give its extracted variables: lookups, JSON path and SQL syntax,
# LIKE wildcards, markup; each is a key like any other.
RESULT_NAMES = [
    *LOOKUP_NAMES,
    "appointmentBooked",
    "Appointment Date",
    "a'b",
    'a"b',
    "a\\b",
    "$.a",
    "a->b",
    "a->>'b'",
    "%",
    "_",
    "0",
    "-1",
    "<b>x</b>",
    "café ☕",
    "a\nb",
]


@pytest.fixture
def results_named_like_lookups():
    """A lead carrying each name as a result (value "x <name>"), and two with only
    plain results, which a lookup or a pattern read into the name would match."""
    campaign = make_campaign(name="Result names")
    carriers = {
        name: set_results(
            make_lead(campaign=campaign, variables={"customer_name": name}),
            results={"reason": name, name: f"x {name}"},
        )
        for name in RESULT_NAMES
    }
    set_results(make_lead(campaign=campaign, variables={"customer_name": "Plain"}), results={"reason": "x"})
    set_results(make_lead(campaign=campaign, variables={"customer_name": "Other"}), results={"x": "reason"})
    return carriers


def test_a_result_named_like_a_lookup_or_a_pattern_is_compared_as_a_result(results_named_like_lookups):
    for name in RESULT_NAMES:  # one set of leads for every name: they are many
        assert names({"result": [name], "result_value": [f"x {name}"]}) == {name}, name
        assert names({"result": [name], "result_contains": [f"X {name.upper()}"]}) == {name}, name
        assert names({"result": [name], "result_value": ["x"]}) == set(), name


def test_export_leads_filters_by_results(found, tmp_path):
    out = tmp_path / "out.csv"
    call_command(
        "export_leads",
        "--filter",
        "result=reason",
        "--filter",
        "result_contains=EXPENSIVE",
        "--filter",
        "goal_achieved=false",
        "-o",
        str(out),
        stderr=io.StringIO(),
    )
    header, *rows = csv.reader(out.read_text(encoding="utf-8").splitlines())
    assert len(rows) == 1 and rows[0][header.index("result_reason")] == "Too expensive, 100% sure"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "goal_achieved=maybe"], "goal_achieved"),
        (["--filter", "result_value=x"], "result: Name the result to compare."),
        (["--filter", "opted_out=1"], "opted_out"),
    ],
)
def test_export_leads_refuses_a_malformed_result_filter(found, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_leads", *args)
    assert not ExportRecord.objects.exists()


def test_what_the_calls_report_is_what_the_filters_find(tmp_path):
    """End to end: the dialer calls three leads, the platform reports (a booking, a
    callback asked for, an opt-out), and the filters and export_leads find each by
    what its call found out."""
    from leads.dialer.tests.test_passes import T0, answer, dial, start

    campaign = make_campaign(name="Reported", goal_completion_variable="appointment_booked", max_calls_in_parallel=3)
    booked, later, stop = (make_lead(campaign=campaign, variables={"customer_name": n}) for n in ("Bo", "La", "St"))
    start(campaign)
    calls = {call.lead_id: call for call in dial(T0)}
    minute = datetime.timedelta(minutes=1)
    answer(
        calls[booked.pk],
        "completed",
        T0 + minute,
        goal_achieved=True,
        extracted_variables={"appointment_booked": True, "appointment_time": "Tuesday 15:00"},
        disposition="booked",
    )
    answer(
        calls[later.pk],
        "completed",
        T0 + minute,
        goal_achieved=False,
        extracted_variables={"appointment_booked": False, "reason": "needs to ask their partner"},
        disposition="call-back-later",
        callback_at=T0 + datetime.timedelta(days=1),
    )
    answer(calls[stop.pk], "completed", T0 + minute, opt_out=True, disposition="do-not-call")

    assert names({"goal_achieved": ["true"]}) == {"Bo"}
    assert names({"result": ["appointment_booked"], "result_value": ["false"]}) == {"La"}
    assert names({"result": ["reason"], "result_contains": ["Partner"]}) == {"La"}
    assert names({"disposition": ["call-back-later"], "callback_pending": ["true"]}) == {"La"}
    assert names({"opted_out": ["true"]}) == {"St"}
    assert names({"opted_out": ["false"], "campaign": [str(campaign.pk)], "status": ["completed"]}) == {"Bo"}

    out = tmp_path / "out.csv"
    call_command("export_leads", "--filter", "callback_pending=true", "-o", str(out), stderr=io.StringIO())
    header, row = csv.reader(out.read_text(encoding="utf-8").splitlines())
    row = dict(zip(header, row))
    assert (row["customer_name"], row["disposition"], row["result_reason"]) == (
        "La",
        "call-back-later",
        "needs to ask their partner",
    )
    assert row["callback_at"] and not row["opted_out_at"] and row["goal_achieved"] == "false"


@pytest.mark.parametrize(
    "params", [{"status": ["created", "completed"]}, {"status": ["created"], "opted_out": ["false"]}]
)
def test_the_filters_never_ask_for_distinct_rows(found, params):
    # Every filter is of the lead itself or an EXISTS: no lead comes twice, and a
    # SELECT DISTINCT would read every matching row for the list's first page.
    assert not filter_leads(params).query.distinct
