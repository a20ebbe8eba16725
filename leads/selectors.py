"""Reads of leads that take more than one query or a database-specific expression."""

from django.db.models import Exists, Func, OuterRef, QuerySet, TextField

from .models import Contact, Lead
from .phones import search_digits


class VariableValuesText(Func):
    """The values (not the names) of a contact's variables as one text, so a search
    for "smith" does not match every lead that has a ``customer_name``.

    On PostgreSQL the expression is the one the trigram index of migration 0002 is
    built on, so the search uses that index.
    """

    output_field = TextField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(jsonb_path_query_array(%(expressions)s, '$.*'))::text")

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(SELECT group_concat(value, ' ') FROM json_each(%(expressions)s))")


def search_leads(leads: QuerySet[Lead], query: str) -> QuerySet[Lead]:
    """Leads with a number containing the digits of ``query`` (with or without +,
    spaces, dashes, brackets), or, when it is not number-like, with a variable value
    containing it (any case)."""
    query = query.strip()
    if not query:
        return leads
    digits = search_digits(query)
    if digits is not None:
        matches = Contact.objects.filter(lead=OuterRef("pk"), phone__contains=digits)
    else:
        matches = Contact.objects.alias(values_text=VariableValuesText("variables")).filter(
            lead=OuterRef("pk"), values_text__icontains=query
        )
    return leads.filter(Exists(matches))
