"""The calls list's export: one CSV row per call, the list's own filters, search and
order, streamed in bounded memory whatever the selection.

Its columns: the call and its lead (id, the person's name, the number dialled), the
campaign, when it was placed and ended (ISO 8601 with the offset, in the operator's
time zone, as the leads export writes dates), what it found out (outcome, duration,
goal, disposition, summary, recording, callback, opt-out) and then one
``result_<name>`` column per extracted variable any call of the selection carries:
the names come from one query over the whole selection, never a sample. Every cell a
spreadsheet would run as a formula is neutralised (``leads.layout.neutralise``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db import connections, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from leads.exports.writing import csv_lines
from leads.layout import neutralise
from leads.models import Call, Contact
from leads.naming import person_name

CHUNK = 2000
# The columns before the result columns, and the field each is read from ("number" is
# the number the call dialled; the lead's name comes from its primary number's variables).
COLUMNS = (
    ("call_id", "id"),
    ("lead_id", "lead_id"),
    ("lead_name", "lead_variables"),
    ("number", "phone"),
    ("campaign", "campaign__name"),
    ("attempt", "attempt"),
    ("placed_at", "placed_at"),
    ("ended_at", "ended_at"),
    ("outcome", "outcome"),
    ("duration_seconds", "duration_seconds"),
    ("goal_achieved", "goal_achieved"),
    ("disposition", "disposition"),
    ("summary", "summary"),
    ("recording_url", "recording_url"),
    ("callback_at", "callback_at"),
    ("callback_note", "callback_note"),
    ("opt_out", "opt_out"),
)
FIXED_COLUMNS = tuple(header for header, _ in COLUMNS)
RESULT_PREFIX = "result_"


def result_names(calls: QuerySet[Call]) -> list[str]:
    """Every extracted variable name any call of the selection carries, sorted: one
    query over the whole selection (the database lists each call's keys)."""
    connection = connections[calls.db]
    sql, params = calls.order_by().values("extracted_variables").query.sql_with_params()
    if connection.vendor == "postgresql":
        keys = (
            f"SELECT DISTINCT k.name FROM ({sql}) AS c, jsonb_object_keys(c.extracted_variables) AS k(name) "
            "WHERE jsonb_typeof(c.extracted_variables) = 'object'"
        )
    else:
        keys = (
            f"SELECT DISTINCT k.key FROM ({sql}) AS c, json_each(c.extracted_variables) AS k "
            "WHERE json_type(c.extracted_variables) = 'object'"
        )
    with connection.cursor() as cursor:
        cursor.execute(keys, params)
        return sorted(name for (name,) in cursor.fetchall())


def _cell(value: object, zone) -> str:
    """A value as the file writes it: dates with their offset, booleans as true/false,
    lists and objects as JSON, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if hasattr(value, "astimezone"):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def call_rows(calls: QuerySet[Call]) -> Iterator[list[str]]:
    """The header, then one row per call of ``calls`` in its order, every cell
    neutralised. Calls are read in chunks of CHUNK (a server-side cursor on
    PostgreSQL), each with its lead's name from its primary number in the same query."""
    zone = timezone.get_current_timezone()
    names = result_names(calls)
    header = [*FIXED_COLUMNS, *(RESULT_PREFIX + name for name in names)]
    yield [neutralise(cell) for cell in header]
    primary_variables = Contact.objects.filter(lead_id=OuterRef("lead_id"), position=0).values("variables")[:1]
    rows = calls.annotate(lead_variables=Subquery(primary_variables)).values_list(
        *(field for _, field in COLUMNS), "extracted_variables"
    )
    for call_id, lead_id, lead_variables, phone, *middle, extracted in rows.iterator(chunk_size=CHUNK):
        results = extracted if isinstance(extracted, dict) else {}
        yield [
            str(call_id),
            str(lead_id),
            neutralise(person_name(lead_variables, shown=None)),
            neutralise(phone, phone=True),
            *(neutralise(_cell(value, zone)) for value in middle),
            *(neutralise(_cell(results.get(name), zone)) for name in names),
        ]


def calls_csv(calls: QuerySet[Call]) -> Iterator[bytes]:
    """The export as encoded CSV lines, header first. In one transaction: outside one,
    Django's server-side cursor on PostgreSQL is WITH HOLD, which makes the database
    work out every row before it hands on the first."""
    with transaction.atomic(using=calls.db):
        yield from csv_lines(call_rows(calls))
