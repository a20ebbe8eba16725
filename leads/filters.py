"""The filters of the leads, defined once with django-filter.

The command line (export_leads) uses them as they are; every filter name is also a
query parameter (?status=completed&status=rescheduled&attempts_min=2).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Contains, Exact
from django.http import QueryDict
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.validators import VARIABLE_NAME_RE

from .folding import Fold
from .models import Contact, ContactStatus, Lead, LeadStatus
from .phones import search_digits
from .variables import MAX_VALUE_LENGTH

YES_NO = [("true", "Yes"), ("false", "No")]
DATE = forms.DateInput(attrs={"type": "date"})


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
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices, widget=forms.CheckboxSelectMultiple)
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
        return queryset  # variable, value and value_contains work together in filter_queryset

    def clean_variable_filters(self, data: dict) -> None:
        if (data.get("value") or data.get("value_contains")) and not data.get("variable"):
            self.form.add_error("variable", "Name the variable to compare.")
        # Only a name a variable can have: a longer or stranger one would match nothing.
        if data.get("variable") and not VARIABLE_NAME_RE.match(data["variable"]):
            self.form.add_error("variable", "Not a variable name (lower-case letters, digits and _).")

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            self.clean_variable_filters(self.form.cleaned_data)
        return valid and not self.form.errors

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
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
