import re
import zipfile

import pytest

from leads.imports.files import FileProblem, cell_text, open_lead_file, read_head
from leads.imports.tests.filemakers import replace_in_xlsx, write_csv, write_xls, write_xlsx, write_xlsx_shared

HEADER = ["phone_number", "customer_name"]


def read(path, name=None):
    lead_file = open_lead_file(path, name or path.name)
    return lead_file.header, list(lead_file.rows)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_detected(tmp_path, delimiter):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["+14155550101", "Ana; Bob"]], delimiter=delimiter)
    assert read(path) == (HEADER, [(2, ["+14155550101", "Ana; Bob"])])


def test_csv_with_bom_and_windows_1252(tmp_path):
    bom = write_csv(tmp_path / "bom.csv", [HEADER, ["+14155550101", "Zoë"]], bom=True)
    cp = write_csv(tmp_path / "cp.csv", [HEADER, ["+14155550101", "Zoë Müller"]], encoding="cp1252")
    assert read(bom) == (HEADER, [(2, ["+14155550101", "Zoë"])])
    assert read(cp) == (HEADER, [(2, ["+14155550101", "Zoë Müller"])])


def test_csv_row_numbers_count_blank_rows_but_not_line_breaks_in_cells(tmp_path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["+14155550101", "two\nlines"], [], ["", " "], ["+14155550102", "x"]])
    assert read(path)[1] == [(2, ["+14155550101", "two\nlines"]), (5, ["+14155550102", "x"])]


def test_xlsx_numeric_cells_are_whole_digits(tmp_path):
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [
            HEADER + ["year", "score"],
            [14155550101, "Ana", 2001.0, 2.5],
            [None, None, None, None],
            [14155550102.0, "Bob", 1999, 0],
        ],
    )
    assert read(path) == (
        HEADER + ["year", "score"],
        [(2, ["14155550101", "Ana", "2001", "2.5"]), (4, ["14155550102", "Bob", "1999", "0"])],
    )


def test_xls_is_read(tmp_path):
    path = write_xls(tmp_path / "a.xls", [HEADER, [14155550101.0, "Ana"]])
    assert read(path) == (HEADER, [(2, ["14155550101", "Ana"])])


def test_cell_text():
    assert [cell_text(v) for v in [None, 1.0, 1e10, 3, "  x ", True, 0.5]] == [
        "",
        "1",
        "10000000000",
        "3",
        "x",
        "TRUE",
        "0.5",
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", b"", "empty"),
        ("a.csv", b"\n\n  \n", "empty"),
        ("a.csv", b",,,\n", "no header"),
        ("a.txt", b"phone_number\n+14155550101\n", "not a CSV, XLSX or XLS"),
        ("a.xlsx", b"phone_number\n+14155550101\n", "not a valid XLSX"),
        ("a.xlsx", b"PK\x03\x04garbage", "not a valid XLSX"),
        ("a.xls", b"phone_number\n+14155550101\n", "XLS workbook cannot be read"),
        ("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
    ],
)
def test_malformed_files_get_one_clear_message(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileProblem, match=message):
        read(path)


def test_an_xlsx_that_would_inflate_past_the_limit_is_refused_unread(tmp_path, settings):
    settings.LEADS_IMPORT_MAX_XLSX_UNPACKED = 1000
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "0" * 100_000)
    with pytest.raises(FileProblem, match="unpacks to more than"):
        read(path)


def test_an_empty_workbook_has_no_header(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [])
    with pytest.raises(FileProblem, match="no header"):
        read(path)


def test_rows_are_estimated_without_reading_cells(tmp_path):
    from leads.imports.files import estimate_rows

    rows = [HEADER] + [[f"+1415555{n:04d}", "x"] for n in range(25)]
    assert estimate_rows(write_csv(tmp_path / "a.csv", rows), "a.csv") == 25
    assert estimate_rows(write_xlsx(tmp_path / "a.xlsx", rows), "a.xlsx") == 25
    assert estimate_rows(write_xls(tmp_path / "a.xls", rows), "a.xls") == 25
    broken = tmp_path / "b.xlsx"
    broken.write_bytes(b"not a zip")
    assert estimate_rows(broken, "b.xlsx") == 0


def test_a_workbook_row_that_cannot_be_read_deep_in_the_file_is_one_file_problem(tmp_path):
    # Past the parser's first chunks, so the header and the first rows read well.
    path = write_xlsx(tmp_path / "broken.xlsx", [HEADER] + [[f"+1415555{n:04d}", "x" * 50] for n in range(2000)])
    replace_in_xlsx(
        path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'<row r="1500"', b'<row r="1500"><broken', 1)
    )
    lead_file = open_lead_file(path, path.name)
    assert lead_file.header == HEADER
    with pytest.raises(FileProblem, match=r"The workbook cannot be read at row \d+: "):
        list(lead_file.rows)


def test_a_csv_row_over_the_field_limit_is_one_file_problem(tmp_path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["+14155550101", "Ana"], ["+14155550102", "x" * 200_000]])
    lead_file = open_lead_file(path, path.name)
    with pytest.raises(FileProblem, match="at line 3: field larger than field limit"):
        list(lead_file.rows)


def test_a_nul_in_a_csv_header_past_its_first_64_kb_is_one_file_problem(tmp_path):
    header = ["phone_number"] + [f"column {n} " + "x" * 500 for n in range(140)] + ["bad\x00name"]
    path = write_csv(tmp_path / "a.csv", [header, ["+14155550101"]])
    with pytest.raises(FileProblem, match="column 142 holds a NUL character"):
        read(path)


def test_a_nul_in_an_xls_header_cell_is_one_file_problem(tmp_path):
    path = write_xls(tmp_path / "a.xls", [["phone_number", "bad\x00name"], ["+14155550101", "Ana"]])
    with pytest.raises(FileProblem, match="column 2 holds a NUL character"):
        read(path)


@pytest.mark.parametrize(("blank", "delimiter"), [("\n", ","), ("\r\n", ";"), (" \t\t\n", "\t"), ('""|""\n', "|")])
def test_blank_lines_before_the_header_are_read_past_however_many(tmp_path, blank, delimiter):
    path = tmp_path / "a.csv"
    path.write_text(blank * 70_000 + delimiter.join(HEADER) + "\n" + delimiter.join(["+14155550101", "Ana"]) + "\n")
    assert read(path) == (HEADER, [(70_002, ["+14155550101", "Ana"])])


def test_a_csv_a_million_columns_wide_is_refused_reading_no_further_than_the_limit(tmp_path, settings):
    import tracemalloc

    path = tmp_path / "wide.csv"
    path.write_text(",".join(["phone_number"] + ["c"] * 999_999) + "\n+14155550101\n")
    tracemalloc.start()
    try:
        with pytest.raises(FileProblem, match="more than 500 columns, the most one import takes"):
            read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # csv builds a whole record (1,000,000 cells, ~60 MB) before it can be counted.
    assert peak < 5 * 1024 * 1024


def _cell(n: int) -> str:
    # Cells that test the reading of quotes: delimiters, quotes and line breaks inside.
    return ["plain", "with, comma", 'with "quotes"', "two\nlines", '"', ",", ""][n % 7] + str(n)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_width_limit_counts_columns_as_the_csv_reader_does(tmp_path, settings, delimiter):
    settings.LEADS_IMPORT_MAX_COLUMNS = 30
    blank = [[""] * 30, [" "] * 5]  # blank rows before the header, within the limit
    allowed = write_csv(
        tmp_path / "a.csv", blank + [[_cell(n) for n in range(30)], ["+14155550101"]], delimiter=delimiter
    )
    assert len(read(allowed)[0]) == 30
    wide = write_csv(tmp_path / "b.csv", blank + [[_cell(n) for n in range(31)], ["+14155550101"]], delimiter=delimiter)
    with pytest.raises(FileProblem, match="more than 30 columns"):
        read(wide)


def test_a_header_cell_longer_than_a_column_name_is_refused(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["phone_number", "x" * 1001], ["+14155550101", "Ana"]])
    with pytest.raises(FileProblem, match="column 2 is longer than 1,000 characters"):
        read(path)


@pytest.mark.parametrize("write", [write_xlsx, write_xls])
def test_a_workbook_wider_than_the_limit_is_refused(tmp_path, settings, write):
    settings.LEADS_IMPORT_MAX_COLUMNS = 20
    path = write(tmp_path / f"a.{write.__name__.split('_')[1]}", [[f"c{n}" for n in range(21)], ["+14155550101"]])
    with pytest.raises(FileProblem, match="more than 20 columns"):
        read(path)
    allowed = write(tmp_path / f"b.{write.__name__.split('_')[1]}", [[f"c{n}" for n in range(20)], ["+14155550101"]])
    assert len(read(allowed)[0]) == 20


def test_the_head_of_a_workbook_reads_as_the_whole_workbook_does(tmp_path):
    import datetime

    rows = [
        [None],
        ["Phone", "Name", 2001, "when", "ok"],
        [14155550101, "Zoë", 2.5, datetime.date(2026, 1, 2), True],
        [None, None],
        ["+14155550102", "  Bob ", 0, None, False],
        ["+14155550103", "Cy", 1, None, None],
    ]
    shared = [[], ["Phone", "Name", 2001], [14155550101, "Zoë", 2.5], [], ["+14155550102", " Bob ", 0], ["x", "Cy"]]
    for path in (
        write_xlsx(tmp_path / "a.xlsx", rows),
        write_xls(tmp_path / "a.xls", rows[:3] + rows[4:]),
        write_csv(tmp_path / "a.csv", rows),
        write_xlsx_shared(tmp_path / "b.xlsx", shared),
    ):
        whole = open_lead_file(path, path.name)
        head = read_head(path, path.name, rows=2)
        assert head.header == whole.header
        assert head.samples == [cells for _, cells in list(whole.rows)[:2]]


def test_the_head_of_a_workbook_reads_only_the_texts_its_first_rows_use(tmp_path):
    # 5,000 more texts after the rows' own, then XML that breaks any reader of the
    # whole table.
    more = b"".join(b"<si><t>text %d of the table</t></si>" % n for n in range(5000)) + b"<si><broken>"
    path = write_xlsx_shared(
        tmp_path / "a.xlsx", [HEADER, ["+14155550101", "Ana"], [14155550102, "Bob"]], more_strings=more
    )
    head = read_head(path, path.name, rows=3)
    assert (head.header, head.samples) == (HEADER, [["+14155550101", "Ana"], ["14155550102", "Bob"]])
    with pytest.raises(FileProblem, match="XLSX workbook cannot be read"):
        open_lead_file(path, path.name)  # the whole table: what the worker reads


def test_the_head_of_a_workbook_reads_only_its_first_rows(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [HEADER] + [[f"+1415555{n:04d}", "x" * 50] for n in range(2000)])
    replace_in_xlsx(
        path, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'<row r="1500"', b'<row r="1500"><broken', 1)
    )
    assert read_head(path, path.name, rows=3).samples[2] == ["+14155550002", "x" * 50]


def test_a_row_wider_than_the_limit_is_refused_before_it_is_built(tmp_path, settings):
    settings.LEADS_IMPORT_MAX_COLUMNS = 50
    path = write_xlsx(tmp_path / "a.xlsx", [HEADER, ["+14155550101", "Ana"]])
    # No declared size, and a header of 100,000 cells.
    wide = b'<row r="1">' + b'<c t="inlineStr"><is><t>c</t></is></c>' * 100_000 + b"</row>"
    replace_in_xlsx(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b"", xml).replace(b'<row r="1"', wide + b'<row r="0"', 1),
    )
    with pytest.raises(FileProblem, match="more than 50 columns"):
        read_head(path, path.name, rows=3)


def test_a_shared_strings_bomb_is_refused_unread(tmp_path):
    bomb = b"<si><t>" + b"a" * 200 + b"</t></si>"
    path = write_xlsx_shared(tmp_path / "a.xlsx", [HEADER, ["+14155550101", "Ana"]], more_strings=bomb * 50_000)
    assert path.stat().st_size < 100 * 1024  # 10 MB of text in a small zip
    with pytest.raises(FileProblem, match="times over .* made to fill memory"):
        read_head(path, path.name, rows=3)
    with pytest.raises(FileProblem, match="made to fill memory"):
        open_lead_file(path, path.name)
