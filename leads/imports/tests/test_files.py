import zipfile

import pytest

from leads.imports.files import FileProblem, cell_text, open_lead_file
from leads.imports.tests.filemakers import write_csv, write_xls, write_xlsx

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
    path = write_xlsx(tmp_path / "a.xlsx", [HEADER + ["year", "score"], [14155550101, "Ana", 2001.0, 2.5], [None, None, None, None], [14155550102.0, "Bob", 1999, 0]])
    assert read(path) == (HEADER + ["year", "score"], [(2, ["14155550101", "Ana", "2001", "2.5"]), (4, ["14155550102", "Bob", "1999", "0"])])


def test_xls_is_read(tmp_path):
    path = write_xls(tmp_path / "a.xls", [HEADER, [14155550101.0, "Ana"]])
    assert read(path) == (HEADER, [(2, ["14155550101", "Ana"])])


def test_cell_text():
    assert [cell_text(v) for v in [None, 1.0, 1e10, 3, "  x ", True, 0.5]] == ["", "1", "10000000000", "3", "x", "TRUE", "0.5"]


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
    good = write_xlsx(tmp_path / "good.xlsx", [HEADER] + [[f"+1415555{n:04d}", "x" * 50] for n in range(2000)])
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<row r="1500"', b'<row r="1500"><broken', 1)
            target.writestr(item, data)
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
    header = ["phone_number"] + [f"column {n} " + "x" * 1000 for n in range(70)] + ["bad\x00name"]
    path = write_csv(tmp_path / "a.csv", [header, ["+14155550101"]])
    with pytest.raises(FileProblem, match="column 72 holds a NUL character"):
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
