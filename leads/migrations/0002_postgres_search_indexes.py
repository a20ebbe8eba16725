"""PostgreSQL-only indexes: trigram indexes for searching part of a number or of a
variable value among millions of contacts, and a BRIN index for created-date ranges
(rows arrive in created order, so a BRIN index is a few pages and nearly free to
keep up to date). On SQLite these queries scan, which is fine at the sizes SQLite is
meant for."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON leads_contact USING gin (phone gin_trgm_ops)",
    # Exactly the expression of leads.selectors.VariableValuesUpper, so the planner
    # matches it.
    # Partial: most secondary numbers have no values of their own, and each entry
    # costs every import. leads.selectors states the same condition.
    "CREATE INDEX IF NOT EXISTS contact_values_trgm ON leads_contact "
    "USING gin (UPPER((jsonb_path_query_array(variables, '$.*'))::text) gin_trgm_ops) "
    "WHERE variables <> '{}'::jsonb",
    "CREATE INDEX IF NOT EXISTS lead_created_brin ON leads_lead USING brin (created_at)",
]
DROP = [
    "DROP INDEX IF EXISTS lead_created_brin",
    "DROP INDEX IF EXISTS contact_values_trgm",
    "DROP INDEX IF EXISTS contact_phone_trgm",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
