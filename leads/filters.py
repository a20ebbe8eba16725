"""The filters of the leads, defined once with django-filter.

The command line (export_leads) uses them as they are; every filter name is also a
query parameter (?status=completed&status=rescheduled&attempts_min=2).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, Func, Lookup, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import Contains, Exact
from django.http import QueryDict
from django.utils import timezone

from campaigns.models import CONSENT_SATISFYING, Campaign, Consent
from campaigns.validators import VARIABLE_NAME_RE

from .folding import Fold
from .models import MAX_DISPOSITION, Contact, ContactStatus, Lead, LeadStatus
from .phones import search_digits
from .variables import MAX_VALUE_LENGTH

YES_NO = [("true", "Yes"), ("false", "No")]
DATE = forms.DateInput(attrs={"type": "date"})
# The platform names the results (a call's extracted variables) as it likes; a
# longer name than this is no name anyone filters by.
MAX_RESULT_NAME = 200
MAX_RESULT_VALUE = 1000


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


class CountFilter(django_filters.NumberFilter):
    """A whole number of attempts, within what the column holds: django-filter's
    NumberFilter takes 1.5 or 1e400 and compares them anyway."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=0, max_value=2**31 - 1, **kwargs)


class LeadFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.all())
    # distinct=False: a lead has one status, so no lead comes twice; django-filter's
    # default SELECT DISTINCT would make the list's count and page read every row
    # the other filters match instead of the head of an index.
    status = django_filters.MultipleChoiceFilter(
        choices=LeadStatus.choices, widget=forms.CheckboxSelectMultiple, distinct=False
    )
    created_from = django_filters.DateFilter(
        method="filter_from", field_name="created_at", label="Created from", widget=DATE
    )
    created_to = django_filters.DateFilter(method="filter_to", field_name="created_at", label="Created to", widget=DATE)
    last_attempt_from = django_filters.DateFilter(
        method="filter_from", field_name="last_attempt_at", label="Last attempt from", widget=DATE
    )
    last_attempt_to = django_filters.DateFilter(
        method="filter_to", field_name="last_attempt_at", label="Last attempt to", widget=DATE
    )
    last_outcome = django_filters.CharFilter(label="Last outcome (e.g. no-answer)")
    attempts_min = CountFilter(field_name="attempts", lookup_expr="gte", label="Attempts, at least")
    attempts_max = CountFilter(field_name="attempts", lookup_expr="lte", label="Attempts, at most")
    # Yes/no as a choice: django-filter's BooleanFilter reads an unknown value as
    # "no filter", which would silently export everything.
    has_secondary = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_has_secondary", label="Has secondary numbers"
    )
    do_not_call = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_do_not_call", label="Has a number on the do-not-call list"
    )
    variable = django_filters.CharFilter(method="filter_noop", label="Variable name")
    value = django_filters.CharFilter(method="filter_noop", label="Variable equals")
    value_contains = django_filters.CharFilter(
        method="filter_noop", label="Variable contains", max_length=MAX_VALUE_LENGTH
    )
    number = django_filters.CharFilter(method="filter_number", label="A number contains")
    # What the calls found out (results-and-compliance.md §2, "Results on the lead").
    goal_achieved = django_filters.ChoiceFilter(
        choices=[*YES_NO, ("unknown", "Unknown")],  # no conversation yet, or it did not say
        method="filter_goal_achieved",
        label="Goal achieved (latest conversation)",
    )
    disposition = django_filters.CharFilter(
        method="filter_disposition", max_length=MAX_DISPOSITION, label="Disposition (e.g. interested)"
    )
    result = django_filters.CharFilter(method="filter_noop", max_length=MAX_RESULT_NAME, label="Result name")
    result_value = django_filters.CharFilter(method="filter_noop", max_length=MAX_RESULT_VALUE, label="Result equals")
    result_contains = django_filters.CharFilter(
        method="filter_noop", max_length=MAX_RESULT_VALUE, label="Result contains"
    )
    callback_pending = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_callback_pending", label="Callback pending"
    )
    opted_out = django_filters.ChoiceFilter(choices=YES_NO, method="filter_opted_out", label="Opted out on a call")
    # The lead's consent (results-and-compliance.md §5).
    consent = django_filters.MultipleChoiceFilter(
        choices=Consent.choices, widget=forms.CheckboxSelectMultiple, distinct=False, label="Consent"
    )
    consent_from = django_filters.DateFilter(
        method="filter_from", field_name="consent_at", label="Consent given from", widget=DATE
    )
    consent_to = django_filters.DateFilter(
        method="filter_to", field_name="consent_at", label="Consent given to", widget=DATE
    )
    consent_missing = django_filters.ChoiceFilter(
        choices=YES_NO,
        method="filter_consent_missing",
        label="Lacks the consent its campaign requires",
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_from(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(**{f"{name}__gte": _day_start(value)})

    def filter_to(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(**{f"{name}__lt": _day_start(value + datetime.timedelta(days=1))})

    def filter_has_secondary(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        has = Exists(Contact.objects.filter(lead=OuterRef("pk"), position=1))
        return queryset.filter(has if value == "true" else ~has)

    def filter_do_not_call(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        listed = Exists(Contact.objects.filter(lead=OuterRef("pk"), status=ContactStatus.BLACKLISTED))
        return queryset.filter(listed if value == "true" else ~listed)

    def filter_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        digits = search_digits(value)
        if digits is None:
            return queryset.none()
        return queryset.filter(Exists(Contact.objects.filter(lead=OuterRef("pk"), phone__contains=digits)))

    def filter_noop(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # variable, value and value_contains work together in filter_queryset; so do
        # result, result_value and result_contains.
        return queryset

    def filter_goal_achieved(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "unknown":
            return queryset.filter(~_among(Q(goal_achieved__isnull=False)))
        # "IS NOT NULL" stated too: Django writes goal_achieved=False as NOT
        # goal_achieved, from which PostgreSQL does not infer the partial index's
        # condition.
        return queryset.filter(self._with(Q(goal_achieved=value == "true", goal_achieved__isnull=False)))

    def filter_disposition(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(self._with(Q(disposition=value)))

    def filter_callback_pending(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        pending = Q(callback_at__isnull=False)
        return queryset.filter(self._with(pending) if value == "true" else ~_among(pending))

    def filter_opted_out(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        opted_out = Q(opted_out_at__isnull=False)
        return queryset.filter(self._with(opted_out) if value == "true" else ~_among(opted_out))

    def filter_consent_missing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        missing = consent_missing()
        return queryset.filter(missing if value == "true" else ~missing)

    def _with(self, condition: Q) -> Q | Exists:
        """The leads with ``condition``, one a partial index of migration 0018 holds
        exactly: alone, that index is the list (its count read from it alone); with a
        campaign or a status, a join of it with the list's own (campaign, status, id)
        index (``_among``), so the count still reads no row of the table."""
        data = self.form.cleaned_data
        return _among(condition) if data.get("campaign") or data.get("status") else condition

    def clean_variable_filters(self, data: dict) -> None:
        if (data.get("value") or data.get("value_contains")) and not data.get("variable"):
            self.form.add_error("variable", "Name the variable to compare.")
        # Only a name a variable can have: a longer or stranger one would match nothing.
        if data.get("variable") and not VARIABLE_NAME_RE.match(data["variable"]):
            self.form.add_error("variable", "Not a variable name (lower-case letters, digits and _).")

    def clean_result_filters(self, data: dict) -> None:
        if (data.get("result_value") or data.get("result_contains")) and not data.get("result"):
            self.form.add_error("result", "Name the result to compare.")

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            self.clean_variable_filters(self.form.cleaned_data)
            self.clean_result_filters(self.form.cleaned_data)
        return valid and not self.form.errors

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = filter_results(super().filter_queryset(queryset), **_result_filters(self.form.cleaned_data))
        data = self.form.cleaned_data
        name = data.get("variable")
        if not name:
            return queryset
        # The name is the key's data, never part of a lookup path: in
        # ``variables__<name>`` a variable called isnull, has_key, regex or gt would
        # be read as that lookup instead of as a key. The text of the value (->> on
        # PostgreSQL) is compared, as the list shows it.
        value = KeyTextTransform(name, "variables")
        if data.get("value"):
            queryset = queryset.filter(
                Exists(Contact.objects.filter(Exact(value, data["value"]), lead=OuterRef("pk"), position=0))
            )
        if data.get("value_contains"):
            # Case and accents aside, as the search box (leads.folding).
            contains = Contains(Fold(value), Fold(Value(data["value_contains"])))
            queryset = queryset.filter(Exists(Contact.objects.filter(contains, lead=OuterRef("pk"), position=0)))
        return queryset


def consent_missing(campaign: Campaign | None = None) -> Q:
    """The leads whose campaign (``campaign``'s, or any) requires a consent they do not
    have (express written satisfies express). By campaign id, read first (campaigns are
    few), so that the leads' own (campaign, …) indexes find them and no join is made."""
    campaigns = Campaign.objects.exclude(requires_consent="none")
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    by_requirement: dict[str, list[int]] = {}
    for pk, required in campaigns.values_list("pk", "requires_consent"):
        by_requirement.setdefault(required, []).append(pk)
    missing = Q(pk__in=[])  # no campaign requires any: no lead lacks it
    for required, ids in by_requirement.items():
        missing |= Q(campaign_id__in=ids) & ~Q(consent__in=CONSENT_SATISFYING[required])
    return missing


def _among(condition: Q) -> Exists:
    """The leads with ``condition`` (one a partial index of migration 0018 holds
    exactly), written as "among the leads with it", a join with that index: on
    PostgreSQL the count then comes from indexes alone, merged in id order, instead
    of reading each candidate row of the table to check a column. Negated, it is
    every lead but those, counted the same way: the list's own indexes less the
    partial index's few entries (a column no index holds for the many leads without
    it would otherwise be read from every row)."""
    return Exists(Lead.objects.filter(condition, pk=OuterRef("pk")))


def _result_filters(data: dict) -> dict:
    return {
        "name": data.get("result") or "",
        "equals": data.get("result_value"),
        "contains": data.get("result_contains"),
    }


class ResultText(KeyTextTransform):
    """The text of the lead's result ``name``, as the export writes it and as
    PostgreSQL's ``->>`` gives it: true/false, 42, Friday, an object as JSON; nothing
    for null or a lead without it."""

    def __init__(self, name: str):
        super().__init__(name, "results")

    # The name is always a key: Django reads a name such as "42" as an array index.
    def as_postgresql(self, compiler, connection, **extra_context):
        lhs, params, _ = self.preprocess_lhs(compiler, connection)
        return f"({lhs} ->> %s)", (*params, self.key_name)

    def as_sqlite(self, compiler, connection, **extra_context):
        # leads_result_text is registered on every SQLite connection by leads.apps.
        lhs, params, _ = self.preprocess_lhs(compiler, connection)
        return f"leads_result_text({lhs}, %s)", (*params, self.key_name)


class _UnicodeUpper(Func):
    """Upper case beyond ASCII on SQLite (unicode_upper is registered on every SQLite
    connection by leads.apps)."""

    function = "unicode_upper"
    output_field = TextField()


class _ILike(Lookup):
    """``lhs ILIKE rhs`` (PostgreSQL), with the pattern as it is: the operator the
    trigram index of migration 0018 serves (Django's icontains is UPPER(…) LIKE,
    which it does not)."""

    lookup_name = "ilike"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} ILIKE %s", (*lhs_params, self.rhs)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_in_results(text: str) -> Q:
    """What a lead's results as a whole, as PostgreSQL writes them as text, hold when
    one of its results contains ``text`` (any case): the text JSON-escaped (inside a
    string value) or as it is (inside an object). A sieve the trigram index serves;
    the exact comparison of the named result follows. (The name is not part of the
    sieve: every lead with results has the same few names, and their trigrams would
    only make the index read more.)"""
    whole = Cast("results", TextField())
    sieve = Q()
    for form in dict.fromkeys([json.dumps(text, ensure_ascii=False)[1:-1], text]):
        sieve |= Q(_ILike(whole, f"%{_like_escaped(form)}%"))
    return sieve


def _json_values(text: str) -> list:
    """The JSON values whose text (as ``->>`` gives it) may be ``text``: the string
    itself, and the number, true/false or object it spells, if it spells one that
    PostgreSQL can hold (no NaN or infinity, at any depth)."""
    values: list = [text]
    try:
        value = json.loads(text)
        json.dumps(value, allow_nan=False)
    except (ValueError, RecursionError):  # not JSON, NaN or 1e400, a number with thousands of digits
        return values
    if not isinstance(value, str):
        values.append(value)
    return values


def filter_results(queryset: QuerySet, *, name: str, equals: str | None = None, contains: str | None = None):
    """Leads whose result ``name`` has the text ``equals`` (as the export writes it:
    true, 42, Friday), or contains ``contains`` in any case. The name is the key's
    data, never part of a lookup path (see filter_queryset)."""
    if not name or not (equals or contains):
        return queryset
    value = ResultText(name)
    postgresql = connection.vendor == "postgresql"
    # Only leads with results can match; on PostgreSQL this is also the condition of
    # the partial indexes of migration 0018, which find the candidates.
    queryset = queryset.exclude(results={})
    if equals:
        if postgresql:
            # The results holding that key with one of those values (jsonb_path_ops
            # index): a key is data there, a JSON document's, whatever it spells.
            candidates = Q()
            for candidate in _json_values(equals):
                candidates |= Q(results__contains={name: candidate})
            queryset = queryset.filter(candidates)
        queryset = queryset.filter(Exact(value, equals))
    if contains:
        if postgresql:
            queryset = queryset.filter(_text_in_results(contains), _ILike(value, f"%{_like_escaped(contains)}%"))
        else:
            queryset = queryset.alias(result_upper=_UnicodeUpper(value)).filter(result_upper__contains=contains.upper())
    return queryset


class FilterProblem(ValueError):
    """Filters that cannot be applied; the message names each."""


def filter_leads(
    params: Mapping[str, Iterable[str]] | QueryDict, queryset: QuerySet[Lead] | None = None
) -> QuerySet[Lead]:
    """Leads matching ``params`` (a QueryDict, or names with their values), or
    FilterProblem naming each filter that cannot be applied."""
    if not isinstance(params, QueryDict):
        query = QueryDict(mutable=True)
        for name, values in params.items():
            query.setlist(name, [values] if isinstance(values, str) else list(values))
        params = query
    leads = LeadFilter(params, queryset=queryset if queryset is not None else Lead.objects.all())
    if not leads.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in leads.form.errors.items())
        raise FilterProblem(errors)
    return leads.qs
