"""Reads of leads that take more than one query or a database-specific expression,
and the leads list itself (``lead_list``)."""

from collections.abc import Iterable, Mapping, Sequence

from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, F, Func, Lookup, Model, OuterRef, Prefetch, Q, QuerySet, TextField, Value
from django.http import QueryDict

from campaigns.models import Campaign

from .filters import FilterProblem, LeadFilter, consent_missing, filter_leads
from .folding import FUNCTION as FOLD
from .folding import Fold
from .models import DIALABLE_LEAD_STATUSES, Contact, Lead
from .phones import search_digits
from .transitions import count_skips
from .variables import MAX_VALUE_LENGTH

# The list's order when none is asked for: newest first (Lead.Meta.ordering).
DEFAULT_ORDERING = ("-id",)


def lead_list(
    *,
    filters: Mapping[str, Iterable[str]] | QueryDict | None = None,
    search: str = "",
    ordering: Sequence[str] = (),
) -> QuerySet[Lead]:
    """The leads list's rows: the ones the admin list shows for these ``filters``
    (leads.filters.LeadFilter's names; leads.filters.FilterProblem naming each that
    cannot be applied), ``search`` (the search box: digits of a number, else a
    variable's value) and ``ordering`` (field names, "-" for descending).

    The admin list applies the same three through Django's hooks (its list filter,
    ``get_search_results``, ``IndexFriendlyChangeList``); the export page, the export
    task, ``export_leads`` and the API call this."""
    unknown = sorted(set(filters or ()) - set(LeadFilter.base_filters))
    if unknown:
        # Not a filter of the list: ignoring it would return every lead as if it
        # were not there (the admin list names it and shows no lead).
        raise FilterProblem(f"No such filter: {', '.join(unknown)}.")
    leads = filter_leads(filters, Lead.objects.all()) if filters else Lead.objects.all()
    return search_leads(leads, search).order_by(*list_ordering(ordering))


def tie_break(first: str) -> str:
    """What makes the list's order total: the id, in the direction of the first sort
    key. Django appends "-pk" whatever the direction, and ``next_attempt_at ASC, id
    DESC`` is an order no (next_attempt_at, id) index can produce; ``id ASC`` lets one
    index serve both directions."""
    return "-pk" if first.startswith("-") else "pk"


def list_ordering(ordering: Sequence[str]) -> list[str]:
    """``ordering`` made total as the admin list makes it (see ``tie_break``)."""
    ordering = list(ordering) or list(DEFAULT_ORDERING)
    if not any(name.lstrip("-") in ("pk", "id") for name in ordering):
        ordering.append(tie_break(ordering[0]))
    return ordering


class VariableValuesFolded(Func):
    """The values (not the names) of a contact's variables as one text, folded
    (leads.folding: case and accents dropped), so a search for "smith" does not match
    every lead that has a ``customer_name``, and "GARCIA" finds "García".

    On PostgreSQL this is exactly the expression of the trigram index of migration
    0019, so the search uses that index.
    """

    output_field = TextField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template=f"{FOLD}((jsonb_path_query_array(%(expressions)s, '$.*'))::text)"
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"{FOLD}((SELECT group_concat(value, ' ') FROM json_each(%(expressions)s)))",
        )


def search_leads(leads: QuerySet[Lead], query: str) -> QuerySet[Lead]:
    """Leads with a number containing the digits of ``query`` (with or without +,
    spaces, dashes, brackets), or, when it is not number-like, with a variable value
    containing it, whatever the case and accents (leads.folding)."""
    query = query.strip()
    if not query:
        return leads
    digits = search_digits(query)
    if digits is not None:
        matches = Contact.objects.filter(lead=OuterRef("pk"), phone__contains=digits)
    elif len(query) > MAX_VALUE_LENGTH:
        # Longer than any value can be; SQLite would refuse the LIKE pattern as too complex.
        return leads.none()
    else:
        # The query is folded by the same SQL function as the values: one folding,
        # whatever the database's Unicode tables say. PostgreSQL folds the constant
        # once, when it plans, so the LIKE pattern still reaches the trigram index.
        # ~Q(variables={}) matches the partial index's condition, so PostgreSQL uses it.
        matches = (
            Contact.objects.alias(values_folded=VariableValuesFolded("variables"))
            .filter(lead=OuterRef("pk"), values_folded__contains=Fold(Value(query)))
            .exclude(variables={})
        )
    return leads.filter(Exists(matches))


class _EqualsAny(Lookup):
    """``lhs = ANY(%s)`` with the list as one array parameter (PostgreSQL)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))


def phone_in(field: str, phones: list[str]) -> Q | Lookup:
    """``<field>__in=phones`` for a long list of numbers, to pass to ``filter()``. On
    PostgreSQL it is one array parameter (``= ANY(%s)``) instead of one parameter per
    number: for the 5,000 numbers of an import batch, Django and psycopg spent longer
    building and sending the parameters than the database spent on the query
    (measured: about 8 of the 13 CPU seconds of validating 100,000 rows). Both forms
    use the same indexes."""
    if connection.vendor == "postgresql":
        return _EqualsAny(F(field), phones)
    return Q(**{f"{field}__in": phones})


def with_lead_names(rows: QuerySet[Model], *, lead: str = "lead") -> QuerySet[Model]:
    """``rows`` (calls, status changes: anything with a foreign key ``lead`` to a lead)
    with what names their leads (``Lead.__str__``: the primary number and its
    variables) fetched for all of them at once: two queries per page or chunk,
    whatever its size, instead of one per row."""
    return rows.prefetch_related(
        Prefetch(lead, queryset=Lead.objects.only("id")),
        Prefetch(
            f"{lead}__contacts",
            queryset=Contact.objects.filter(position=0).only("lead_id", "phone", "variables"),
            to_attr="primary_contacts",
        ),
    )


def search_by_lead(rows: QuerySet[Model], query: str, *, phone: str | None = None) -> QuerySet[Model]:
    """The ``rows`` (with a foreign key ``lead``) of the leads the leads search finds
    for ``query`` (``search_leads``: part of a number, else a variable value such as a
    name). With ``phone``, the row's own number field, a number-like query must also be
    part of that number: a call to the lead's other number is not a call to this one.

    Through the leads' numbers (their trigram index on PostgreSQL) and the rows' own
    index on their lead, never a scan of the rows' table for the text."""
    query = query.strip()
    if not query:
        return rows
    found = rows.filter(lead_id__in=search_leads(Lead.objects.all(), query).order_by().values("pk"))
    digits = search_digits(query)
    if phone is not None and digits is not None:
        found = found.filter(**{f"{phone}__contains": digits})
    return found


# --- What a bulk action would skip ---------------------------------------------------------

QUERY_CANCELED = "57014"  # PostgreSQL's error code for a statement past its timeout


def count_action_skips(
    leads: QuerySet[Lead], rules: list[tuple[str, Q]], *, within_seconds: float | None = None
) -> tuple[dict[str, int], int] | None:
    """How many of ``leads`` an action with these skip rules (an action's own, from
    ``leads.transitions``) would skip, by reason, as ``transitions.count_skips`` counts
    them when the action runs, and how many leads there are; for its confirmation page.
    One query, over the selection as the list filters it (the count the list shows).

    On a large selection the rules that look at each lead's numbers (Reschedule's,
    Move's) take seconds; ``within_seconds`` bounds the count on PostgreSQL, and None
    means it did not finish in time.
    """
    selection = leads.order_by()
    if within_seconds is None or connection.vendor != "postgresql":
        return count_skips(selection, rules)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # For this transaction only: the connection's own timeout is back after it.
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(int(within_seconds * 1000))])
        try:
            with transaction.atomic():
                return count_skips(selection, rules)
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED:
                return None
            raise


# How long the campaign page's count of leads without the required consent is reused:
# it reads each dialable lead's row (about 0.5 s for 200,000 on PostgreSQL) and changes
# only when leads are added, edited or moved, never by dialling (no claim takes them).
CONSENT_MISSING_FRESH_SECONDS = 60


def consent_missing_count(campaign: Campaign) -> int:
    """The campaign's dialable leads (Created, Scheduled, Rescheduled) without the
    consent it requires, which no claim takes (0 when it requires none): the count the
    campaign page shows, counted at most CONSENT_MISSING_FRESH_SECONDS ago. A range
    of the (campaign, status, id) index, each lead's consent read from its row."""
    if campaign.satisfying_consents() is None:
        return 0
    # Keyed by the requirement too: a changed setting is counted at once.
    key = f"leads:consent-missing:{campaign.pk}:{campaign.requires_consent}"
    count = cache.get(key)
    if count is None:
        leads = Lead.objects.filter(consent_missing(campaign), campaign=campaign, status__in=DIALABLE_LEAD_STATUSES)
        count = leads.order_by().count()
        cache.set(key, count, CONSENT_MISSING_FRESH_SECONDS)
    return count
