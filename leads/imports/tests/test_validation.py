from leads.imports.columns import check_mapping
from leads.imports.validation import RowError, parse_row


def test_a_rows_errors_are_column_and_message_pairs():
    mapping = check_mapping(
        ["Phone", "Alt: 2", "Alt name", "timezone"], ["phone", "secondary:2", "secondary:3:name", "timezone"]
    )
    row, errors = parse_row(mapping, 2, ["+14155550101", "+14155550101", "Ana", "Mars/Base"], region=None)
    assert row.phone == "+14155550101"
    assert errors == [
        RowError("timezone", "“Mars/Base” is not a time zone name (e.g. America/New_York)"),
        RowError("Alt: 2", "+14155550101 repeats the primary number"),
        RowError("Alt name", "has a value but secondary number 3 is empty"),
    ]
    assert str(errors[1]) == "Alt: 2: +14155550101 repeats the primary number"
    assert str(RowError(None, "a call to this lead is in progress")) == "a call to this lead is in progress"
