"""Batches written side by side, and runs that overlap, with real transactions on
PostgreSQL (SQLite writes one batch at a time)."""

import pytest
from django.core.files import File
from django.db import connection

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
    path = write_csv(tmp_path / "a.csv", [["phone", "customer_name", "secondary_phone_1"]]
                     + [[f"+1415555{n:04d}", f"N{n}", f"+1212555{n:04d}"] for n in range(ROWS)])
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
