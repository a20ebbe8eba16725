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
