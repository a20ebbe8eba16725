"""What the leads list needs to stay fast with millions of rows: its paginator and its
ordering; and its filters, which are leads.filters.LeadFilter."""

from functools import cached_property
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.http import QueryDict

from leads.filters import LeadFilter
from leads.selectors import tie_break
from leadsite.admin import LeadsiteChangeList

# The admin's parameters that are not filters yet reach the list's filters: the
# object a change page returns to (it is read there, not here).
KEPT_PARAMS = ("_changelist_filters",)

# Below this many rows an exact count is cheap enough to always make.
ESTIMATE_ABOVE = 100_000


class EstimatingPaginator(Paginator):
    """Exact counts for filtered lists; for the whole table on PostgreSQL, the
    planner's row estimate, so opening a list (leads, calls, history) never counts
    a million rows."""

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


class HistoryPaginator(EstimatingPaginator):
    """For history lists (calls, status changes), which only grow: a filtered list
    whose planner estimate is large shows the estimate too, instead of counting
    millions of rows on a filter no index serves. Smaller ones are counted exactly."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if queryset.query.where and connection.vendor == "postgresql":
            try:
                sql, params = queryset.order_by().values("pk").query.sql_with_params()
            except EmptyResultSet:  # a condition that can match nothing: no query to plan
                return 0
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                ((plan,),) = cursor.fetchall()
            estimate = (plan[0] if isinstance(plan, list) else plan)["Plan"]["Plan Rows"]
            if estimate > ESTIMATE_ABOVE:
                return int(estimate)
        return super().count


class IndexFriendlyChangeList(LeadsiteChangeList):
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
        # The private hook Django's ChangeList makes an order total with (checked
        # against Django 5.2.19): no public one sees the order the list settles on.
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk" and isinstance(ordering[0], str):
            ordering[-1] = tie_break(ordering[0])
        return ordering

    def lead_list_query(self) -> dict:
        """The arguments of ``leads.selectors.lead_list`` that give this list's rows:
        for work on them outside the admin (the export page, the export task)."""
        ordering = [name for name in self.queryset.query.order_by if isinstance(name, str)]
        filters = {name: values for name, values in self.filter_params.items() if name in LeadFilter.base_filters}
        return {"filters": filters, "search": self.query, "ordering": ordering}


class LeadFilterSetListFilter(admin.ListFilter):
    """The leads' filters (leads.filters.LeadFilter, the same as the export command's)
    as one form in the list's sidebar. Its parameters are the FilterSet's names
    (?campaign=3&status=completed&status=rescheduled&attempts_min=2)."""

    title = "leads"
    template = "admin/leads/filterset.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        names = set(LeadFilter.base_filters)
        self.query = QueryDict(mutable=True)
        for name in [key for key in params if key in names]:
            values = params.pop(name)
            self.query.setlist(name, values if isinstance(values, list) else [values])
        self.filterset = LeadFilter(self.query or None, queryset=model._default_manager.none())
        # Django's own parameters (o, q, all, _popup, …) never reach a list filter.
        # Anything else is no filter of this list (?goal=true): like a value that
        # cannot be read, it is named beside the filters and the list shows no lead,
        # rather than every lead as if it were not there.
        self.unknown = sorted(key for key in params if key not in KEPT_PARAMS)
        for key in [*self.unknown, *KEPT_PARAMS]:
            params.pop(key, None)
        # The form carries the list's search and order along (not what it refused).
        self.hidden_params = [
            (key, value)
            for key, values in request.GET.lists()
            for value in values
            if key not in names and key not in self.unknown and key not in ("p", ERROR_FLAG)
        ]

    def has_output(self) -> bool:
        return True

    @property
    def refused(self) -> bool:
        """Whether the list shows no lead because a filter could not be applied
        (known once ``queryset`` has run)."""
        return bool(self.unknown or (self.filterset.is_bound and self.filterset.form.errors))

    def expected_parameters(self):
        return list(LeadFilter.base_filters)

    def choices(self, changelist):
        # Called before the template renders: the list's address without what it refused.
        kept = {key: values for key, values in changelist.filter_params.items() if key not in self.unknown}
        self.without_unknown = "?" + urlencode(sorted(kept.items()), doseq=True)
        return []

    def queryset(self, request, queryset):
        if self.unknown:
            return queryset.none()
        if not self.query:
            return queryset
        filterset = LeadFilter(self.query, queryset=queryset)
        if not filterset.is_valid():
            # Shown beside the fields; the list shows nothing rather than ignore them.
            self.filterset = filterset
            return queryset.none()
        return filterset.qs
