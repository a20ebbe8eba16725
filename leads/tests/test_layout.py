import re

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from campaigns.validators import VARIABLE_NAME_RE
from leads.layout import (
    CONSENT_COLUMNS,
    LEAD_COLUMNS,
    RESULT_COLUMNS,
    Columns,
    Target,
    key_of,
    neutralise,
    neutralise_sql,
    parse_header,
    phone_columns,
    unneutralise,
)
from leads.models import MAX_SECONDARY_NUMBERS

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://x")',
    "+10",
    "-5",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "+1 555 0101",
    "+1 (415) 555-0101",
    "+14155550101",
    "+1-2",
    "+SUM(1)",
    "+",
    "'=x",
    "''+1",
    "'tis",
    "'",
    "''",
    "it's",
    "=",
    "",
    "plain",
    "-",
    "@",
]


@pytest.mark.parametrize(
    ("value", "phone", "cell"),
    [
        ("=1+1", False, "'=1+1"),
        ("+10", False, "'+10"),  # text in a variable: a spreadsheet would make it 10
        ("+10", True, "+10"),
        ("+1 555 0101", False, "'+1 555 0101"),
        ("+1 555 0101", True, "+1 555 0101"),  # a number as people write one keeps its +
        ("+14155550101", True, "+14155550101"),
        ("+SUM(1)", True, "'+SUM(1)"),  # in a phone column too, what is no number is neutralised
        ("-5", True, "'-5"),
        ("'=x", False, "''=x"),  # already quoted by someone: one more, so the import gives it back
        ("'tis", False, "'tis"),
        ("\tx", False, "'\tx"),
        ("\rx", False, "'\rx"),
        ("", False, ""),
        ("Ana", False, "Ana"),
    ],
)
def test_one_rule_decided_by_the_column(value, phone, cell):
    assert neutralise(value, phone=phone) == cell


@pytest.mark.parametrize("phone", [False, True])
@pytest.mark.parametrize("value", HOSTILE)
def test_reading_a_cell_back_gives_the_value_written(value, phone):
    assert unneutralise(neutralise(value, phone=phone)) == value


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL form of the rule is PostgreSQL's")
@pytest.mark.django_db
@pytest.mark.parametrize("phone", [False, True])
def test_the_sql_rule_writes_what_the_python_rule_writes(phone):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {neutralise_sql('v', phone=phone)} FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
            [HOSTILE],
        )
        written = [cell or "" for (cell,) in cursor.fetchall()]
    assert written == [neutralise(value, phone=phone) for value in HOSTILE]


# --- Columns -----------------------------------------------------------------------

EVERY_KIND = [
    ("phone_number", Target.phone()),
    ("secondary_phone_1", Target.phone(1)),
    ("secondary_phone_10", Target.phone(10)),
    ("customer_name", Target.variable("customer_name")),
    ("secondary_3_contact_name", Target.variable("contact_name", 3)),
    ("secondary_10_phone", Target.variable("phone", 10)),
    ("timezone", Target.timezone()),
    *[(name, Target.state(name)) for name in LEAD_COLUMNS],
    ("result_appointment_booked", Target.result("appointment_booked")),
    ("result_Appointment Date", Target.result("Appointment Date")),  # the platform names results as it likes
    ("result_", Target.result("")),
    ("result_result_x", Target.result("result_x")),
]


@pytest.mark.parametrize(("header", "target"), EVERY_KIND)
def test_a_header_names_one_target_and_the_target_names_it_back(header, target):
    assert parse_header(header) == target
    assert target.header == header


@pytest.mark.parametrize(
    ("key", "target"),
    [
        ("phone", Target.phone()),
        ("var:customer_name", Target.variable("customer_name")),
        ("secondary:2", Target.phone(2)),
        ("secondary:2:contact_name", Target.variable("contact_name", 2)),
        ("timezone", Target.timezone()),
        ("", None),
    ],
)
def test_mapping_keys_keep_the_format_stored_in_databases(key, target):
    assert Target.from_key(key) == target
    assert key_of(target) == key


def test_the_state_columns_are_exported_never_imported():
    with pytest.raises(ValueError):
        key_of(Target.state("status"))
    # The import reads their names as the variables they would name.
    assert parse_header("status", state=False) == Target.variable("status")


def test_the_result_columns_are_exported_never_imported():
    assert RESULT_COLUMNS == (
        "goal_achieved",
        "disposition",
        "summary",
        "duration_seconds",
        "recording_url",
        "callback_at",
        "opted_out_at",
    )
    for target in (Target.state("summary"), Target.result("reason")):
        with pytest.raises(ValueError, match="exported, never imported"):
            key_of(target)
    assert parse_header("summary", state=False) == Target.variable("summary")
    assert parse_header("result_reason", state=False) == Target.variable("result_reason")
    assert Columns(state=["created_at"], results=["b", "a"], consent=[]).header()[-3:] == [
        "created_at",
        "result_b",
        "result_a",
    ]


def test_the_consent_columns_come_last_and_are_imported():
    """results-and-compliance.md §2b: "then the consent columns of section 5", which the
    import reads (under their own names) and the mapping keys by those names."""
    header = Columns(state=["created_at"], results=["a"]).header()
    assert header[-5:] == ["result_a", "consent", "consent_at", "consent_source", "consent_certificate"]
    for name in CONSENT_COLUMNS:
        assert parse_header(name, state=False) == parse_header(name) == Target.consent(name)
        assert Target.from_key(Target.consent(name).key) == Target.consent(name)
    assert Target.consent("consent_at").describe() == "when the consent was given"


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("<script>alert(1)</script>", None),
        ("a\x00b", None),
        ("", None),
        ("Phone_Number", None),  # exact names: case and spelling are the import's to forgive
        ("phone number", None),
        ("x" * 65, None),  # longer than a variable name
        ("phone_number__gt", Target.variable("phone_number__gt")),  # a name, never a lookup
        ("secondary_phone_0", Target.variable("secondary_phone_0")),  # no secondary number 0
        ("secondary_0_x", Target.variable("secondary_0_x")),
        ("secondary_phone_11", Target.variable("secondary_phone_11")),  # nor 11
        ("secondary_11_phone", Target.variable("secondary_11_phone")),
        ("secondary_phone_010", Target.phone(10)),
        ("secondary_phone_" + "9" * 5000, None),  # no int() of 5,000 digits
        ("secondary_" + "9" * 5000 + "_x", None),
        ("secondary_1_2nd", Target.variable("secondary_1_2nd")),  # 2nd is no variable name
        ("secondary_1_" + "a" * 64, Target.variable("a" * 64, 1)),
        ("secondary_1_" + "a" * 65, None),
    ],
)
def test_hostile_headers(header, target):
    assert parse_header(header) == target


@pytest.mark.parametrize(
    "key",
    [
        "secondary:11",
        "secondary:0",
        "secondary:0:x",
        "secondary:" + "9" * 5000,
        "var:Robert'); DROP",
        "var:",
        "var:" + "x" * 65,
        "phone:1",
        "secondary:1:",
        "phone\n",
        "status",
        "<b>phone</b>",
    ],
)
def test_a_key_that_is_no_target_is_refused_with_a_message(key):
    with pytest.raises(ValueError, match="is not a place a column can go"):
        Target.from_key(key)


def test_columns_come_in_the_layouts_order():
    columns = Columns(
        variables=["customer_name"], secondaries=2, secondary_variables=["contact_name"], state=["status"]
    )
    assert columns.header() == [
        "phone_number",
        "customer_name",
        "secondary_phone_1",
        "secondary_1_contact_name",
        "secondary_phone_2",
        "secondary_2_contact_name",
        "timezone",
        "status",
        *CONSENT_COLUMNS,
    ]
    assert [parse_header(name) for name in columns.header()] == columns.targets()


def test_phone_columns_are_the_numbers_phones():
    targets = [Target.phone(), Target.variable("phone"), Target.phone(3), None, Target.timezone()]
    assert phone_columns(targets) == [True, False, True, False, False]


# A variable whose name is another column's has no column of its own (the oracle is
# written here, apart from the module's grammar).
_OTHER_COLUMN = re.compile(
    r"phone_number|timezone|consent|consent_at|consent_source|consent_certificate|secondary_phone_0*([1-9]|10)|secondary_0*([1-9]|10)_[a-z_].*|result_.*"
)
names = st.from_regex(VARIABLE_NAME_RE, fullmatch=True)
positions = st.integers(min_value=1, max_value=MAX_SECONDARY_NUMBERS)
importable = st.one_of(
    st.just(Target.phone()),
    st.builds(Target.phone, positions),
    names.filter(lambda n: not _OTHER_COLUMN.fullmatch(n) and n not in LEAD_COLUMNS).map(Target.variable),
    st.builds(Target.variable, names, positions),
    st.just(Target.timezone()),
    st.sampled_from(CONSENT_COLUMNS).map(Target.consent),
)


@given(importable | st.sampled_from(LEAD_COLUMNS).map(Target.state) | st.text().map(Target.result))
def test_every_target_is_read_back_from_its_header(target):
    assert parse_header(target.header) == target


@given(importable)
def test_every_importable_target_is_read_back_from_its_key(target):
    assert Target.from_key(target.key) == target


@given(st.text())
def test_any_header_reads_as_a_target_that_names_itself_or_as_none(header):
    target = parse_header(header)
    assert target is None or parse_header(target.header) == target


@given(st.one_of(st.text(), st.from_regex(r"(var|secondary):[0-9a-z_:]*", fullmatch=True)))
def test_any_key_reads_as_a_target_that_keys_itself_or_is_refused(key):
    try:
        target = Target.from_key(key)
    except ValueError:
        return
    assert Target.from_key(key_of(target)) == target
