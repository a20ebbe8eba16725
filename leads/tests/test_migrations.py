import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrated_to(name: str):
    """The database migrated to leads' migration ``name``; the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate([("leads", name)])
    return executor.loader.project_state([("leads", name)]).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    """Every test leaves the schema as the other tests expect it, whatever it migrated to."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_imports_that_stopped_half_way_keep_their_written_batches_across_the_upgrade():
    apps = migrated_to("0009_export_files")
    Assistant, Campaign = apps.get_model("campaigns", "Assistant"), apps.get_model("campaigns", "Campaign")
    ImportRecord = apps.get_model("leads", "ImportRecord")
    campaign = Campaign.objects.create(name="c", assistant=Assistant.objects.create(name="a"))
    stopped = ImportRecord.objects.create(
        campaign=campaign, file="f.csv", file_name="f.csv", status="failed", batches_written=3
    )
    done = ImportRecord.objects.create(
        campaign=campaign, file="g.csv", file_name="g.csv", status="done", batches_written=5
    )

    apps = migrated_to("0010_import_batches")
    ImportBatch = apps.get_model("leads", "ImportBatch")
    assert sorted(ImportBatch.objects.filter(record_id=stopped.pk).values_list("number", flat=True)) == [1, 2, 3]
    assert not ImportBatch.objects.filter(record_id=done.pk).exists()  # never run again: nothing to mark


@pytest.mark.django_db(transaction=True)
def test_imports_never_mapped_wait_for_their_columns_after_the_upgrade():
    apps = migrated_to("0010_import_batches")
    Assistant, Campaign = apps.get_model("campaigns", "Assistant"), apps.get_model("campaigns", "Campaign")
    ImportRecord = apps.get_model("leads", "ImportRecord")
    campaign = Campaign.objects.create(name="c", assistant=Assistant.objects.create(name="a"))
    left = ImportRecord.objects.create(campaign=campaign, file="f.csv", file_name="f.csv", status="validating")
    queued = ImportRecord.objects.create(
        campaign=campaign, file="g.csv", file_name="g.csv", status="validating", progress_at="2026-11-27T10:00:00Z"
    )

    apps = migrated_to("0012_states_import_runs")
    ImportRecord = apps.get_model("leads", "ImportRecord")
    assert ImportRecord.objects.get(pk=left.pk).status == "mapping"
    assert ImportRecord.objects.get(pk=queued.pk).status == "validating"
    assert set(ImportRecord.objects.values_list("run", flat=True)) == {0}


@pytest.mark.django_db(transaction=True)
def test_saved_mappings_are_keyed_by_the_digest_of_their_headers_across_the_upgrade():
    import hashlib

    apps = migrated_to("0010_import_batches")
    Assistant, Campaign = apps.get_model("campaigns", "Assistant"), apps.get_model("campaigns", "Campaign")
    campaign = Campaign.objects.create(name="c", assistant=Assistant.objects.create(name="a"))
    apps.get_model("leads", "SavedMapping").objects.create(
        campaign=campaign, headers="phone\nname", mapping=["phone", ""]
    )

    SavedMapping = migrated_to("0013_uploads_saved_mapping_digest").get_model("leads", "SavedMapping")
    saved = SavedMapping.objects.get(campaign_id=campaign.pk)
    assert saved.headers_digest == hashlib.sha256(b"phone\nname").hexdigest()
    assert saved.mapping == ["phone", ""]


@pytest.mark.django_db(transaction=True)
def test_webhook_ids_received_before_the_upgrade_are_still_repeats():
    from django.utils import timezone

    from leads.dialer import outcomes
    from leads.transitions import Actor, Report

    apps = migrated_to("0010_import_batches")
    Assistant, Campaign = apps.get_model("campaigns", "Assistant"), apps.get_model("campaigns", "Campaign")
    Lead, Call, CallReport = (apps.get_model("leads", name) for name in ("Lead", "Call", "CallReport"))
    campaign = Campaign.objects.create(name="c", assistant=Assistant.objects.create(name="a"))
    now = timezone.now()
    call = Call.objects.create(
        lead=Lead.objects.create(campaign=campaign),
        campaign=campaign,
        phone="+14155550101",
        position=0,
        attempt=1,
        backend="http",
        placed_at=now,
        ended_at=now,
        outcome="busy",
    )
    CallReport.objects.create(call=call, webhook_id="msg_before", received_at=now, payload={}, applied=True)

    # The upgrade: every migration since (0014 gave reports their digest), as a
    # deployment runs them, so that today's outcome code meets today's tables.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    again = outcomes.outcome_receive(
        call.pk, Report(outcome="busy"), payload={}, webhook_id="msg_before", now=now, actor=Actor.system()
    )
    assert again == "repeat"


def _trigram_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_contact'")
        return {name: definition for name, definition in cursor.fetchall() if "trgm" in name}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's function and index")
@pytest.mark.django_db(transaction=True)
def test_the_folded_search_index_replaces_the_upper_case_one_and_back():
    migrated_to("0018_result_filters")
    assert "contact_values_trgm" in _trigram_indexes() and "contact_values_fold_trgm" not in _trigram_indexes()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'leads_fold'")
        assert cursor.fetchone() == (0,)

    migrated_to("0019_unaccent_search")
    indexes = _trigram_indexes()
    assert "contact_values_trgm" not in indexes
    assert "leads_fold(" in indexes["contact_values_fold_trgm"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT leads_fold(%s)", ["Müller GARCÍA"])
        assert cursor.fetchone() == ("MULLER GARCIA",)
