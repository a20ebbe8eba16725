"""The leads import as a django-import-export resource.

``LeadImportResource`` holds what an import of leads into a campaign is: the
spec's layout as its fields (the primary number, the assistant's variables,
``secondary_phone_n`` and ``secondary_<n>_<variable>``, ``timezone``), how a
header maps onto them, the checks a row needs the database for (duplicates in the
file and in the campaign, the do-not-call list, required variables) and the bulk
write. The wizard, ``manage.py import_leads`` and the bench all go through it: they
stream a file through ``check_batch`` and ``write_rows`` (``leads.imports.services``);
``import_data`` does the same for a ``tablib.Dataset`` and answers with
django-import-export's ``Result``.

What is overridden, and why: django-import-export's ``import_data`` loads, checks
and saves row by row (a few queries per row, a ``RowResult`` kept per row), which
for a million-row list is hours and gigabytes; here rows are checked and written
a batch at a time, with a fixed number of queries per batch. And ``ModelResource``
resets the table's id sequence after an import: that races with anything inserting
leads at the same time (the next insert may take an id another transaction already
holds). Ids here always come from the sequence, so nothing is reset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import tablib
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from import_export import exceptions, fields, resources
from import_export.results import Result, RowResult

from campaigns.models import Campaign
from leads.layout import VARIABLE, Columns, Target
from leads.models import MAX_SECONDARY_NUMBERS, Contact, DoNotCallNumber, ImportRecord, Lead, LeadStatus
from leads.selectors import phone_in
from leads.transitions import Actor

from . import writing
from .columns import Mapping, MappingProblem, check_mapping, suggest_mapping
from .files import cell_text
from .validation import ParsedRow, RowError, parse_rows

NEW, UPDATE, SKIP, INVALID = (
    RowResult.IMPORT_TYPE_NEW,
    RowResult.IMPORT_TYPE_UPDATE,
    RowResult.IMPORT_TYPE_SKIP,
    RowResult.IMPORT_TYPE_INVALID,
)


def layout_targets(variables: Iterable[str], *, every_column: bool = True) -> list[Target]:
    """What the columns of the spec's layout hold for an assistant with these
    variables. Without ``every_column``, the secondary numbers' own variables are left
    out (the list a person reads)."""
    variables = list(variables)
    own = list(dict.fromkeys(["contact_name", *variables])) if every_column else []
    # The export's columns without its state: a file exported imports back as it is.
    return Columns(variables=variables, secondaries=MAX_SECONDARY_NUMBERS, secondary_variables=own, state=[]).targets()


def layout(variables: Iterable[str], *, every_column: bool = True) -> list[str]:
    """The names of ``layout_targets``' columns."""
    return [target.header for target in layout_targets(variables, every_column=every_column)]


def batched(iterator: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterator)
    while batch := list(islice(iterator, size)):
        yield batch


class LeadImportResource(resources.ModelResource):
    """Leads for one campaign, read from the spec's layout (see the module)."""

    class Meta:
        model = Lead
        fields: tuple[str, ...] = ()

    def __init__(
        self,
        campaign: Campaign | None = None,
        *,
        number_format: str = ImportRecord.NumberFormat.INTERNATIONAL,
        country: str = "",
        on_duplicate: str = ImportRecord.OnDuplicate.SKIP,
        mapping: list[str] | None = None,
        import_record: ImportRecord | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.campaign = campaign
        national = number_format == ImportRecord.NumberFormat.NATIONAL
        if national and not country:
            raise ValueError("National numbers need the country they are from.")
        self.region = country.upper() if national else None
        self.update = on_duplicate == ImportRecord.OnDuplicate.UPDATE
        self.targets = mapping
        self.import_record = import_record
        self.mapping: Mapping | None = None
        self.variables = list(campaign.assistant.variables.all()) if campaign else []
        self.declared = [v.name for v in self.variables]
        self.fields = {name: fields.Field(attribute=None, column_name=name) for name in layout(self.declared)}

    @classmethod
    def for_record(cls, record: ImportRecord) -> LeadImportResource:
        return cls(
            record.campaign,
            number_format=record.number_format,
            country=record.country,
            on_duplicate=record.on_duplicate,
            mapping=record.mapping or None,
            import_record=record,
        )

    @classmethod
    def get_display_name(cls) -> str:
        return "Leads"

    def get_user_visible_fields(self) -> list[fields.Field]:
        shown = set(layout(self.declared, every_column=False))
        return [field for name, field in self.fields.items() if name in shown]

    # --- reading -------------------------------------------------------------

    def read_header(self, header: list[str]) -> Mapping:
        """Match the file's header to the layout (the mapping given, or the one the
        header rules suggest) and get ready to check rows. Raises MappingProblem."""
        if self.campaign is None:
            raise ValueError("A leads import needs the campaign the leads go to.")
        targets = self.targets if self.targets is not None else suggest_mapping(header, self.declared)
        self.mapping = check_mapping(header, targets)
        required = [v.name for v in self.variables if v.required and not v.default_value]
        # A missing required value is named by its column when the file has one.
        self._required = {name: name for name in required} | {
            t.name: column
            for column, _, t in self.mapping.mapped
            if t.kind == VARIABLE and not t.position and t.name in required
        }
        self._phone_column = self.mapping.phone_column
        # Primary numbers accepted so far, with their rows: a later row with the same
        # number is a duplicate (the state of one pass over one file).
        self._accepted: dict[str, int] = {}
        return self.mapping

    def check_batch(self, parsed: list[tuple[ParsedRow, list[RowError]]]) -> list[str]:
        """What each parsed row of a batch becomes (new, update, skip or invalid),
        adding to each row's errors what the database says: a duplicate of an earlier
        row, a number on the do-not-call list, a lead in a call, a required variable
        missing. Two queries per batch."""
        primaries = [row.phone for row, _ in parsed if row.phone]
        listed = set(DoNotCallNumber.objects.filter(phone_in("phone", primaries)).values_list("phone", flat=True))
        existing = dict(
            Contact.objects.filter(phone_in("phone", primaries), campaign=self.campaign, position=0).values_list(
                "phone", "lead__status"
            )
        )
        outcomes = []
        for row, errors in parsed:
            phone = row.phone
            if phone in self._accepted:
                errors.append(RowError(self._phone_column, f"duplicate of row {self._accepted[phone]}"))
            if phone in listed:
                errors.append(RowError(self._phone_column, f"{phone} is on the do-not-call list"))
            updating = phone in existing and self.update
            if updating and existing[phone] == LeadStatus.PROCESSING:
                errors.append(RowError(None, "a call to this lead is in progress; import the row again later"))
            if not updating:  # an update keeps the values the lead has
                errors.extend(
                    RowError(column, "required, and the assistant has no default")
                    for name, column in self._required.items()
                    if name not in row.variables
                )
            if errors:
                outcomes.append(INVALID)
                continue
            self._accepted[phone] = row.row
            outcomes.append(UPDATE if updating else SKIP if phone in existing else NEW)
        return outcomes

    # --- writing -------------------------------------------------------------

    def write_rows(self, rows: list[ParsedRow], *, actor: Actor) -> None:
        """Write checked rows (new and updated leads) in bulk; the caller holds the
        transaction."""
        writing.write_rows(
            self.campaign,
            rows,
            update=self.update,
            replace_secondaries=self.mapping.has_secondary_columns,
            actor=actor,
            import_record=self.import_record,
        )

    # --- django-import-export's entry point ----------------------------------

    def import_data(
        self,
        dataset: tablib.Dataset,
        dry_run: bool = False,
        raise_errors: bool = False,
        use_transactions: bool | None = None,
        collect_failed_rows: bool = False,
        rollback_on_validation_errors: bool = False,
        **kwargs,
    ) -> Result:
        """Import a Dataset: every row checked as a file's would be, then the valid
        ones written in batches (none on a dry run; none at all when any row is
        invalid and ``rollback_on_validation_errors`` is set). The valid rows are
        written in one transaction whatever ``use_transactions`` says: all of them or
        none.

        Row numbers are what a spreadsheet shows (the header is row 1). A refused
        row's errors are keyed by the file's column they are about. Keyword
        arguments are django-import-export's; ``user`` is who the leads' history
        names."""
        result = self.get_result_class()()
        header = [cell_text(name) for name in dataset.headers or []]
        result.diff_headers = header
        result.total_rows = len(dataset)
        if collect_failed_rows:
            result.add_dataset_headers(header)
        try:
            self.read_header(header)
        except MappingProblem as problem:
            if raise_errors:
                raise
            result.append_base_error(self.get_error_result_class()(problem))
            return result
        self.before_import(dataset, **kwargs)

        rows = ((number, [cell_text(value) for value in values]) for number, values in enumerate(dataset, start=2))
        rows = ((number, cells) for number, cells in rows if any(cells))  # a blank row is no lead
        to_write: list[ParsedRow] = []
        for batch in batched(rows, settings.LEADS_IMPORT_BATCH_ROWS):
            parsed = parse_rows(self.mapping, batch, self.region)
            for (row, errors), (number, cells), outcome in zip(parsed, batch, self.check_batch(parsed)):
                row_result = self.get_row_result_class()()
                row_result.import_type = outcome
                row_result.row_values = dict(zip(header, cells))
                result.increment_row_result_total(row_result)
                if outcome == INVALID:
                    row_result.validation_error = self._validation_error(errors)
                    result.append_invalid_row(number, row_result.row_values, row_result.validation_error)
                    if collect_failed_rows:
                        result.append_failed_row(row_result.row_values, row_result.validation_error)
                    if raise_errors:
                        raise exceptions.ImportError(
                            row_result.validation_error, number=number, row=row_result.row_values
                        )
                elif outcome != SKIP:
                    to_write.append(row)
                if outcome != SKIP or self._meta.report_skipped:
                    result.append_row_result(row_result)

        refused = rollback_on_validation_errors and result.has_validation_errors()
        if not dry_run and not refused and to_write:
            user = kwargs.get("user")
            actor = Actor(source="import", user=user if getattr(user, "pk", None) else None)
            with transaction.atomic():
                for batch in batched(to_write, settings.LEADS_IMPORT_BATCH_ROWS):
                    self.write_rows(batch, actor=actor)
        self.after_import(dataset, result, dry_run=dry_run, **kwargs)
        return result

    def _validation_error(self, errors: list[RowError]) -> ValidationError:
        """A row's errors keyed by the file's column each is about, the others (about
        the row, or a required variable the file has no column for) under
        NON_FIELD_ERRORS, as django-import-export shows them."""
        columns = set(self.mapping.header)
        by_column: dict[str, list[str]] = {}
        for error in errors:
            if error.column in columns:
                by_column.setdefault(error.column, []).append(error.message)
            else:
                by_column.setdefault(NON_FIELD_ERRORS, []).append(str(error))
        return ValidationError(by_column)

    def after_import(self, dataset: tablib.Dataset, result: Result, **kwargs) -> None:
        """No sequence reset (ModelResource's): ids come from the sequence, and a reset
        would race with leads inserted at the same time."""
