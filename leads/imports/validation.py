"""One row of a lead file, checked on its own: what it means, or every reason it is
refused, each naming its column. What needs the database (duplicates in the
campaign, the do-not-call list, required variables of new leads) is checked per
batch in leads.imports.services."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from leads.consent import parse_certificate, parse_consent_at, parse_level
from leads.layout import CONSENT, PHONE, TIMEZONE, VARIABLE, unneutralise
from leads.phones import InvalidPhoneNumber, normalize_phone
from leads.variables import MAX_VALUE_LENGTH

from .columns import Mapping

# Files we write neutralise cells a spreadsheet would run as a formula (leads.layout);
# reading a cell removes that again, its exact inverse.

# How each consent column's cell is read (leads.consent), to what it stores.
_CONSENT_READERS = {
    "consent": parse_level,
    "consent_at": lambda text: parse_consent_at(text).isoformat(),
    "consent_source": str,
    "consent_certificate": parse_certificate,
}


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass
class ParsedRow:
    row: int
    phone: str
    variables: dict[str, str] = field(default_factory=dict)
    # (phone, own variables), in the order of their columns, empty ones left out.
    secondaries: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    timezone: str = ""
    # The consent columns the row fills, by name (leads.consent's rules): the level,
    # consent_at as an ISO 8601 instant, the source and the certificate. A column left
    # empty is not here: a new lead gets the default, an updated one keeps its value.
    consent: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "row": self.row,
            "phone": self.phone,
            "variables": self.variables,
            "secondaries": self.secondaries,
            "timezone": self.timezone,
            "consent": self.consent,
        }

    @classmethod
    def from_json(cls, data: dict) -> ParsedRow:
        return cls(
            row=data["row"],
            phone=data["phone"],
            variables=data["variables"],
            secondaries=[(p, v) for p, v in data["secondaries"]],
            timezone=data["timezone"],
            # Rows validated before the consent columns existed have none.
            consent=data.get("consent", {}),
        )


class RowError(NamedTuple):
    """One reason a row is refused: the column it is about (None for the row as a
    whole) and what is wrong, as the error report and the import's page show it."""

    column: str | None
    message: str

    def __str__(self) -> str:
        return self.message if self.column is None else f"{self.column}: {self.message}"


def parse_row(mapping: Mapping, row: int, cells: list[str], *, region: str | None) -> tuple[ParsedRow, list[RowError]]:
    """Read one row through the mapping: what it says, and every reason it cannot be
    imported as it is (empty when it can). The primary number is set whenever it is
    valid, so the checks against the database can still add their reasons."""
    errors: list[RowError] = []
    phone = ""
    variables: dict[str, str] = {}
    secondary_phones: dict[int, tuple[str, str]] = {}  # n -> (column, E.164)
    secondary_values: dict[int, dict[str, tuple[str, str]]] = {}  # n -> name -> (column, value)
    secondary_given: set[int] = set()  # valid or not
    timezone = ""
    consent: dict[str, str] = {}

    for column, index, target in mapping.mapped:
        value = unneutralise(cells[index].strip()) if index < len(cells) else ""
        if len(value) > MAX_VALUE_LENGTH:
            errors.append(RowError(column, f"longer than {MAX_VALUE_LENGTH:,} characters"))
            continue
        if "\x00" in value:
            # Past the first 64 KB a CSV is not sniffed for binary data, and an .xls
            # cell may hold one: no database text can store it.
            errors.append(RowError(column, "holds a NUL character, which is not text"))
            continue
        kind, n = target.kind, target.position
        if kind == PHONE and not n:
            if not value:
                errors.append(RowError(column, "the phone number is missing"))
                continue
            try:
                phone = normalize_phone(value, region=region)
            except InvalidPhoneNumber as error:
                errors.append(RowError(column, str(error)))
        elif kind == TIMEZONE:
            if value and value not in _timezones():
                errors.append(RowError(column, f"“{value}” is not a time zone name (e.g. America/New_York)"))
            timezone = value
        elif kind == CONSENT:
            if value:
                try:
                    consent[target.name] = _CONSENT_READERS[target.name](value)
                except ValueError as problem:
                    errors.append(RowError(column, str(problem)))
        elif kind == VARIABLE:
            if value:
                if n:
                    secondary_values.setdefault(n, {})[target.name] = (column, value)
                else:
                    variables[target.name] = value
        elif value:  # secondary number n
            secondary_given.add(n)
            try:
                secondary_phones[n] = (column, normalize_phone(value, region=region))
            except InvalidPhoneNumber as error:
                errors.append(RowError(column, str(error)))

    seen = {phone: mapping.phone_column} if phone else {}
    secondaries: list[tuple[str, dict[str, str]]] = []
    for n in sorted(secondary_phones):
        column, number = secondary_phones[n]
        if number in seen:
            what = "the primary number" if number == phone else f"the number in {seen[number]}"
            errors.append(RowError(column, f"{number} repeats {what}"))
            continue
        seen[number] = column
        secondaries.append((number, {name: value for name, (_, value) in secondary_values.get(n, {}).items()}))
    for n, values in secondary_values.items():
        if n not in secondary_given:
            for column, _ in values.values():
                errors.append(RowError(column, f"has a value but secondary number {n} is empty"))

    parsed = ParsedRow(
        row=row, phone=phone, variables=variables, secondaries=secondaries, timezone=timezone, consent=consent
    )
    return parsed, errors


def parse_rows(
    mapping: Mapping, rows: list[tuple[int, list[str]]], region: str | None
) -> list[tuple[ParsedRow, list[RowError]]]:
    """parse_row over a batch; what the parallel workers run (a top-level function, so
    it can be sent to another process)."""
    return [parse_row(mapping, row, cells, region=region) for row, cells in rows]
