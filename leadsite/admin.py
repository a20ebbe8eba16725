"""What every admin page of Leadsite shares."""

import datetime
from collections.abc import Callable, Iterator

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.filters import FieldListFilter, ListFilter
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Field, ForeignObject, Lookup, QuerySet
from django.db.models.sql.where import WhereNode
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.urls import reverse
from django.utils import formats, timezone


def local_time(value: datetime.datetime | None) -> str:
    """A moment as every page shows it, in the site's zone and naming it
    ("2026-12-03 14:05 EST"; leadsite/formats): for a time written into a text
    (a message, a link, a label), which the admin does not format itself."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _lookups(node: WhereNode) -> Iterator[Lookup]:
    """Every comparison of a query's WHERE, those of its subqueries (EXISTS) too."""
    for child in node.children:
        if isinstance(child, WhereNode):
            yield from _lookups(child)
        elif isinstance(child, Lookup):
            yield child
        elif hasattr(child, "query") and hasattr(child.query, "where"):
            yield from _lookups(child.query.where)


def _column_type(field: Field) -> str:
    while isinstance(field, ForeignObject):  # a foreign key compares the key it points to
        field = field.target_field
    return field.get_internal_type()


def out_of_range_values(queryset: QuerySet) -> list[int]:
    """Whole numbers the query compares with an integer column that cannot hold them
    (?campaign__id__exact=99999999999999999999). SQLite cannot even bind them, and on
    PostgreSQL Django turns them into an always-empty condition, which a query plan
    cannot be asked about: either way the list must not run such a query."""
    operations = connections[queryset.db].ops
    found = []
    for lookup in _lookups(queryset.query.where):
        field = getattr(lookup.lhs, "output_field", None)
        if not isinstance(field, Field) or not lookup.rhs_is_direct_value():
            continue
        try:
            low, high = operations.integer_field_range(_column_type(field))
        except KeyError:  # not an integer column
            continue
        values = lookup.rhs if isinstance(lookup.rhs, (list, tuple, set, frozenset)) else [lookup.rhs]
        found += [
            v
            for v in values
            if isinstance(v, int)
            and not isinstance(v, bool)
            and ((low is not None and v < low) or (high is not None and v > high))
        ]
    return found


def _applied_when_used(factory: Callable[..., ListFilter]) -> Callable[..., ListFilter]:
    """A field's list filter that is applied whenever the query string names it.

    Django drops a filter with nothing to offer (a campaign filter when there is one
    campaign) together with its parameter, so ?campaign__id__exact=<another id>
    showed every row as if it were not there."""

    def make(field, request, params, model, model_admin, field_path=None):
        spec = factory(field, request, params, model, model_admin, field_path=field_path)
        if spec.used_parameters and not spec.has_output():
            spec.has_output = lambda: True
        return spec

    return make


class LeadsiteChangeList(ChangeList):
    """Every Leadsite list: a filter value the database cannot compare is an incorrect
    filter (Django's ?e=1 path, with a message saying which), never a server error."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        if out_of_range_values(queryset):
            raise IncorrectLookupParameters("A filter's number is out of range.")
        return queryset


class ModelAdmin(admin.ModelAdmin):
    def get_changelist(self, request, **kwargs):
        return LeadsiteChangeList

    def get_list_filter(self, request):
        entries = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str):
                entry = (entry, _applied_when_used(FieldListFilter.create))
            elif isinstance(entry, (tuple, list)):
                entry = (entry[0], _applied_when_used(entry[1]))
            entries.append(entry)
        return entries

    def get_changelist_instance(self, request):
        try:
            # A NUL character in a filter reaches the database as is, and PostgreSQL
            # refuses it with an error: treat it as the filter it cannot be.
            if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
                raise IncorrectLookupParameters("A filter holds a NUL character.")
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters:
            # Django's list then answers its "incorrect filter" state (?e=1), which
            # shows every row: say so, rather than let it look like the filter's result.
            if ERROR_FLAG not in request.GET:
                self.message_user(
                    request,
                    "The list could not be filtered as asked (a filter it does not have, "
                    "or a value it cannot read), so it shows every row, unfiltered.",
                    messages.ERROR,
                    fail_silently=True,
                )
            raise

    def response_post_save_add(self, request, obj):
        return self._back_to_the_same_list(request, super().response_post_save_add(request, obj))

    def response_post_save_change(self, request, obj):
        return self._back_to_the_same_list(request, super().response_post_save_change(request, obj))

    def _back_to_the_same_list(self, request, response):
        # Django rebuilds the list's address from a dict of its parameters, which
        # keeps one value per name: a list filtered by two statuses came back with one.
        # The address it came from is returned to as it was.
        came_from = request.GET.get("_changelist_filters")
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if came_from and getattr(response, "url", "").split("?")[0] == changelist:
            return HttpResponseRedirect(f"{changelist}?{QueryDict(came_from).urlencode()}")
        return response

    def response_action(self, request, queryset):
        # Django's admin filters by the posted ids as they come and fails with a
        # server error on one its primary key cannot read; refuse the request instead.
        key = self.model._meta.pk
        try:
            for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                key.to_python(value)
        except ValidationError:
            self.message_user(request, "The selection was not understood; nothing was changed.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


# Pages of other apps whose rows may go in bulk: they keep Django's bulk delete.
BULK_DELETE_KEPT = ["auth.Group", "auth.User", "axes.AccessAttempt", "axes.AccessFailureLog", "axes.AccessLog"]


def configure_site(site: admin.AdminSite) -> None:
    """Django's bulk delete ("Delete selected") is off for the site: it lists every
    object it would delete (unusable for leads at scale) and deletes around the pages'
    own delete (a campaign's leads with it, a do-not-call number without its service).
    A page that keeps it names it in its ``actions``, as Django's "Disabling a
    site-wide action" says; the pages of other apps in BULK_DELETE_KEPT are registered
    again naming it, so they offer what they offered before."""
    site.disable_action("delete_selected")
    for label in BULK_DELETE_KEPT:
        model = apps.get_model(label)
        if not site.is_registered(model):
            continue
        page = type(site.get_model_admin(model))
        site.unregister(model)
        site.register(model, type(page.__name__, (page,), {"actions": ["delete_selected", *(page.actions or [])]}))


class ReadOnlyAdminMixin:
    """A page or inline that is seen, never written from the admin: no add, change or
    delete, whoever asks (the rows are written by the code that records them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditTrailAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Records of what happened (status changes, calls, exports): seen, never written
    from the admin."""


class _LatestFormSet(BaseInlineFormSet):
    latest = 20

    def get_queryset(self):
        # Django's inline formsets cannot be given a sliced queryset (they filter
        # it by the parent object afterwards); slice once they have. Kept, as Django
        # keeps its own: a new one per call made every row fetch the history again.
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[: self.latest]
        return self._latest


class HistoryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A read-only inline of an object's latest history rows (calls, status changes)
    with a link to all of them in their own list: a page shows a bounded number of
    rows, whatever the history. ``full_list`` names that list's URL and the
    parameter that filters it by the parent."""

    template = "admin/history_inline.html"
    extra = 0
    can_delete = False
    latest = 20
    full_list: tuple[str, str] = ("", "")

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["formset"] = type("LatestFormSet", (_LatestFormSet,), {"latest": self.latest})
        return super().get_formset(request, obj, **kwargs)


def progress_response(record, *, done: int, total: int, working: bool) -> JsonResponse:
    """What the progress script (static/leadsite/progress.js) polls for a record the
    task worker is working on (an import, an export): 99% at most until it is over."""
    percent = 100 if not working else (min(99, int(100 * done / total)) if total else 0)
    return JsonResponse(
        {
            "status": record.status,
            "status_display": record.get_status_display(),
            "done": done,
            "total": total,
            "percent": percent,
        }
    )
