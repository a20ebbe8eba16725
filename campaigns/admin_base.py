"""What every admin page of Leadsite shares."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect, JsonResponse


class ModelAdmin(admin.ModelAdmin):
    def get_changelist_instance(self, request):
        # A NUL character in a filter reaches the database as is, and PostgreSQL
        # refuses it with an error: treat it as the filter it cannot be (Django's
        # list then shows its "incorrect filter" page state, ?e=1).
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            raise IncorrectLookupParameters("A filter holds a NUL character.")
        return super().get_changelist_instance(request)

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


class AuditTrailAdmin(ModelAdmin):
    """Records of what happened (status changes, calls, exports): seen, never written
    from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _LatestFormSet(BaseInlineFormSet):
    latest = 20

    def get_queryset(self):
        # Django's inline formsets cannot be given a sliced queryset (they filter
        # it by the parent object afterwards); slice once they have.
        return super().get_queryset()[: self.latest]


class HistoryInline(admin.TabularInline):
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

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def progress_response(record, *, done: int, total: int, working: bool) -> JsonResponse:
    """What the progress script (static/leadsite/progress.js) polls for a record the
    task worker is working on (an import, an export): 99% at most until it is over."""
    percent = 100 if not working else (min(99, int(100 * done / total)) if total else 0)
    return JsonResponse({"status": record.status, "status_display": record.get_status_display(), "done": done,
                         "total": total, "percent": percent})
