"""The processes that validate a large import in parallel die with their worker, and
the import a killed worker leaves is restarted or dropped from its page. For real: a
``db_worker`` process killed (SIGKILL) mid-validation, on PostgreSQL."""

import datetime
import os
import signal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports import services
from leads.imports.tests.filemakers import write_csv
from leads.imports.tests.worker import DATABASE_TASKS, alive, children, start_worker, wait_for
from leads.models import ImportRecord, Lead

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="a worker process shares the test database on PostgreSQL only"
    ),
]
ROWS = 30_000


@pytest.fixture
def large_import(tmp_path, settings):
    """A file validated by the pool, mapped and handed to the worker."""
    settings.TASKS = DATABASE_TASKS
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0
    campaign = make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))
    path = write_csv(
        tmp_path / "big.csv",
        [["phone", "customer_name"]] + [[f"+1415{555 - n // 10000}{n % 10000:04d}", f"N{n}"] for n in range(ROWS)],
    )
    with path.open("rb") as handle:
        from django.core.files import File

        return services.import_create(campaign=campaign, file=File(handle), file_name=path.name)


def url(name, record):
    return reverse(f"admin:leads_importrecord_{name}", args=[record.pk])


def test_a_worker_killed_mid_validation_leaves_no_process_and_a_way_out(admin_client_logged, large_import, tmp_path):
    record = large_import
    assert record.rows_expected > 20_000  # validated by one process per core
    log = tmp_path / "worker.log"
    # Small batches: the validation lasts long enough to be killed in the middle.
    worker = start_worker(log, LEADS_IMPORT_BATCH_ROWS="100")
    try:
        admin_client_logged.post(url("mapping", record), {"column_0": "phone", "column_1": "var:customer_name"})
        wait_for(lambda: ImportRecord.objects.get(pk=record.pk).rows_validated, seconds=90, what="validation", log=log)
        pool = children(worker.pid)
        assert len(pool) >= 2, pool  # the pool's processes (and multiprocessing's resource tracker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    try:
        wait_for(lambda: not any(alive(pid) for pid in pool), seconds=5, what="the pool's processes to end")
    finally:
        for pid in pool:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    record.refresh_from_db()
    assert record.status == ImportRecord.Status.VALIDATING and 0 < record.rows_validated < ROWS
    # Two minutes without progress: the page says so and offers the ways out.
    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert 'id="stalled"' in page and "Validate again" in page and "Cancel this import" in page
    assert admin_client_logged.get(url("mapping", record)).status_code == 200  # no longer sent back

    admin_client_logged.post(url("validate", record))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert (record.status, record.rows_new, record.rows_validated) == (ImportRecord.Status.READY, ROWS, ROWS)
    admin_client_logged.post(url("confirm", record))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE and Lead.objects.count() == ROWS


def test_a_validation_whose_worker_died_can_be_cancelled(admin_client_logged, large_import):
    record = large_import
    services.mapping_save(record=record, targets=["phone", "var:customer_name"], remember=False)  # no worker
    ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
    response = admin_client_logged.post(url("cancel", record), follow=True)
    assert "The import is cancelled; it wrote nothing." in [str(m) for m in response.context["messages"]]
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.CANCELLED and record.message.startswith("Cancelled by admin")
    page = admin_client_logged.get(url("detail", record)).content.decode()
    assert "Validate again" not in page and "Cancel this import" not in page and 'id="stalled"' not in page
    # A worker that was only slow comes back to it: it is fenced off and saves nothing.
    services.import_validate(record=ImportRecord.objects.get(pk=record.pk), run=record.run - 1)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.CANCELLED and not record.valid_rows and record.rows_validated == 0
