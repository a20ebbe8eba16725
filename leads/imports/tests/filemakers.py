"""Real files of every kind a person brings, written by the tests."""

import csv
import io
from pathlib import Path


def csv_bytes(rows: list[list], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_csv(path: Path, rows: list[list], **kwargs) -> Path:
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_xls(path: Path, rows: list[list]) -> Path:
    import xlwt

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Leads")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    workbook.save(str(path))
    return path


def replace_in_xlsx(path: Path, member: str, change) -> Path:
    """Rewrite one part of a workbook (``change``: its bytes to new bytes), as an odd or
    hostile writer would."""
    import zipfile

    original = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item.filename, change(data) if item.filename == member else data, zipfile.ZIP_DEFLATED)
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def write_xlsx_shared(
    path: Path, rows: list[list], *, more_strings: bytes = b"", dimension: bool = True, references: bool = True
) -> Path:
    """An XLSX as Excel writes it, by hand: text in the shared-strings table, in the
    order of use (openpyxl writes text in the cells). ``more_strings`` go at the end
    of the table; without ``references`` rows and cells carry no r= (it is optional)."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}
    sheet = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f' r="{chr(65 + c)}{r}"' if references else ""
            if isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c{ref} t="s"><v>{index}</v></c>')
            elif value is not None:
                cells.append(f"<c{ref}><v>{value}</v></c>")
        sheet.append(f"<row{f' r={chr(34)}{r}{chr(34)}' if references else ''}>{''.join(cells)}</row>")
    width = max((len(row) for row in rows), default=1)
    size = f'<dimension ref="A1:{chr(64 + width)}{len(rows)}"/>' if dimension else ""
    table = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings).encode() + more_strings
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/></Types>'
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets><sheet name="Leads" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_DOC}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_MAIN}">{size}<sheetData>{"".join(sheet)}</sheetData></worksheet>'.encode(),
        "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}">'.encode() + table + b"</sst>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path
