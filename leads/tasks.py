"""Background work: what the import wizard hands to the task worker for large files,
and XLSX exports. Thin: each task loads its record and calls the services."""

from django.utils import timezone
from django_tasks import task

from leads import exports
from leads.imports import services
from leads.models import ExportRecord, ImportRecord
from leads.transitions import Actor


def _save_progress(record: ImportRecord) -> None:
    ImportRecord.objects.filter(pk=record.pk).update(rows_validated=record.rows_validated, progress_at=timezone.now())


@task()
def validate_import(record_id: int) -> None:
    try:
        services.import_validate(record=ImportRecord.objects.get(pk=record_id), progress=_save_progress)
    except Exception as error:
        # The record says why on its page instead of staying "Validating" for ever.
        services.import_validation_stopped(record=ImportRecord.objects.get(pk=record_id), error=error)
        raise


@task()
def run_import(record_id: int) -> None:
    record = ImportRecord.objects.get(pk=record_id)
    try:
        services.import_run(record=record, actor=Actor(source="import", user=record.created_by))
    except Exception as error:
        services.import_stopped(record=ImportRecord.objects.get(pk=record_id), error=error)
        raise


@task()
def undo_import(record_id: int) -> None:
    services.import_undo(record=ImportRecord.objects.get(pk=record_id))


@task()
def export_xlsx(record_id: int) -> None:
    """Write an XLSX export of exactly the rows its list showed (rebuilt from the list's
    address, as the person who asked for it sees the list)."""
    from leads.admin_export import list_queryset

    record = ExportRecord.objects.get(pk=record_id)
    try:
        leads = list_queryset(user=record.created_by, query=record.filters)
        exports.export_xlsx_run(record=record, leads=leads)
    except Exception as error:
        exports.export_failed(record=record, message=f"The export stopped: {error}")
        raise
