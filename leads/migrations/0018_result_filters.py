"""PostgreSQL indexes for the leads list's result filters (leads.filters: goal
achieved, disposition, a result equal to / containing a value, callback pending,
opted out), so each stays fast at a million leads.

Every index on leads_lead is paid for by every status change of a lead it holds (a
status change writes a new row version, and each index gets an entry for it). So
each index below is partial: it holds only the leads that had a conversation (about
a third), or fewer, and a lead that never had one pays nothing for them. The "no"
side of each yes/no filter is the leads *not* in the index (leads.filters._without),
counted from the list's own indexes less these few entries, so it needs no index of
its own.

On SQLite these filters scan, which is fine at the sizes SQLite is meant for.
Building them locks the table against writes for a few seconds per million leads
(the trigram index longest): run the migration when the dialer is paused.
"""

from django.db import migrations

CREATE = [
    # opted_out=true: the leads whose callee opted out on a call, about 1 in 100.
    # (id) serves the list's newest-first order and makes the count index-only.
    "CREATE INDEX IF NOT EXISTS lead_opted_out ON leads_lead (id) WHERE opted_out_at IS NOT NULL",
    # callback_pending=true: a callback asked for and not yet dialled, a few in 100;
    # a lead leaves it when its callback is dialled.
    "CREATE INDEX IF NOT EXISTS lead_callback_pending ON leads_lead (id) WHERE callback_at IS NOT NULL",
    # goal_achieved=true/false: the leads that had a conversation (the others are
    # "unknown", found as not in this index). id first, so "unknown" is a merge of
    # two id-ordered index scans; goal_achieved second, so true/false are read from
    # the index alone.
    "CREATE INDEX IF NOT EXISTS lead_goal_known ON leads_lead (id, goal_achieved) WHERE goal_achieved IS NOT NULL",
    # disposition=<label>: only leads with a disposition (a conversation's label);
    # each label's leads in id order, for the page and its count.
    "CREATE INDEX IF NOT EXISTS lead_disposition ON leads_lead (disposition, id) WHERE disposition <> ''",
    # result=<name> with result_value / result_contains: the names are the
    # platform's, any number of them, so no index per name. Only leads with results
    # are in these two; the filter states the same condition.
    # Equality: the results holding that key with that value (@>), one entry per
    # key and value in jsonb_path_ops (small); the exact comparison follows.
    "CREATE INDEX IF NOT EXISTS lead_results_path ON leads_lead "
    "USING gin (results jsonb_path_ops) WHERE results <> '{}'::jsonb",
    # Containment: trigrams of the results' whole text as PostgreSQL writes jsonb
    # (as leads.selectors' variable search does for variables, migration 0002),
    # so "contains" in any case finds the leads whose text holds the value, then the
    # named result's value is compared.
    "CREATE INDEX IF NOT EXISTS lead_results_trgm ON leads_lead "
    "USING gin ((results::text) gin_trgm_ops) WHERE results <> '{}'::jsonb",
]
DROP = [
    "DROP INDEX IF EXISTS lead_results_trgm",
    "DROP INDEX IF EXISTS lead_results_path",
    "DROP INDEX IF EXISTS lead_disposition",
    "DROP INDEX IF EXISTS lead_goal_known",
    "DROP INDEX IF EXISTS lead_callback_pending",
    "DROP INDEX IF EXISTS lead_opted_out",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # pg_trgm comes with migration 0002.
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    # After 0018 (merged to main before this one), so the graph has one leaf.
    dependencies = [("leads", "0017_call_stats")]
    operations = [migrations.RunPython(forwards, backwards)]
