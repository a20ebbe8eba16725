"""Reading lead files, row by row and in bounded memory: CSV in any of the usual
encodings and delimiters, XLSX (first sheet) and XLS.

Each reader yields the header once, then ``(row_number, cells)`` for every non-blank
row, where row_number is what a spreadsheet shows (the header is row 1, blank rows
count, a line break inside a quoted CSV cell does not start a new row). Problems with
the whole file raise FileProblem with a message for a person.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DELIMITERS = [",", ";", "\t", "|"]
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".xls": "xls"}


class FileProblem(ValueError):
    """The file as a whole cannot be imported; nothing is."""


@dataclass
class LeadFile:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def file_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise FileProblem(f"“{Path(name).name}” is not a CSV, XLSX or XLS file.")
    return FORMATS[suffix]


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: whole numbers without .0 or exponent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def _encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as UTF-8, else
    Windows-1252, what Excel on Windows writes. Checked in chunks: memory stays flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


_CONTENT = re.compile(r"\S")
SAMPLE_CHARS = 64 * 1024


def _from_first_line(stream) -> str:
    """The first 64 KB from the start of the first line that is not all space, or ""
    when the file is all space. Blank lines before it are read past, however many,
    in bounded memory."""
    line = ""  # the blank line read so far, its last 64 KB
    while chunk := stream.read(SAMPLE_CHARS):
        found = _CONTENT.search(chunk)
        if found is None:
            line += chunk
            line = line[max(line.rfind("\n"), line.rfind("\r")) + 1 :][-SAMPLE_CHARS:]
            continue
        start = max(chunk.rfind("\n", 0, found.start()), chunk.rfind("\r", 0, found.start()))
        return ((line + chunk if start < 0 else chunk[start + 1 :]) + stream.read(SAMPLE_CHARS))[:SAMPLE_CHARS]
    return ""


def _too_wide() -> FileProblem:
    limit = settings.LEADS_IMPORT_MAX_COLUMNS
    return FileProblem(
        f"The file has more than {limit:,} columns, the most one import takes (LEADS_IMPORT_MAX_COLUMNS); "
        "remove the columns it does not need."
    )


HEADER_CELL_CHARS = 1000  # a column's name; anything longer is not a header


class _CellTooLong(Exception):
    """A cell past csv's field limit: the csv reader refuses it, with its own message."""


def _check_width(stream, delimiter: str) -> None:
    """Refuse a CSV whose header, or a blank record before it, has more cells than
    LEADS_IMPORT_MAX_COLUMNS, reading no further than that: csv builds a whole record
    before anyone can count it (one line of 1,000,000 commas is 1,000,000 cells).

    Reads like csv's default dialect: a quote opens a quoted cell at a cell's start
    only, two quotes inside one are a quote, a line break inside one is text."""
    limit, cell_limit = settings.LEADS_IMPORT_MAX_COLUMNS, csv.field_size_limit()
    token = re.compile('["\r\n' + re.escape(delimiter) + "]")
    start, unquoted, quoted, closed = range(4)  # where in a cell the reading is
    state, cells, cell_chars, cell_text, record_text = start, 1, 0, False, False

    def text(chars: str) -> None:
        nonlocal state, cell_chars, cell_text, record_text
        if state in (start, closed):
            state = unquoted
        cell_chars += len(chars)
        if not cell_text and not chars.isspace():
            cell_text = record_text = True
        if cell_text and cell_chars > HEADER_CELL_CHARS:
            raise FileProblem(
                f"The header's column {cells} is longer than {HEADER_CELL_CHARS:,} characters: "
                "is the first row with something in it really the header?"
            )
        if cell_chars > cell_limit:
            raise _CellTooLong

    try:
        while chunk := stream.read(SAMPLE_CHARS):
            position = 0
            for match in token.finditer(chunk):
                if match.start() > position:
                    text(chunk[position : match.start()])
                position, char = match.end(), match.group()
                if state == quoted:
                    if char == '"':
                        state = closed
                    else:
                        text(char)  # a delimiter or line break inside quotes
                elif char == '"':
                    if state == start:
                        state = quoted
                    else:  # a quote inside an unquoted cell, or two inside a quoted one
                        was = state
                        text(char)
                        state = quoted if was == closed else unquoted
                elif char == delimiter:
                    state, cells, cell_chars, cell_text = start, cells + 1, 0, False
                    if cells > limit:
                        raise _too_wide()
                elif record_text:
                    return  # the header ended within the limit
                else:  # a blank record: the next may be the header
                    state, cells, cell_chars, cell_text = start, 1, 0, False
            if len(chunk) > position:
                text(chunk[position:])
    except _CellTooLong:
        return


def _checked_header(cells: list[str]) -> list[str]:
    if len(cells) > settings.LEADS_IMPORT_MAX_COLUMNS:
        raise _too_wide()
    for index, cell in enumerate(cells):
        if "\x00" in cell:
            # No database text holds it; it is binary data, not a column's name.
            raise FileProblem(
                f"The header's column {index + 1} holds a NUL character, which is not text: is it really a lead file?"
            )
    return cells


def _sniff_delimiter(sample: str) -> str:
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(path: Path) -> LeadFile:
    text_stream = path.open("r", encoding=_encoding(path), errors="replace", newline="")
    sample = _from_first_line(text_stream)
    text_stream.seek(0)
    if not sample:
        raise FileProblem("The file is empty.")
    if "\x00" in sample:
        raise FileProblem("The file is not a text CSV (it contains binary data). Is it really a .csv?")
    delimiter = _sniff_delimiter(sample)
    _check_width(text_stream, delimiter)
    text_stream.seek(0)
    reader = csv.reader(text_stream, delimiter=delimiter)
    # Spreadsheet rows are records: a blank line is a row, a line break inside a
    # quoted cell is not.
    records = enumerate(reader, start=1)
    try:
        for _row_number, record in records:
            if any(cell.strip() for cell in record):
                header = _checked_header([cell.strip() for cell in record])
                break
        else:
            raise FileProblem("The file has no header row.")
    except csv.Error as error:
        raise FileProblem(f"The CSV cannot be read: {error}.") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, record in records:
                if any(cell.strip() for cell in record):
                    yield number, [cell.strip() for cell in record]
        except (csv.Error, OSError, UnicodeError) as error:
            raise FileProblem(f"The CSV cannot be read at line {reader.line_num}: {error}.") from None
        finally:
            text_stream.close()

    return LeadFile(header=header, rows=rows())


# A shared-strings table holds each text once: one that deflates more than this many
# times over is made to fill memory, not written by a spreadsheet (theirs: 3-10 times).
STRINGS_MAX_RATIO = 100


def _check_archive(path: Path) -> None:
    """Refuse a zip that would inflate past the limit, or whose text table is a bomb,
    from its directory alone, whatever its size on disk."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileProblem("The file is not a valid XLSX workbook (is it really .xlsx?).") from None
    limit = settings.LEADS_IMPORT_MAX_XLSX_UNPACKED
    if sum(info.file_size for info in members) > limit:
        raise FileProblem(
            f"The XLSX workbook unpacks to more than {limit // (1024 * 1024)} MB; save it as CSV instead."
        )
    for info in members:
        if (
            info.filename.lower().endswith("sharedstrings.xml")
            and info.file_size > 1024 * 1024
            and info.file_size > STRINGS_MAX_RATIO * max(info.compress_size, 1)
        ):
            raise FileProblem(
                f"The XLSX workbook's text unpacks {info.file_size // max(info.compress_size, 1):,} times over "
                f"({info.file_size // (1024 * 1024)} MB): it is made to fill memory, not a spreadsheet's; "
                "save it as CSV instead."
            )


def unpacked_size(path: Path, name: str) -> int:
    """The bytes there are to read: a CSV's or an XLS's, an XLSX's once unzipped (a
    zip of 36 KB can hold 100,000 rows)."""
    if file_format(name) != "xlsx":
        return path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return path.stat().st_size


def read_xlsx(path: Path) -> LeadFile:
    import openpyxl

    _check_archive(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # Every row is as wide as the sheet says it is: refused before one is built.
        wide = (sheet.max_column or 0) > settings.LEADS_IMPORT_MAX_COLUMNS
        iterator = sheet.iter_rows(values_only=True)
    except Exception as error:  # openpyxl raises many types for damaged workbooks
        raise FileProblem(f"The XLSX workbook cannot be read: {type(error).__name__}.") from None
    if wide:
        workbook.close()
        raise _too_wide()
    return _sheet_rows(iterator, close=workbook.close)


class _FirstStrings:
    """A workbook's shared strings read from the start only as far as a cell asks
    (openpyxl reads the whole table before any cell): a header and its first rows use
    the first strings of the table, which spreadsheets fill in the order of use."""

    def __init__(self, archive: zipfile.ZipFile, name: str):
        from openpyxl.xml.functions import iterparse

        self._source = archive.open(name)
        self._events = iterparse(self._source)
        self._strings: list[str] = []

    def __getitem__(self, index: int) -> str:
        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS

        tag = f"{{{SHEET_MAIN_NS}}}si"
        while len(self._strings) <= index:
            for _, node in self._events:
                if node.tag == tag:
                    # As openpyxl's read_string_table reads it.
                    self._strings.append(Text.from_tree(node).content.replace("x005F_", ""))
                    node.clear()
                    break
            else:
                raise IndexError(f"shared string {index} is not in the workbook")
        return self._strings[index]

    def close(self) -> None:
        self._source.close()


def _first_workbook(path: Path):
    """The workbook opened read-only with _FirstStrings: its first rows cost what
    they hold, not what the whole workbook does."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class FirstRowsReader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                self.shared_strings = _FirstStrings(self.archive, part.PartName[1:])

    reader = FirstRowsReader(path, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        reader.archive.close()
        raise
    strings = reader.shared_strings

    def close() -> None:
        if isinstance(strings, _FirstStrings):
            strings.close()
        reader.wb.close()

    return reader.wb, close


class _Counted(Exception):
    """The first rows with values are counted."""


def _last_of_first_rows(archive: zipfile.ZipFile, sheet_path: str, rows: int) -> int:
    """The number of the sheet's row that ends its first ``rows`` rows holding a value,
    counting each one's cells before openpyxl builds it (it builds a row whole: one of
    1,000,000 cells is hundreds of MB), and refusing a row wider than the limit."""
    import xml.parsers.expat

    limit = settings.LEADS_IMPORT_MAX_COLUMNS
    number, cells, counted, in_value, has_value = 0, 0, 0, False, False

    def start(name: str, attrs: dict) -> None:
        nonlocal number, cells, in_value, has_value
        local = name.rsplit("}", 1)[-1]
        if local == "row":
            given = attrs.get("r", "")
            number = int(given) if given.isdigit() else number + 1
            cells, has_value = 0, False
        elif local == "c":
            cells += 1
            if cells > limit:
                raise _too_wide()
        elif local in ("v", "t"):
            in_value = True

    def end(name: str) -> None:
        nonlocal counted, in_value
        local = name.rsplit("}", 1)[-1]
        if local in ("v", "t"):
            in_value = False
        elif local == "row" and has_value:
            counted += 1
            if counted >= rows:
                raise _Counted

    def text(data: str) -> None:
        nonlocal has_value
        if in_value and data.strip():
            has_value = True

    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    # _Counted is raised to stop reading once the rows are counted.
    with archive.open(sheet_path) as source, contextlib.suppress(_Counted):
        parser.ParseFile(source)
    return number


@dataclass
class LeadFileHead:
    header: list[str]
    samples: list[list[str]]  # the first rows that are not blank


def _read_xlsx_head(path: Path, rows: int) -> LeadFileHead:
    _check_archive(path)
    try:
        workbook, close = _first_workbook(path)
    except Exception as error:
        raise FileProblem(f"The XLSX workbook cannot be read: {_reason(error)}.") from None
    try:
        sheet = workbook.worksheets[0]
        if (sheet.max_column or 0) > settings.LEADS_IMPORT_MAX_COLUMNS:
            raise _too_wide()
        # Slack for rows whose values are all blank text: the header may be below them.
        last = _last_of_first_rows(workbook._archive, sheet._worksheet_path, 2 * (rows + 1))
        lead_file = _sheet_rows(sheet.iter_rows(max_row=max(last, 1), values_only=True), close=lambda: None)
        samples = [cells for _, cells in itertools.islice(lead_file.rows, rows)]
    except FileProblem:
        raise
    except Exception as error:  # openpyxl, zipfile and XML parsers raise many types
        raise FileProblem(f"The XLSX workbook cannot be read: {_reason(error)}.") from None
    finally:
        close()
    return LeadFileHead(header=lead_file.header, samples=samples)


def read_head(path: Path, name: str, *, rows: int) -> LeadFileHead:
    """The header and the first ``rows`` rows, reading no more of the file than that:
    what a request reads (an XLSX's other rows and texts stay unread)."""
    if file_format(name) == "xlsx":
        if path.stat().st_size == 0:
            raise FileProblem("The file is empty.")
        return _read_xlsx_head(path, rows)
    lead_file = open_lead_file(path, name)
    try:
        samples = [cells for _, cells in itertools.islice(lead_file.rows, rows)]
    finally:
        lead_file.rows.close()
    return LeadFileHead(header=lead_file.header, samples=samples)


def read_xls(path: Path) -> LeadFile:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as error:  # xlrd raises its own and struct errors for damaged files
        raise FileProblem(f"The XLS workbook cannot be read: {type(error).__name__}.") from None

    def values():
        for index in range(sheet.nrows):
            yield [
                None if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else cell.value
                for cell in sheet.row(index)
            ]

    return _sheet_rows(values(), close=book.release_resources)


def _reason(error: Exception) -> str:
    """What a reading library said, for a person: its first line, or its kind."""
    text = str(error).strip().split("\n", 1)[0][:200]
    return text or type(error).__name__


def _sheet_rows(iterator, *, close) -> LeadFile:
    header: list[str] | None = None
    row_number = 0
    for values in iterator:
        row_number += 1
        cells = [cell_text(v) for v in values]
        if any(cells):
            header = cells
            break
    try:
        _checked_header(header or [])
    except FileProblem:
        close()
        raise
    if header is None:
        close()
        raise FileProblem("The file has no header row.")

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = row_number
        try:
            for values in iterator:
                number += 1
                cells = [cell_text(v) for v in values]
                if any(cells):
                    yield number, cells
        except Exception as error:  # openpyxl, xlrd, zipfile and XML parsers raise many types
            raise FileProblem(f"The workbook cannot be read at row {number + 1}: {_reason(error)}.") from None
        finally:
            close()

    return LeadFile(header=header, rows=rows())


def open_lead_file(path: Path, name: str) -> LeadFile:
    """Open ``path`` (uploaded as ``name``) for reading, or raise FileProblem."""
    kind = file_format(name)
    if path.stat().st_size == 0:
        raise FileProblem("The file is empty.")
    reader = {"csv": read_csv, "xlsx": read_xlsx, "xls": read_xls}[kind]
    return reader(path)


def estimate_rows(path: Path, name: str) -> int:
    """About how many data rows the file has, for a progress bar, without reading its
    cells: newlines for CSV, the declared size of an XLSX sheet (what openpyxl reads of
    it), rows of an XLS
    (at most 65,536). 0 when it cannot tell."""
    kind = file_format(name)
    try:
        if kind == "csv":
            lines = 0
            with path.open("rb") as handle:
                while chunk := handle.read(4 * 1024 * 1024):
                    lines += chunk.count(b"\n")
            return max(lines - 1, 0)
        if kind == "xlsx":
            workbook, close = _first_workbook(path)
            try:
                return max((workbook.worksheets[0].max_row or 1) - 1, 0)
            finally:
                close()
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        try:
            return max(book.sheet_by_index(0).nrows - 1, 0)
        finally:
            book.release_resources()
    except Exception:  # a damaged file: reading it says why, later
        return 0
