"""Trigram indexes for searching part of a number or of a variable value among
millions of contacts. PostgreSQL only: on SQLite the search scans, which is fine at
the sizes SQLite is meant for."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contact_phone_trgm ON leads_contact USING gin (phone gin_trgm_ops)",
    # Exactly the expression of leads.selectors.VariableValuesUpper, so the planner
    # matches it.
    "CREATE INDEX IF NOT EXISTS contact_values_trgm ON leads_contact "
    "USING gin (UPPER((jsonb_path_query_array(variables, '$.*'))::text) gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS contact_values_trgm", "DROP INDEX IF EXISTS contact_phone_trgm"]


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
