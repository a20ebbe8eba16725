import pytest
from django.db import connection

from leads.layout import neutralise, neutralise_sql, unneutralise

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
