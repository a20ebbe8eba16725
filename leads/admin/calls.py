"""Call history in the admin: every attempt as its own filterable, searchable list
(exported as CSV), each call's page with its conversation (the transcript as a
dialogue, the recording's player), what it asked for (a callback, an opt-out) and the
reports received for it, and a lead's latest calls on the lead's page.
Read-only: calls are written by the dialer and the outcome webhook."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from campaigns.models import Campaign
from leads.dialer.hours import number_zone, zoned
from leads.exports.calls import calls_csv
from leads.models import Call, CallReport
from leads.selectors import search_by_lead, with_lead_names
from leadsite.admin import AuditTrailAdmin, HistoryInline, ReadOnlyAdminMixin

from .changelist import HistoryPaginator, IndexFriendlyChangeList

logger = logging.getLogger(__name__)

LATEST_ON_LEAD_PAGE = 20
EXPORT_URL_NAME = "leads_call_export"
EMPTY = "—"


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


# The fields of a call the list does not show.
LIST_DEFERS = ("transcript", "summary", "extracted_variables", "variables", "backend_data")


def _page(request: HttpRequest) -> str | None:
    """Which of the admin's pages a request is for (its URL's name)."""
    match = getattr(request, "resolver_match", None)
    return match.url_name if match is not None else None


class _RowsOnly:
    """A list that only works out its rows (filters, search, order) for the export,
    which reads them itself: no page is fetched and nothing is counted."""

    def get_results(self, request):
        self.result_count = self.full_result_count = None
        self.result_list = []
        self.can_show_all = self.multi_page = False


# --- The transcript ------------------------------------------------------------------

ROLES = {"agent": "Agent", "callee": "Callee"}


@dataclass(frozen=True)
class Turn:
    role: str  # "agent", "callee", or "" for a role the report did not name as either
    who: str
    text: str
    at: float | None


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def transcript_turns(transcript: object) -> tuple[list[Turn], int] | None:
    """The turns of a call's transcript as stored, and how many of its entries could
    not be read as turns; None when it is not a list of them at all. The webhook
    checks the reports it applies, but older calls have none (``[]``) and a row may
    hold anything: the page shows what it can, never fails on it."""
    if not isinstance(transcript, list):
        return None
    turns, unreadable = [], 0
    for entry in transcript:
        if not isinstance(entry, dict) or not _text(entry.get("text")).strip():
            unreadable += 1
            continue
        role = _text(entry.get("role"))
        known = role if role in ROLES else ""
        turns.append(
            Turn(
                role=known,
                who=ROLES.get(role, role[:20] or "?"),
                text=_text(entry["text"]),
                at=_seconds(entry.get("at")),
            )
        )
    return turns, unreadable


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def dialogue_html(transcript: object) -> str:
    """The transcript as a dialogue: who said what, at what second of the call; agent
    and callee told apart by label and by style. Every text is escaped."""
    read = transcript_turns(transcript)
    if read is None:
        return format_html(
            '<p class="call-dialogue-note">{}</p>', "The transcript could not be read (it is not a list of turns)."
        )
    turns, unreadable = read
    if not turns and not unreadable:
        return format_html('<p class="call-dialogue-note">{}</p>', "No transcript for this call.")
    items = format_html_join(
        "",
        '<li class="call-turn call-turn-{}"><span class="call-turn-who">{}</span>'
        '<span class="call-turn-at">{}</span><span class="call-turn-text">{}</span></li>',
        ((turn.role or "other", turn.who, _clock(turn.at), turn.text) for turn in turns),
    )
    note = (
        format_html(
            '<p class="call-dialogue-note">{} entr{} of the transcript could not be read and {} not shown.</p>',
            unreadable,
            "y" if unreadable == 1 else "ies",
            "is" if unreadable == 1 else "are",
        )
        if unreadable
        else ""
    )
    # Focusable, so a keyboard can scroll a long transcript.
    return format_html(
        '<div class="call-dialogue" tabindex="0" role="region" aria-label="Transcript"><ol>{}</ol></div>{}',
        items,
        note,
    )


def playable(url: str) -> bool:
    """Whether a recording's address is one a browser is given to play or open: http(s)
    only (never javascript:, data: or a path on this site)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


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
    # A facet count is one COUNT per filter choice over the calls.
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["placed_at"]
    date_hierarchy = None
    # get_search_results does the searching; the admin shows its box when this is set.
    search_fields = ["phone"]
    search_help_text = (
        "A number (or part of it, with or without + and spaces), or a lead's variable value such as a name."
    )
    inlines = [CallReportInline]
    change_list_template = "admin/leads/call/change_list.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "lead_link",
                    "campaign",
                    "phone",
                    "position",
                    "attempt",
                    "placed_at",
                    "ended_at",
                    "outcome",
                    "duration_seconds",
                    "goal_achieved",
                ]
            },
        ),
        ("Conversation", {"fields": ["disposition", "summary", "recording", "dialogue", "extracted_variables"]}),
        ("What the callee asked for", {"fields": ["callback", "opt_out_shown"]}),
        ("Sent and received", {"fields": ["variables", "backend", "provider_call_id", "backend_data"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    class Media:
        css = {"all": ["leadsite/calls.css"]}

    def get_queryset(self, request):
        # Each row names its lead: their primary numbers come in one query per page.
        calls = with_lead_names(super().get_queryset(request))
        if _page(request) == "leads_call_changelist":
            # What the list does not show and may be large (a transcript is up to a
            # megabyte): not read for its hundred rows.
            calls = calls.defer(*LIST_DEFERS)
        return calls

    def get_changelist(self, request, **kwargs):
        if _page(request) == EXPORT_URL_NAME:
            return type("CallExportRows", (_RowsOnly, IndexFriendlyChangeList), {})
        return IndexFriendlyChangeList

    def get_search_results(self, request, queryset, search_term):
        return search_by_lead(queryset, search_term, phone="phone"), False

    def lookup_allowed(self, lookup, value, request=None):
        # The lead page links to its calls as ?lead=<id>.
        return lookup == "lead" or super().lookup_allowed(lookup, value, request)

    # --- export -----------------------------------------------------------------

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_view), name=EXPORT_URL_NAME),
            *super().get_urls(),
        ]

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Seeing the calls and exporting leads: a call's row names its lead, its
        number and what the callee said, as a leads export does."""
        return self.has_view_permission(request) and request.user.has_perm("leads.export_lead")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The calls the list shows (its filters, search and order) as a streamed CSV."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            calls = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            # What the list itself does with filters it cannot apply: it says so.
            return HttpResponseRedirect(reverse("admin:leads_call_changelist") + f"?{ERROR_FLAG}=1")
        file_name = self._file_name(request)
        logger.info("calls export %s by %s: %s", file_name, request.user, request.GET.urlencode() or "every call")
        response = StreamingHttpResponse(
            calls_csv(calls.prefetch_related(None)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{file_name}"'
        return response

    @staticmethod
    def _file_name(request: HttpRequest) -> str:
        """calls-<campaign|all>[-search|-filtered]-<time>.csv"""
        parts = ["calls"]
        campaign_id = request.GET.get("campaign__id__exact", "")
        campaign = (
            Campaign.objects.filter(pk=campaign_id).first()
            if campaign_id.isascii() and campaign_id.isdigit() and len(campaign_id) < 19
            else None
        )
        parts.append(slugify(campaign.name) if campaign else "all")
        if request.GET.get("q"):
            parts.append("search")
        elif set(request.GET) - {"campaign__id__exact", "o", "p", ERROR_FLAG}:
            parts.append("filtered")
        parts.append(timezone.localtime().strftime("%Y%m%d-%H%M"))
        return re.sub(r"-+", "-", "-".join(parts))[:150] + ".csv"

    # --- columns and fields -----------------------------------------------------

    @admin.display(description="lead")
    def lead_link(self, call: Call) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:leads_lead_change", args=[call.lead_id]), call.lead)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_label(self, call: Call) -> str:
        return call.get_outcome_display() if call.outcome else "in flight"

    @admin.display(description="recording")
    def recording(self, call: Call) -> str:
        if not call.recording_url:
            return EMPTY
        if not playable(call.recording_url):
            return format_html(
                '{} <span class="call-note">(not played: only http and https addresses are)</span>', call.recording_url
            )
        return format_html(
            '<audio class="call-recording" controls preload="none" src="{url}">'
            '<a href="{url}" rel="noopener noreferrer" target="_blank">{url}</a></audio>'
            '<br><a href="{url}" rel="noopener noreferrer" target="_blank">{url}</a>',
            url=call.recording_url,
        )

    @admin.display(description="transcript")
    def dialogue(self, call: Call) -> str:
        return dialogue_html(call.transcript)

    @admin.display(description="callback")
    def callback(self, call: Call) -> str:
        if call.callback_at is None:
            asked = "None asked for."
        else:
            zone = number_zone(call.lead)
            asked = format_html(
                "Asked for {}, the number's local time; {} in your time zone.",
                zoned(call.callback_at, zone),
                zoned(call.callback_at, timezone.get_current_timezone_name()),
            )
        if call.callback_note:
            return format_html("{}<br>{}", asked, call.callback_note)
        return asked

    @admin.display(description="opt-out")
    def opt_out_shown(self, call: Call) -> str:
        if call.opt_out:
            return "Yes: the callee asked not to be called again (the lead's numbers went on the do-not-call list)."
        return "No."


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
