import pytest

from leads.imports.columns import MappingProblem, check_mapping, parse_target, suggest_mapping
from leads.layout import PRIMARY, RESULT_COLUMNS, Target


def test_hostile_headers_become_extra_variables_or_nothing():
    header = [
        "Phone",
        "secondary_phone_" + "9" * 5000,  # no int() of 5,000 digits
        "secondary_11_phone",
        "secondary_0_x",
        "phone_number__gt",
        "<b>Name</b>",
        "\x00",
        "secondary_1_" + "a" * 70,
    ]
    assert suggest_mapping(header, []) == [
        "phone",
        "var:" + ("secondary_phone_" + "9" * 5000)[:64],
        "var:secondary_11_phone",
        "var:secondary_0_x",
        "var:phone_number__gt",
        "var:b_name_b",
        "",
        "var:" + ("secondary_1_" + "a" * 70)[:64],
    ]


def test_a_checked_mapping_holds_targets():
    mapping = check_mapping(
        ["Phone", "Name", "Alt", "Alt name"], ["phone", "var:name", "secondary:2", "secondary:2:name"]
    )
    assert mapping.targets == [PRIMARY, Target.variable("name"), Target.phone(2), Target.variable("name", 2)]
    assert mapping.phone_column == "Phone" and mapping.has_secondary_columns
    assert [(column, index) for column, index, _ in mapping.mapped] == [
        ("Phone", 0),
        ("Name", 1),
        ("Alt", 2),
        ("Alt name", 3),
    ]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["var:name", ""], "No column holds the primary phone number"),
        (["phone", "secondary:11"], "“secondary:11” is not a place a column can go."),
        (["phone", "phone"], "both go to the primary number"),
        (["phone", "secondary:3:x", "secondary:3:x"], "both go to secondary number 3, variable x"),
        (["phone", "secondary:1", "secondary:01"], "both go to secondary number 1"),
    ],
)
def test_mappings_that_cannot_work_are_refused(keys, message):
    with pytest.raises(MappingProblem, match=message):
        check_mapping([f"c{i}" for i in range(len(keys))], keys)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Mobile", "phone"),
        ("phone_number", "phone"),
        ("Secondary Phone 2", "secondary:2"),
        ("secondary_2_contact_name", "secondary:2:contact_name"),
        ("timezone", "timezone"),
        ("status", "var:status"),
        ("ignore", ""),
    ],
)
def test_a_target_named_as_a_person_names_it(text, key):
    assert parse_target(text) == key


@pytest.mark.parametrize("text", ["<b>", "secondary_phone_" + "9" * 5000, "x" * 65])
def test_a_target_named_wrong_is_refused(text):
    with pytest.raises(MappingProblem):
        parse_target(text)


def test_an_exports_result_columns_are_ignored_like_its_state_columns():
    header = [
        "phone_number",
        "customer_name",
        "status",
        *RESULT_COLUMNS,
        "result_appointment_booked",
        "result_Only Last",
        "Result Reason",  # any spelling the import forgives
        "result_",
        "resultant",  # not a result column: a variable
    ]
    assert suggest_mapping(header, ["customer_name"]) == ["phone", "var:customer_name", *[""] * 12, "var:resultant"]


@pytest.mark.parametrize(
    "header", ["tel", "TEL", " Tel ", "cell", "Cell", "mobile phone", "Mobile_Phone", "MOBILE-PHONE"]
)
def test_tel_cell_and_mobile_phone_headers_are_the_primary_number(header):
    assert suggest_mapping([header, "customer_name"], ["customer_name"]) == ["phone", "var:customer_name"]
    assert parse_target(header) == "phone"


def test_a_phone_header_wins_over_tel_cell_and_mobile_phone_which_stay_variables():
    assert suggest_mapping(["cell", "Tel", "Phone", "Mobile Phone"], []) == [
        "var:cell",
        "var:tel",
        "phone",
        "var:mobile_phone",
    ]


def test_a_file_without_a_phone_column_is_told_every_name_it_could_use():
    with pytest.raises(MappingProblem, match="telephone, mobile phone, cell, tel"):
        check_mapping(["name"], ["var:name"])
