"""Background work: what the import wizard hands to the task worker for large files,
and XLSX exports. Thin: each task loads its record and calls the services."""

from django_tasks import task

from leads.exports import services as exports
from leads.imports import services
from leads.models import ExportRecord, ImportRecord
from leads.transitions import Actor


@task()
def validate_import(record_id: int, run: int | None = None) -> None:
    # run: the start of the validation this task is for (None: the one the import is
    # at, for a task queued before runs were counted); a later start fences it off.
    record = ImportRecord.objects.get(pk=record_id)
    run = record.run if run is None else run
    try:
        services.import_validate(record=record, run=run)
    except Exception as error:
        # The record says why on its page instead of staying "Validating" for ever.
        services.import_validation_stopped(record=ImportRecord.objects.get(pk=record_id), run=run, error=error)
        raise


@task()
def run_import(record_id: int, run: int | None = None) -> None:
    record = ImportRecord.objects.get(pk=record_id)
    run = record.run if run is None else run
    try:
        services.import_run(record=record, actor=Actor(source="import", user=record.created_by), run=run)
    except Exception as error:
        services.import_stopped(record=ImportRecord.objects.get(pk=record_id), run=run, error=error)
        raise


@task()
def export_xlsx(record_id: int) -> None:
    """Write an XLSX export of exactly the rows its list showed (its filters, search
    and order, as the person who asked for it may see them now)."""
    record = ExportRecord.objects.get(pk=record_id)
    try:
        exports.export_xlsx_run(record=record, leads=exports.export_leads_of(record))
    except BaseException as error:
        # BaseException too: the worker stopped mid-task (a second Ctrl-C or SIGTERM
        # makes db_worker exit from inside the task) must not leave it being written.
        reason = error if isinstance(error, Exception) else f"the task worker was stopped ({type(error).__name__})"
        exports.export_failed(record=record, message=f"The export stopped: {reason}")
        raise
