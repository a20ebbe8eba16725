"""Background work of imports: what the wizard hands to the task worker for large
files. Thin: each task loads its record and calls leads.imports.services."""

from django.utils import timezone
from django_tasks import task

from leads.imports import services
from leads.models import ImportRecord
from leads.transitions import Actor


def _save_progress(record: ImportRecord) -> None:
    ImportRecord.objects.filter(pk=record.pk).update(rows_validated=record.rows_validated, progress_at=timezone.now())


@task()
def validate_import(record_id: int) -> None:
    services.import_validate(record=ImportRecord.objects.get(pk=record_id), progress=_save_progress)


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
