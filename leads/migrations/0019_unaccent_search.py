"""The variable-value search ignores accents as well as case (leads.folding): on
PostgreSQL the folding function ``leads_fold(text)`` and the trigram index of migration
0002 rebuilt on it.

The function is plain SQL on built-in functions (``normalize`` needs a UTF8 database),
so no extension is created and the migration needs no more rights than migration 0002
(its ``pg_trgm``): a role that may create functions and indexes in the schema. The
``unaccent`` extension was the other way: its function is only STABLE (it reads a rules
file that a server may change), so it needs an IMMUTABLE wrapper, and its rules differ
from what SQLite can do (ß → ss, æ → ae). Measured on 200,000 rows like the bench's,
folding costs about 10 µs a value, a few seconds for an import of 100,000 rows.

Rebuilding the index reads every contact: a few minutes at a million leads, during
which imports wait (CREATE INDEX locks writes). On a large production table, before deploying, run FOLD
and then INDEX by hand with CREATE INDEX CONCURRENTLY (writes go on; the old index
keeps serving the old code's search): this migration then finds the index (IF NOT
EXISTS) and only drops the old one.
"""

from django.db import migrations

FOLD = (
    "CREATE OR REPLACE FUNCTION leads_fold(text) RETURNS text "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    # NFKD splits é into e and its mark; the marks U+0300 to U+036F then go.
    "AS $$ SELECT upper(regexp_replace(normalize($1, NFKD), '[\\u0300-\\u036f]', '', 'g')) $$"
)
# Exactly the expression of leads.selectors.VariableValuesFolded, so the planner matches
# it; partial as in 0002 (leads.selectors states the same condition).
INDEX = (
    "CREATE INDEX IF NOT EXISTS contact_values_fold_trgm ON leads_contact "
    "USING gin (leads_fold((jsonb_path_query_array(variables, '$.*'))::text) gin_trgm_ops) "
    "WHERE variables <> '{}'::jsonb"
)
OLD_INDEX = (
    "CREATE INDEX IF NOT EXISTS contact_values_trgm ON leads_contact "
    "USING gin (UPPER((jsonb_path_query_array(variables, '$.*'))::text) gin_trgm_ops) "
    "WHERE variables <> '{}'::jsonb"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: leads.apps registers leads_fold on every connection
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SHOW server_encoding")
        (encoding,) = cursor.fetchone()
    if encoding.upper() not in ("UTF8", "UTF-8"):
        raise RuntimeError(f"The database's encoding is {encoding}; Leadsite needs UTF8 (normalize() needs it).")
    schema_editor.execute(FOLD)
    schema_editor.execute(INDEX)
    schema_editor.execute("DROP INDEX IF EXISTS contact_values_trgm")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(OLD_INDEX)
    schema_editor.execute("DROP INDEX IF EXISTS contact_values_fold_trgm")
    schema_editor.execute("DROP FUNCTION IF EXISTS leads_fold(text)")


class Migration(migrations.Migration):
    dependencies = [("leads", "0018_result_filters")]
    operations = [migrations.RunPython(forwards, backwards)]
