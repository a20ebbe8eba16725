"""The lead's own page, beyond its form: the buttons that control the lead, each of its
numbers as it stands now (its local time, its do-not-call entry), and what its calls
found out (its results).

The buttons are the list's own actions run on the one lead (``control_view``): the
same transition or service, the same permission, the same confirmation and the same
message, so the page and the list cannot drift apart.
"""

from __future__ import annotations

import datetime
import json
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from leads import transitions
from leads.dialer.hours import ZONE_SOURCES, number_zones
from leads.models import Call, Contact, DoNotCallNumber, Lead
from leadsite.admin import local_time as site_time

EMPTY = "—"

# The list's actions the lead page offers as buttons, by the action's name.
LEAD_CONTROLS = {
    "reset_leads": "Reset",
    "complete_leads": "Complete",
    "reschedule_leads": "Reschedule…",
    "stop_leads": "Stop",
    "do_not_call": "Do not call…",
}
# What every one of those actions skips, whichever it is (the transitions' own rules):
# on a lead in either state the buttons are shown disabled, saying why.
_EVERY_CONTROL_SKIPS = [transitions.SKIP_PROCESSING, transitions.SKIP_DO_NOT_CALL]
_WHY_OFF = {
    transitions.SKIP_PROCESSING[0]: "A call is in progress: the buttons work again once it has ended.",
    transitions.SKIP_DO_NOT_CALL[0]: "Every number of this lead is on the do-not-call list: take a number off "
    "the list (on the do-not-call list itself) to call the lead again.",
}


# A lead's results are what the AI extracted: bounded on the page, whatever a report held.
RESULTS_SHOWN = 100
RESULT_VALUE_SHOWN = 1000


# --- times ------------------------------------------------------------------------


def local_time(lead: Lead, contact: Contact | None, moment: datetime.datetime) -> str:
    """``moment`` in the zone the number's calling hours are read in, naming the zone
    and where it came from: "Thu 03 Dec 09:05 EST (America/New_York, the number's
    zone)"; a number whose prefix spans zones names them all (its window must hold in
    every one)."""
    zones, source = number_zones(lead, contact)
    zone = zones[0]
    if len(zones) > 1:
        return format_html(
            '<span class="local-time">{}</span> <span class="local-zone">({}, {})</span>',
            " / ".join(f"{moment.astimezone(zoneinfo.ZoneInfo(z)):%a %d %b %H:%M %Z}" for z in zones[:3]),
            ", ".join(zones[:3]) + (f" and {len(zones) - 3} more" if len(zones) > 3 else ""),
            "the number's zones: its calls start only inside the window in every one",
        )
    try:
        local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Zones are validated when typed; a row written around the forms says so.
        return format_html("unknown time zone “{}”", zone)
    return format_html(
        '<span class="local-time">{} {}</span> <span class="local-zone">({}, {})</span>',
        f"{local:%a %d %b %H:%M}",
        local.tzname(),
        zone,
        ZONE_SOURCES[source],
    )


def local_time_now(lead: Lead, contact: Contact | None) -> str:
    if not hasattr(lead, "_page_now"):
        lead._page_now = timezone.now()  # one instant for every number of the page
    return local_time(lead, contact, lead._page_now)


# --- numbers on the do-not-call list ------------------------------------------------


def _do_not_call_entries(lead: Lead) -> dict[str, DoNotCallNumber]:
    """The list's entries for the lead's numbers: one query per page, however many
    numbers it shows."""
    if not hasattr(lead, "_do_not_call_entries"):
        entries = DoNotCallNumber.objects.filter(phone__in=Contact.objects.filter(lead=lead).values("phone"))
        lead._do_not_call_entries = {entry.phone: entry for entry in entries}
    return lead._do_not_call_entries


def do_not_call_mark(lead: Lead, contact: Contact) -> str:
    """ "On the do-not-call list since …, added by whom or on which call, and why"; ""
    when the number is not on it."""
    entry = _do_not_call_entries(lead).get(contact.phone)
    if entry is None:
        return ""
    return format_html(
        '<span class="do-not-call-mark">On the do-not-call list</span> <span class="do-not-call-entry">since {} · {}{}{}</span>',
        site_time(entry.created_at),
        entry.get_source_display(),
        format_html(' (<a href="{}">the call</a>)', reverse("admin:leads_call_change", args=[entry.call_id]))
        if entry.call_id
        else "",
        format_html(" · “{}”", entry.reason) if entry.reason else "",
    )


def number_now(lead: Lead, contact: Contact | None) -> str:
    """A number's line on the page: its local time, and its do-not-call entry if any."""
    if contact is None:
        return EMPTY
    mark = do_not_call_mark(lead, contact)
    return format_html(
        "{}{}",
        local_time_now(lead, contact),
        format_html('<span class="number-listed"> · {}</span>', mark) if mark else "",
    )


# --- results ------------------------------------------------------------------------


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return EMPTY
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _playable(url: str) -> bool:
    """Only http(s) addresses go into the player (a javascript: or data: one never)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _result_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= RESULT_VALUE_SHOWN else text[:RESULT_VALUE_SHOWN] + "…"


RESULT_FIELDS = [
    "result_goal",
    "result_disposition",
    "result_summary",
    "result_duration",
    "result_recording",
    "result_callback",
    "result_opted_out",
    "result_values",
    "result_call",
]


class LeadPageMixin:
    """The lead page's buttons (``control_view`` and the context its template reads),
    its Results section, and its numbers' local time and do-not-call marks (the
    display methods the lead admin and its numbers' inline list)."""

    # --- buttons ----------------------------------------------------------------------

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/control/", self.admin_site.admin_view(self.control_view), name=f"{info}_control"),
            *super().get_urls(),
        ]

    def control_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A button of the lead page: the list's action of that name, on this lead alone.

        Reschedule and Do not call answer with their question first (the list's own
        page, which posts back here); its Cancel comes back here as a GET, which
        returns to the lead.
        """
        lead = self.get_object(request, object_id) if _is_id(object_id) else None
        if lead is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, lead):
            raise PermissionDenied
        query = request.GET.urlencode()
        back = HttpResponseRedirect(reverse("admin:leads_lead_change", args=[lead.pk]) + (f"?{query}" if query else ""))
        if request.method != "POST":
            return back
        name = request.POST.get("action", "")
        if name not in LEAD_CONTROLS:
            self.message_user(
                request, "That is not one of the lead page's buttons; nothing was changed.", messages.ERROR
            )
            return back
        action = self.get_actions(request).get(name)
        if action is None:  # the action's own permissions refuse this user
            raise PermissionDenied
        function, _, _ = action
        response = function(self, request, Lead.objects.filter(pk=lead.pk))
        return response or back

    def lead_controls(self, request: HttpRequest, lead: Lead) -> dict[str, Any]:
        """What the page's template needs for the buttons; nothing for a user who may
        not change the lead (who sees no button, and whose POST is refused)."""
        if not self.has_change_permission(request, lead):
            return {}
        actions = self.get_actions(request)
        skipped, _ = transitions.count_skips(Lead.objects.filter(pk=lead.pk), _EVERY_CONTROL_SKIPS)
        preserved = self.get_preserved_filters(request)
        return {
            "lead_controls": [
                {"name": name, "label": label, "description": actions[name][2]}
                for name, label in LEAD_CONTROLS.items()
                if name in actions
            ],
            "lead_controls_off": next((_WHY_OFF[reason] for reason in skipped), ""),
            "lead_controls_url": reverse("admin:leads_lead_control", args=[lead.pk])
            + (f"?{preserved}" if preserved else ""),
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None:
            context.update(self.lead_controls(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- the Results section ------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        results = {
            "fields": RESULT_FIELDS,
            "classes": ["lead-results"],
            "description": "What its calls found out: the results merged from every report, and the "
            "latest conversation's goal, disposition, summary, duration and recording.",
        }
        return [*fieldsets, ("Results", results)]

    @admin.display(description="Goal achieved")
    def result_goal(self, lead: Lead) -> str:
        return {True: "Yes", False: "No"}.get(lead.goal_achieved, "Unknown")

    @admin.display(description="Disposition")
    def result_disposition(self, lead: Lead) -> str:
        return lead.disposition or EMPTY

    @admin.display(description="Summary")
    def result_summary(self, lead: Lead) -> str:
        return format_html('<div class="lead-summary">{}</div>', lead.summary) if lead.summary else EMPTY

    @admin.display(description="Duration")
    def result_duration(self, lead: Lead) -> str:
        return _duration(lead.duration_seconds)

    @admin.display(description="Recording")
    def result_recording(self, lead: Lead) -> str:
        url = lead.recording_url
        if not url:
            return EMPTY
        if not _playable(url):
            return format_html("{} (not an http(s) address: not played)", url)
        return format_html(
            '<audio controls preload="none" src="{}"></audio> <a href="{}" rel="noopener noreferrer">download</a>',
            url,
            url,
        )

    @admin.display(description="Callback pending")
    def result_callback(self, lead: Lead) -> str:
        if lead.callback_at is None:
            return EMPTY
        # The callback dials the number next in line (the one that asked for it).
        contact = Contact.objects.filter(lead=lead, position=lead.next_position or 0).first()
        return format_html(
            "{} (your time: {})", local_time(lead, contact, lead.callback_at), site_time(lead.callback_at)
        )

    @admin.display(description="Waiting")
    def waiting_now(self, lead: Lead) -> str:
        """Why a due lead is not dialled yet (outside its window, over a cap), and until when."""
        if not lead.waiting:
            return EMPTY
        return format_html(
            "{} until {}: {}", lead.get_waiting_display(), site_time(lead.next_attempt_at), lead.waiting_note
        )

    @admin.display(description="Opted out")
    def result_opted_out(self, lead: Lead) -> str:
        return site_time(lead.opted_out_at)

    @admin.display(description="Results")
    def result_values(self, lead: Lead) -> str:
        results = lead.results if isinstance(lead.results, dict) else {}
        if not results:
            return EMPTY
        shown = list(results.items())[:RESULTS_SHOWN]
        rows = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td></tr>", ((name, _result_value(v)) for name, v in shown)
        )
        more = len(results) - len(shown)
        return format_html(
            '<table class="lead-result-values"><thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr>'
            "</thead><tbody>{}</tbody></table>{}",
            rows,
            format_html('<p class="help">and {} more</p>', more) if more else "",
        )

    @admin.display(description="Conversation")
    def result_call(self, lead: Lead) -> str:
        # Not lead.conversation_call: the column has no foreign-key check.
        call = Call.objects.filter(pk=lead.conversation_call_id).first() if lead.conversation_call_id else None
        if call is None:
            return EMPTY
        return format_html(
            '<a href="{}">the call of {} to {}</a>',
            reverse("admin:leads_call_change", args=[call.pk]),
            site_time(call.placed_at),
            call.phone,
        )


def _is_id(value: str) -> bool:
    """A lead's id as the database can hold it (a longer one would be a server error)."""
    return value.isascii() and value.isdigit() and int(value) < 2**63
