"""What the leads list needs to stay fast with millions of rows: its list filters,
its paginator and its ordering."""

import datetime
from functools import cached_property

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Contact

# Below this many rows an exact count is cheap enough to always make.
ESTIMATE_ABOVE = 100_000


class LeadPaginator(Paginator):
    """Exact counts for filtered lists; for the whole table on PostgreSQL, the
    planner's row estimate, so opening the list never counts a million rows."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where and connections[queryset.db].vendor == "postgresql":
            with connections[queryset.db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return queryset.count()


class IndexFriendlyChangeList(ChangeList):
    """Sort only by indexed columns, and break ties in the direction of the sort.

    ``sortable_by`` only hides header links: Django still sorts by any column named
    in ``?o=``, which on a million rows means sorting the table. And Django appends
    "-pk" to make any ordering total, so "next attempt ascending" becomes
    ``next_attempt_at ASC, id DESC``, which no (next_attempt_at, id) index can
    produce. Ties broken as ``id ASC`` let one index serve both directions.
    """

    def get_ordering_field(self, field_name):
        if field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def _get_deterministic_ordering(self, ordering):
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk":
            first = ordering[0]
            if isinstance(first, str) and not first.startswith("-"):
                ordering[-1] = "pk"
        return ordering


class DateRangeFilter(admin.FieldListFilter):
    """From / to dates (inclusive) in the site's time zone."""

    template = "admin/leads/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.param_from = f"{field_path}__gte"
        self.param_to = f"{field_path}__lt"
        super().__init__(field, request, params, model, model_admin, field_path)
        # The filter's own form must carry the list's other filters and search along.
        self.hidden_params = [
            (key, value)
            for key, values in request.GET.lists()
            for value in values
            if key not in (self.param_from, self.param_to, "p")
        ]
        self.errors: list[str] = []
        # FieldListFilter has moved our parameters from params to used_parameters.
        self.value_from = self._date(self.used_parameters, self.param_from)
        self.value_to = self._date(self.used_parameters, self.param_to)

    def _date(self, params, name):
        raw = params.pop(name, None)
        if isinstance(raw, list):
            raw = raw[-1]
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            self.errors.append(f"“{raw}” is not a date (use YYYY-MM-DD).")
            return None

    def expected_parameters(self):
        return [self.param_from, self.param_to]

    def has_output(self):
        return True

    def choices(self, changelist):
        return []

    def queryset(self, request, queryset):
        zone = timezone.get_current_timezone()
        if self.value_from:
            start = datetime.datetime.combine(self.value_from, datetime.time.min, tzinfo=zone)
            queryset = queryset.filter(**{self.param_from: start})
        if self.value_to:
            # "to 2026-11-27" includes that whole day.
            end = datetime.datetime.combine(self.value_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
            queryset = queryset.filter(**{self.param_to: end})
        return queryset


class HasSecondaryNumbersFilter(admin.SimpleListFilter):
    title = "secondary numbers"
    parameter_name = "has_secondary"

    def lookups(self, request, model_admin):
        return [("yes", "With secondary numbers"), ("no", "Primary number only")]

    def queryset(self, request, queryset):
        has = Exists(Contact.objects.filter(lead=OuterRef("pk"), position=1))
        if self.value() == "yes":
            return queryset.filter(has)
        if self.value() == "no":
            return queryset.filter(~has)
        return queryset
