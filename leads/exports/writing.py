"""Writing leads to CSV or XLSX, in the layout the import reads, so an export imports
back unchanged (into the same or another campaign).

Rows are produced in bounded memory whatever the selection. On PostgreSQL a CSV export
is one ``COPY (SELECT …) TO STDOUT``: the database writes every cell (neutralised, dates
in the operator's zone) and Python passes the bytes on. Elsewhere, and for XLSX, leads
come in chunks of their queryset's own order, each chunk's numbers in one more query,
and Python writes the cells.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from campaigns.models import Campaign, Variable
from leads.layout import (
    CONSENT_COLUMNS,
    LEAD_COLUMNS,
    PHONE,
    PRIMARY,
    RESULT,
    VARIABLE,
    Columns,
    Target,
    neutralise,
    neutralise_sql,
    parse_header,
    phone_columns,
)
from leads.models import MAX_SECONDARY_NUMBERS, Contact, Lead
from leads.variables import value_text

CHUNK = 2000
# Excel's last row, less the header.
XLSX_MAX_ROWS = 1_048_575


class ExportTooLarge(ValueError):
    """The selection does not fit the format (XLSX holds 1,048,575 rows)."""


def _declared(leads: QuerySet[Lead]) -> list[str]:
    """The variables the assistants of the selection's campaigns declare, in their
    order. Campaigns are few: each is probed for one lead of the selection (an index
    lookup), never the selection scanned."""
    campaigns = Campaign.objects.filter(Exists(leads.order_by().filter(campaign=OuterRef("pk"))))
    names = Variable.objects.filter(assistant__campaigns__in=campaigns).order_by("position", "name")
    return list(dict.fromkeys(names.values_list("name", flat=True)))


def _carried(leads: QuerySet[Lead]) -> tuple[set[str], set[str], int]:
    """Every variable name the selection's leads carry (primary numbers, secondary
    numbers) and their deepest secondary number, from all of them: one pass over
    their numbers (on PostgreSQL one aggregate of jsonb_object_keys)."""
    contacts = Contact.objects.filter(lead__in=leads.order_by().values("pk")).order_by()
    primary: set[str] = set()
    secondary: set[str] = set()
    deepest = 0
    if connection.vendor == "postgresql":
        sql, params = contacts.values("position", "variables").query.sql_with_params()
        rows = _raw(
            f"SELECT c.position, k.name FROM ({sql}) AS c LEFT JOIN LATERAL jsonb_object_keys(c.variables) "
            "AS k(name) ON true GROUP BY c.position, k.name",
            params,
        )
    else:
        rows = (
            (position, name)
            for position, values in contacts.values_list("position", "variables").iterator()
            for name in (values or [None])
        )
    for position, name in rows:
        deepest = max(deepest, position)
        if name is not None:
            (secondary if position else primary).add(name)
    return primary, secondary, deepest


def _result_names(leads: QuerySet[Lead]) -> list[str]:
    """Every result name any lead of the selection carries, by name: one query over
    the whole selection (the keys of each lead's results), never a sample."""
    sql, params = leads.order_by().exclude(results={}).values("results").query.sql_with_params()
    keys = "jsonb_object_keys(l.results)" if connection.vendor == "postgresql" else "json_each(l.results)"
    column = "k.name" if connection.vendor == "postgresql" else "k.key"
    alias = "k(name)" if connection.vendor == "postgresql" else "k"
    return sorted(name for (name,) in _raw(f"SELECT DISTINCT {column} FROM ({sql}) AS l, {keys} AS {alias}", params))


def _raw(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def default_columns(leads: QuerySet[Lead]) -> Columns:
    """Every column the selection fills: the variables the campaigns' assistants
    declare and every other name its leads carry, as many secondary numbers as any
    has, with every name those carry, and a column per result any lead has. From the
    whole selection, never a sample; it reads every number and result of the
    selection, so it runs where the export itself does."""
    declared = _declared(leads)
    primary, secondary, deepest = _carried(leads)
    # Declared variables in the assistant's order, then the others by name: the same
    # layout on every database (PostgreSQL keeps JSON keys in an order of its own).
    # A variable named like one of the lead's own columns (status, summary,
    # result_code) has no column of its own: the lead's column is the one written.
    variables = [name for name in declared + sorted(primary - set(declared)) if _target(name).kind == VARIABLE]
    return Columns(
        variables=variables,
        secondaries=min(deepest, MAX_SECONDARY_NUMBERS),
        secondary_variables=sorted(secondary),
        results=_result_names(leads),
    )


# The export page's choices that stand for columns only the whole selection knows.
OTHER_VARIABLES = "other variables"
SECONDARY_NUMBERS = "secondary numbers"
RESULTS = "results"
GROUP_LABELS = {
    OTHER_VARIABLES: "every other variable the leads carry, a column each",
    SECONDARY_NUMBERS: "secondary_phone_N and secondary_N_<variable>, as many as the leads have",
    RESULTS: "result_<name>: every result the leads' calls extracted, a column each",
}


def export_choices(leads: QuerySet[Lead]) -> list[str]:
    """What the export page offers to pick, at the list's speed whatever the
    selection: the primary number, each declared variable, the other variables and
    the secondary numbers (two groups, expanded by ``export_header`` for the whole
    selection when the file is written), the time zone, the state columns, what the
    calls found out, the results (a group, expanded the same way) and the consent."""
    return [
        PRIMARY.header,
        *(name for name in _declared(leads) if _target(name).kind == VARIABLE),
        OTHER_VARIABLES,
        SECONDARY_NUMBERS,
        Target.timezone().header,
        *LEAD_COLUMNS,
        RESULTS,
        *CONSENT_COLUMNS,
    ]


def export_header(leads: QuerySet[Lead], picked: list[str]) -> list[str]:
    """The file's columns for what was picked (export_choices' names, or columns by
    name), in the layout's order, every group expanded for the whole selection."""
    chosen = set(picked)
    declared = set(_declared(leads))

    def wanted(target: Target) -> bool:
        if target.header in chosen:
            return True
        if target.kind == RESULT:
            return RESULTS in chosen
        if target.position:
            return SECONDARY_NUMBERS in chosen
        return target.kind == VARIABLE and target.name not in declared and OTHER_VARIABLES in chosen

    return [target.header for target in default_columns(leads).targets() if wanted(target)]


def _target(column: str) -> Target:
    """What the export's column named ``column`` holds. Every column the export writes
    is in the layout; any other name is read as the variable it names, as before."""
    return parse_header(column) or Target.variable(column)


def _texter(zone):
    """A function writing a cell's value as text, dates in ``zone`` (looked up once:
    Django's current time zone is a thread-local, slow to read a million times), any
    other value (a variable's or a result's, the goal) as ``value_text`` writes it."""

    def text(value) -> str:
        if value.__class__ is str:
            return value
        if hasattr(value, "astimezone"):
            return value.astimezone(zone).isoformat(timespec="seconds")
        return value_text(value)

    return text


# The lead's fields export_rows reads, by their columns' names (the campaign's name
# for "campaign"), its consent, then its results.
_LEAD_VALUES = ["timezone", *LEAD_COLUMNS, *CONSENT_COLUMNS, "results"]
LEAD_FIELDS = ["pk", *("campaign__name" if name == "campaign" else name for name in _LEAD_VALUES)]


def _numbers() -> Subquery:
    """A lead's numbers by position, as one JSON array of {"p": phone, "v": variables}."""
    return Subquery(
        Contact.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(all=JSONBAgg(JSONObject(p="phone", v="variables"), order_by="position"))
        .values("all")
    )


def _with_numbers(leads: QuerySet[Lead]) -> Iterator[tuple]:
    """(lead fields…, [(phone, variables), …] by position) for each lead, in order.

    PostgreSQL aggregates each lead's numbers into the same row, so a million leads
    are one streamed query; elsewhere, one more query per chunk of leads.
    """
    leads = leads.prefetch_related(None)  # the admin list prefetches for display only
    if connection.vendor == "postgresql":
        for *fields, agg in (
            leads.annotate(numbers=_numbers()).values_list(*LEAD_FIELDS, "numbers").iterator(chunk_size=CHUNK)
        ):
            yield (*fields, [(n["p"], n["v"]) for n in agg or []])
        return
    rows = leads.values_list(*LEAD_FIELDS).iterator(chunk_size=CHUNK)
    while chunk := [row for _, row in zip(range(CHUNK), rows)]:
        by_lead: dict[int, list[tuple[str, dict]]] = {}
        for lead_id, phone, values in (
            Contact.objects.filter(lead_id__in=[row[0] for row in chunk])
            .order_by("lead_id", "position")
            .values_list("lead_id", "phone", "variables")
        ):
            by_lead.setdefault(lead_id, []).append((phone, values))
        for row in chunk:
            yield (*row, by_lead.get(row[0], []))


def export_rows(leads: QuerySet[Lead], header: list[str]) -> Iterator[list[str]]:
    """The header, then one row per lead with those columns, in the queryset's order."""
    yield list(header)
    _text = _texter(timezone.get_current_timezone())
    targets = [_target(column) for column in header]
    # What each column takes, worked out once: a number's phone or value (by position)
    # or, for the time zone and the state, the lead's field by name.
    cells = [(t.kind, t.position, t.name if t.kind in (PHONE, VARIABLE, RESULT) else t.header) for t in targets]
    phones = phone_columns(targets)
    for _pk, *fields, contacts in _with_numbers(leads):
        state = dict(zip(_LEAD_VALUES, fields))
        results = state["results"] or {}
        row = []
        for kind, position, name in cells:
            if kind == PHONE:
                row.append(contacts[position][0] if position < len(contacts) else "")
            elif kind == VARIABLE:
                values = contacts[position][1] if position < len(contacts) else {}
                row.append(_text(values.get(name)))
            elif kind == RESULT:
                row.append(_text(results.get(name)))
            else:
                row.append(_text(state[name]))
        yield [neutralise(value, phone=phone) for value, phone in zip(row, phones)]


class Counted:
    """Export rows passed through, counting the leads (not the header) as they go;
    ``on_done`` gets the count when they run out (a streamed response ends later
    than the view that started it)."""

    def __init__(self, rows: Iterable[list[str]], on_done=None):
        self.rows, self.on_done, self.leads = rows, on_done, 0

    def __iter__(self) -> Iterator[list[str]]:
        for index, row in enumerate(self.rows):
            self.leads = index
            yield row
        if self.on_done is not None:
            self.on_done(self.leads)


class _Echo:
    """What csv.writer writes into, to hand each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]], *, bom: bool = False, line_end: str = "\r\n") -> Iterator[bytes]:
    """Encoded CSV, line by line (for a streaming response or a file). Python's csv
    quotes a cell holding \r only when lines end with \r\n, so that is the default."""
    writer = csv.writer(_Echo(), lineterminator=line_end)
    if bom:
        yield "\ufeff".encode()
    for row in rows:
        yield writer.writerow(row).encode("utf-8")


def csv_export(
    leads: QuerySet[Lead], header: list[str], *, bom: bool = False, on_done: Callable[[int], object] | None = None
) -> Iterator[bytes]:
    """The export as encoded CSV, header first; ``on_done`` gets the number of leads
    written once they all are."""
    if connection.vendor == "postgresql":
        return _copy_csv(leads, header, bom=bom, on_done=on_done)
    return csv_lines(Counted(export_rows(leads, header), on_done=on_done), bom=bom)


COPY_BLOCK = 256 * 1024


def _copy_csv(leads: QuerySet[Lead], header: list[str], *, bom: bool, on_done) -> Iterator[bytes]:
    """PostgreSQL writes the rows (``COPY … TO STDOUT``), handed on in blocks of about
    COPY_BLOCK bytes. Dates are written in the current time zone, as the Python path
    writes them: the session's zone is set for this transaction only."""
    sql, params = _copy_select(leads, header)
    # The statement goes with its parameters bound here, on the client: Django's
    # debug cursor (DEBUG on) takes copy(statement) without parameters, and the
    # plain cursor takes it too, so one statement runs either way.
    statement = connection.ops.compose_sql(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params)
    # COPY ends lines with \n (and quotes any cell holding \r or \n): the header too.
    block = bytearray().join(csv_lines([header], bom=bom, line_end="\n"))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)",
            [timezone.get_current_timezone_name()],
        )
        ((session_zone, _),) = cursor.fetchall()
        # Neither cursor wraps copy() in Django's error classes, as it does execute().
        with connection.wrap_database_errors, cursor.copy(statement) as copy:
            for data in copy:
                block += data
                if len(block) >= COPY_BLOCK:
                    yield bytes(block)
                    block.clear()
        rows = cursor.rowcount
        # Inside a caller's transaction the setting would outlive this block, and
        # Django reads dates assuming the session's own zone: put it back.
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])
    yield bytes(block)
    if on_done is not None:
        on_done(rows)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_DATE_SQL = """to_char({0}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""
_DATE_COLUMNS = ("last_attempt_at", "next_attempt_at", "created_at", "callback_at", "opted_out_at", "consent_at")


def _copy_select(leads: QuerySet[Lead], header: list[str]) -> tuple[str, list]:
    """One SELECT giving the export's cells, in the queryset's order.

    Three levels: the leads query with its filters, ORDER BY and each lead's numbers
    aggregated once (PostgreSQL keeps a subquery with ORDER BY as it is); the raw
    values picked out of it; the cells written from them. The outer two are plain
    projections, which PostgreSQL merges and which do not reorder rows.
    """
    if not leads.ordered:
        leads = leads.order_by("-pk")
    inner = (
        leads.prefetch_related(None)
        .annotate(x_numbers=_numbers())
        .values(
            x_timezone=F("timezone"),
            **{f"x_{name}": F("campaign__name" if name == "campaign" else name) for name in LEAD_COLUMNS},
            **{f"x_{name}": F(name) for name in CONSENT_COLUMNS},
            x_results=F("results"),
            x_all=F("x_numbers"),
        )
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    raw: list[str] = []
    cells: list[str] = []
    for index, target in enumerate(_target(column) for column in header):
        value = f"r.c{index}"
        # Every text cell through the one rule, as export_rows writes it; dates and
        # numbers cannot start like a formula.
        if target.kind == PHONE:
            raw.append(f"l.x_all->{target.position}->>'p'")
            cells.append(neutralise_sql(value, phone=True))
        elif target.kind == VARIABLE:
            raw.append(f"l.x_all->{target.position}->'v'->>{_sql_text(target.name)}")
            cells.append(neutralise_sql(value))
        elif target.kind == RESULT:
            # ->> writes true/false, numbers and objects as export_rows does.
            raw.append(f"l.x_results->>{_sql_text(target.name)}")
            cells.append(neutralise_sql(value))
        else:  # the time zone, one of the lead's columns or its consent: its field of that name
            field = target.header
            raw.append(f"l.x_{field}")
            if field in _DATE_COLUMNS:
                cells.append(_DATE_SQL.format(value))
            elif field in ("attempts", "duration_seconds"):
                cells.append(value)
            elif field == "goal_achieved":
                cells.append(f"CASE WHEN {value} THEN 'true' WHEN NOT {value} THEN 'false' END")
            else:
                cells.append(neutralise_sql(value))
    middle = ", ".join(f"{expression} AS c{i}" for i, expression in enumerate(raw)) or "NULL AS c0"
    # Variable and result names are written as SQL literals, so the only parameters
    # are the leads query's own; '%' in them is doubled for the driver's placeholder syntax.
    middle = middle.replace("%", "%%")
    return f"SELECT {', '.join(cells)} FROM (SELECT {middle} FROM ({inner_sql}) AS l) AS r", list(inner_params)


def xlsx_write(
    rows: Iterable[list[str]], target, *, progress: Callable[[int], object] | None = None, every: int = 5000
) -> int:
    """The rows (header first) as an XLSX workbook into the binary file ``target``;
    openpyxl's write-only mode keeps memory flat. ``progress`` gets the leads written
    every ``every`` rows. Returns the number of leads."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    count = -1
    try:
        for count, row in enumerate(rows):
            if count > XLSX_MAX_ROWS:
                raise ExportTooLarge(f"XLSX holds {XLSX_MAX_ROWS:,} rows; export this selection as CSV.")
            sheet.append(row)
            if progress is not None and count and count % every == 0:
                progress(count)
    except BaseException:
        # openpyxl's row writer ends now, not when it is collected after its file is gone.
        with suppress(Exception):
            sheet.close()
        raise
    workbook.save(target)
    return max(count, 0)


def xlsx_file(rows: Iterable[list[str]]):
    """The rows as an XLSX workbook in a temporary file, rewound for reading."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (returned open, for the caller to read)
    xlsx_write(rows, handle)
    handle.seek(0)
    return handle


def xlsx_chunks(
    leads: QuerySet[Lead],
    header: list[str],
    *,
    on_done: Callable[[int], object] | None = None,
    block: int = 1024 * 1024,
) -> Iterator[bytes]:
    """The export as an XLSX workbook, read back in blocks once it is written (a zip
    is finished only at its end); ``on_done`` gets the number of leads."""
    with xlsx_file(Counted(export_rows(leads, header), on_done=on_done)) as content:
        yield from iter(lambda: content.read(block), b"")
