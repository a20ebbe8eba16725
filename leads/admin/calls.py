"""Call history in the admin: every attempt as its own filterable list, each call
with the reports received for it, and a lead's latest calls on the lead's page.
Read-only: calls are written by the dialer and the outcome webhook."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from leads.models import Call, CallReport
from leadsite.admin import AuditTrailAdmin, HistoryInline, ReadOnlyAdminMixin

from .changelist import HistoryPaginator

LATEST_ON_LEAD_PAGE = 20


class InFlightFilter(admin.SimpleListFilter):
    title = "in flight"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "In flight"), ("no", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(ended_at__isnull=False)
        return queryset


class CallReportInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CallReport
    fields = ["received_at", "webhook_id", "applied", "note", "payload"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Outcome reports received (a repeat or a late one is kept, and moves nothing)"


class CallAdmin(AuditTrailAdmin):
    list_display = [
        "placed_at",
        "lead_link",
        "campaign",
        "phone",
        "attempt",
        "outcome_label",
        "duration_seconds",
        "goal_achieved",
        "ended_at",
    ]
    list_filter = ["campaign", "outcome", "goal_achieved", InFlightFilter, ("placed_at", admin.DateFieldListFilter)]
    list_select_related = ["campaign"]
    paginator = HistoryPaginator
    show_full_result_count = False
    sortable_by = ["placed_at"]
    date_hierarchy = None
    inlines = [CallReportInline]
    fields = [
        "lead_link",
        "campaign",
        "phone",
        "position",
        "attempt",
        "backend",
        "provider_call_id",
        "placed_at",
        "ended_at",
        "outcome",
        "duration_seconds",
        "goal_achieved",
        "extracted_variables",
        "summary",
        "recording",
        "variables",
        "backend_data",
    ]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The lead page links to its calls as ?lead=<id>.
        return lookup == "lead" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="lead")
    def lead_link(self, call: Call) -> str:
        return format_html(
            '<a href="{}">Lead {}</a>', reverse("admin:leads_lead_change", args=[call.lead_id]), call.lead_id
        )

    @admin.display(description="outcome", ordering="outcome")
    def outcome_label(self, call: Call) -> str:
        return call.get_outcome_display() if call.outcome else "in flight"

    @admin.display(description="recording")
    def recording(self, call: Call) -> str:
        if not call.recording_url:
            return "—"
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', call.recording_url, call.recording_url
        )


class CallHistoryInline(HistoryInline):
    """The lead's latest calls, linked to all of them in the calls list."""

    model = Call
    fields = [
        "placed_at",
        "phone",
        "attempt",
        "outcome",
        "duration_seconds",
        "goal_achieved",
        "summary",
        "ended_at",
        "details",
    ]
    readonly_fields = fields
    ordering = ["-placed_at"]
    latest = LATEST_ON_LEAD_PAGE
    verbose_name_plural = f"Calls (the latest {LATEST_ON_LEAD_PAGE})"
    full_list = ("admin:leads_call_changelist", "lead")

    @admin.display(description="")
    def details(self, call: Call) -> str:
        return format_html('<a href="{}">details</a>', reverse("admin:leads_call_change", args=[call.pk]))
