"""Batches written side by side, and runs that overlap, with real transactions on
PostgreSQL (SQLite writes one batch at a time)."""

import datetime

import pytest
from django.core.files import File
from django.db import connection
from django.utils import timezone

from campaigns.tests.factories import make_assistant, make_campaign
from leads.imports import services
from leads.imports.tests.filemakers import write_csv
from leads.models import Contact, ImportRecord, Lead
from leads.transitions import Actor
from leadsite.testing import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="batches are written side by side on PostgreSQL only"),
]
ACTOR = Actor(source="import")
ROWS = 20  # 7 batches of 3


@pytest.fixture
def record(tmp_path, settings):
    settings.LEADS_IMPORT_BATCH_ROWS = 3
    settings.LEADS_IMPORT_WRITERS = 2
    campaign = make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))
    path = write_csv(
        tmp_path / "a.csv",
        [["phone", "customer_name", "secondary_phone_1"]]
        + [[f"+1415555{n:04d}", f"N{n}", f"+1212555{n:04d}"] for n in range(ROWS)],
    )
    with path.open("rb") as handle:
        record = services.import_create(campaign=campaign, file=File(handle), file_name=path.name)
    return services.import_validate(record=record)


def assert_written_once(record):
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.DONE
    assert (Lead.objects.count(), Contact.objects.count()) == (ROWS, 2 * ROWS)
    assert sorted(record.batches.values_list("number", flat=True)) == list(range(1, 8))
    assert record.rows_written == ROWS


def test_batches_written_side_by_side_are_each_written_once(record):
    seen = []
    services.import_run(record=record, actor=ACTOR, progress=lambda current: seen.append(current.rows_written))
    assert_written_once(record)
    assert seen == sorted(seen) and seen[-1] == ROWS


def test_a_run_that_stops_with_batches_in_flight_carries_on_exactly(record):
    def stop(current):
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        services.import_run(record=record, actor=ACTOR, progress=stop)
    record.refresh_from_db()
    written = record.batches.count()
    # Whole batches only: the ones in flight finished, each with its mark.
    assert 1 <= written < 7 and Lead.objects.count() == record.rows_written == 3 * written

    services.import_run(record=record, actor=ACTOR)
    assert_written_once(record)


def test_two_runs_at_once_write_every_batch_once(record):
    # A second run started while the first still works (its worker thought dead).
    at_once(lambda: services.import_run(record=ImportRecord.objects.get(pk=record.pk), actor=ACTOR))
    assert_written_once(record)


# A run that lost the import (undone, taken over) while its worker was slow -----------


def test_a_run_undone_between_its_batches_writes_nothing_more(record, monkeypatch):
    undone = []

    def undo_once(current):
        if not undone:  # batches still in flight on the other writer's connection
            # As if no progress for minutes (a slow worker): the page offers Undo. (Not
            # by moving progress_at back: the other writer's next batch moves it on.)
            monkeypatch.setattr(ImportRecord, "STALLED_AFTER", -1)
            undone.append(services.import_undo(record=ImportRecord.objects.get(pk=record.pk)))

    services.import_run(record=ImportRecord.objects.get(pk=record.pk), actor=ACTOR, progress=undo_once)
    record.refresh_from_db()
    assert undone and record.status == ImportRecord.Status.UNDONE
    assert not Lead.objects.exists() and not Contact.objects.exists()


def stop_between_commits(pid: int) -> bool:
    """SIGSTOP ``pid``; True if none of its connections has updated an import record
    in a transaction still open, else SIGCONT it and False (try again)."""
    import os
    import signal
    import time

    os.kill(pid, signal.SIGSTOP)
    time.sleep(0.05)  # a statement the server was running finishes
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND l.granted "
            "AND l.relation = 'leads_importrecord'::regclass AND l.mode = 'RowExclusiveLock'"
        )
        if not cursor.fetchone()[0]:
            return True
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.01)
    return False


def test_an_import_undone_while_its_worker_is_stopped_stays_undone(admin_client_logged, tmp_path, settings):
    """For real: a db_worker process writing an import is stopped (SIGSTOP: slow, not
    dead), the import is undone from its page, the worker goes on (SIGCONT)."""
    import os
    import signal
    import threading

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from leads.imports.tests.filemakers import csv_bytes
    from leads.imports.tests.worker import DATABASE_TASKS, start_worker, wait_for

    rows = 15_000
    campaign = make_campaign(assistant=make_assistant(variables=[{"name": "customer_name", "required": True}]))
    data = csv_bytes(
        [["phone", "customer_name"]] + [[f"+1415{555 - n // 10000}{n % 10000:04d}", f"N{n}"] for n in range(rows)]
    )
    admin_client_logged.post(
        reverse("admin:leads_lead_import"),
        {
            "campaign": campaign.pk,
            "number_format": "international",
            "on_duplicate": "skip",
            "resource": "0",
            "import_file": SimpleUploadedFile("big.csv", data),
        },
    )
    record = ImportRecord.objects.get()
    page = lambda name: reverse(f"admin:leads_importrecord_{name}", args=[record.pk])  # noqa: E731
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 10 * len(data)  # validated here, in the request
    admin_client_logged.post(page("mapping"), {"column_0": "phone", "column_1": "var:customer_name"})
    record.refresh_from_db()
    assert (record.status, record.rows_new) == (ImportRecord.Status.READY, rows)

    settings.TASKS = DATABASE_TASKS
    settings.LEADS_IMPORT_BACKGROUND_ABOVE = 0  # written by the worker
    log = tmp_path / "worker.log"
    worker = start_worker(log, LEADS_IMPORT_BATCH_ROWS="250", LEADS_IMPORT_WRITERS="2")
    try:
        admin_client_logged.post(page("confirm"))
        wait_for(
            lambda: ImportRecord.objects.get(pk=record.pk).rows_written, seconds=180, what="a first batch", log=log
        )
        # Stopped anywhere but between a batch's progress save and its commit (then it
        # holds the record's row, and any takeover waits for it to go on or die).
        wait_for(lambda: stop_between_commits(worker.pid), seconds=60, what="a moment to stop the worker", log=log)
        written = ImportRecord.objects.get(pk=record.pk).rows_written
        assert written < rows, "the worker finished before it was stopped"
        # Two minutes without progress: the page offers Undo.
        ImportRecord.objects.filter(pk=record.pk).update(progress_at=timezone.now() - datetime.timedelta(minutes=10))
        assert "Undo this import" in admin_client_logged.get(page("detail")).content.decode()

        def undo():
            try:
                admin_client_logged.post(page("undo"))
            finally:
                connection.close()

        undoing = threading.Thread(target=undo)
        undoing.start()
        undoing.join(30)  # it waits for nothing the stopped worker holds
        assert not undoing.is_alive()
        assert ImportRecord.objects.get(pk=record.pk).status == ImportRecord.Status.UNDONE
        os.kill(worker.pid, signal.SIGCONT)
        wait_for(
            lambda: not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists(),
            seconds=180,
            what="the worker to finish its task",
            log=log,
        )
    finally:
        os.kill(worker.pid, signal.SIGCONT)
        worker.terminate()
        worker.wait(30)
    record.refresh_from_db()
    assert record.status == ImportRecord.Status.UNDONE, (record.status, record.message)
    assert not Lead.objects.filter(import_record=record).exists() and not Contact.objects.exists()
    assert record.leads_removed >= written
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"  # the run that lost stopped quietly


def test_undo_leaves_alone_a_lead_the_dialer_claims_meanwhile(record):
    """A dialer claims one of the import's leads while the undo runs (its claim not
    committed yet): the lead keeps its numbers and stays, the others go."""
    import threading
    import time

    import psycopg

    from leads.imports.tests.worker import database_url
    from leads.models import LeadStatus

    services.import_run(record=record, actor=ACTOR)
    claimed = Lead.objects.filter(import_record=record).order_by("pk").first()
    with psycopg.connect(database_url(), autocommit=False) as dialer:
        dialer.execute("UPDATE leads_lead SET status = %s WHERE id = %s", [LeadStatus.PROCESSING, claimed.pk])

        def undo():
            try:
                services.import_undo(record=ImportRecord.objects.get(pk=record.pk))
            finally:
                connection.close()

        undoing = threading.Thread(target=undo)
        undoing.start()
        with connection.cursor() as cursor:
            for _ in range(200):  # until the undo waits on the claimed lead's lock
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the undo never reached the claimed lead")
        dialer.commit()
        undoing.join(30)
    assert list(Lead.objects.values_list("pk", flat=True)) == [claimed.pk]
    assert Contact.objects.filter(lead=claimed).count() == 2  # its numbers, to be dialled
    assert ImportRecord.objects.get(pk=record.pk).status == ImportRecord.Status.UNDONE
