"""What the leads list needs to stay fast with millions of rows: its paginator and its
ordering; and its filters, which are leads.filters.LeadFilter."""

from functools import cached_property
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Paginator
from django.db import connections, transaction
from django.http import QueryDict

from leads.filters import LeadFilter
from leads.selectors import tie_break
from leadsite.admin import LeadsiteChangeList

# The admin's parameters that are not filters yet reach the list's filters: the
# object a change page returns to (it is read there, not here).
KEPT_PARAMS = ("_changelist_filters",)

# Above this many rows the whole table's planner estimate stands in for its count.
ESTIMATE_ABOVE = 100_000
# A filtered list counts its rows exactly up to this many, never further: a filter
# matching 100,000 leads would otherwise read all of them on every page load (and the
# planner's estimate of a JSON or text filter can be off by a thousand times).
COUNT_UP_TO = 10_000
# Pages past an estimated count open (there may be rows), up to an offset the
# database's integers hold.
MAX_PAGE = 10**9


class ListCount(int):
    """How many rows a list has, as the page says it: exactly ("1,204"), or when that
    was not counted, "about 120,000" (the planner's estimate) or "more than 10,000".

    An int, so that the admin's paginator and templates compute with it; its text is the
    words, so that every place Django prints the count (the pagination line, "Select all
    N", "All N selected") says "about" where it is not exact. ``__html__`` because
    templates format an int as a number before printing it, and keep an object that
    says how it is to be shown."""

    exact: bool
    label: str

    def __new__(cls, value: int, *, label: str = "") -> "ListCount":
        count = super().__new__(cls, value)
        count.exact = not label
        count.label = label or f"{value:,}"
        return count

    @classmethod
    def about(cls, estimate: int) -> "ListCount":
        return cls(estimate, label=f"about {estimate:,}")

    @classmethod
    def more_than(cls, bound: int) -> "ListCount":
        return cls(bound + 1, label=f"more than {bound:,}")

    def __str__(self) -> str:
        return self.label

    def __html__(self) -> str:
        return self.label


def _plan_rows(queryset) -> int:
    """The planner's estimate of the rows of ``queryset`` (PostgreSQL)."""
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a condition that can match nothing: no query to plan
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        ((plan,),) = cursor.fetchall()
    return int((plan[0] if isinstance(plan, list) else plan)["Plan"]["Plan Rows"])


class EstimatingPaginator(Paginator):
    """Counts that cost the same whatever the table's size: the whole table on
    PostgreSQL by the planner's row estimate (opening a list never counts a million
    rows); a filtered list exactly up to COUNT_UP_TO rows, and beyond that "about N"
    by the planner's estimate, or "more than 10,000" when the estimate is lower than
    what was counted. Where a number is promised (a bulk action's confirmation, the
    export) it is counted exactly there, not here."""

    @cached_property
    def count(self) -> ListCount:
        queryset = self.object_list
        postgresql = connections[queryset.db].vendor == "postgresql"
        if not queryset.query.where and postgresql:
            with connections[queryset.db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return ListCount.about(int(row[0]))
        return self._bounded(queryset, postgresql)

    @staticmethod
    def _bounded(queryset, postgresql: bool) -> ListCount:
        counted = queryset.order_by().values("pk")[: COUNT_UP_TO + 1].count()
        if counted <= COUNT_UP_TO:
            return ListCount(counted)
        estimate = _plan_rows(queryset) if postgresql else 0
        return ListCount.about(estimate) if estimate > COUNT_UP_TO else ListCount.more_than(COUNT_UP_TO)

    def validate_number(self, number):
        # Past an estimated count's last page there may be more rows (or none: an empty
        # page, not an error), so only an exact count bounds the page number.
        if self.count.exact:
            return super().validate_number(number)
        try:
            page = int(number)
        except (TypeError, ValueError):
            return super().validate_number(number)  # the same error as for an exact count
        if page < 1 or page > MAX_PAGE:
            raise EmptyPage("That page contains no results")
        return page

    def page(self, number):
        if self.count.exact:
            return super().page(number)
        # Django's page stops at the count (and folds orphans into the last page): an
        # estimate is no place to stop at.
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page]
        if connections[rows.db].vendor == "postgresql":
            rows = _read_in_list_order(rows)
        return self._get_page(rows, number, self)


# What the planner must not do for a page of a list known to hold more than
# COUNT_UP_TO rows. Its estimate of a JSON or text filter can be a thousand times too
# low (156 rows where 100,000 match), so it would gather every match through an index
# and sort them all for a page of 100 (1.4 s at 1,000,000 leads); reading the list's own
# ordered index and stopping at the page's last row reads a page's worth divided by the
# matches' share, a few thousand rows at most (1 ms). Parallel workers and JIT only
# cost time for such a read (the disabled plans' penalty makes the plan look expensive
# enough to compile).
IN_LIST_ORDER = {
    "enable_bitmapscan": "off",
    "enable_seqscan": "off",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}


def _read_in_list_order(rows) -> list:
    """The page's rows, read along the list's ordered index (PostgreSQL), with the
    settings local to this one read."""
    with transaction.atomic(using=rows.db), connections[rows.db].cursor() as cursor:
        for name, value in IN_LIST_ORDER.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        page = list(rows)
        for name in IN_LIST_ORDER:
            cursor.execute(f"RESET {name}")
    return page


class HistoryPaginator(EstimatingPaginator):
    """For history lists (calls, status changes), which only grow: a filtered list
    whose planner estimate is large shows the estimate at once, instead of counting
    up to 10,000 rows on a filter no index serves (which may read the whole table
    when its matches are rare)."""

    @cached_property
    def count(self) -> ListCount:
        queryset = self.object_list
        if queryset.query.where and connections[queryset.db].vendor == "postgresql":
            estimate = _plan_rows(queryset)
            if estimate > ESTIMATE_ABOVE:
                return ListCount.about(estimate)
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
