"""Assistant and campaign pages. Start and pause go through campaigns.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_http_methods, require_POST

from leads.dialer.dashboard import Progress, campaign_dashboard, campaign_progress, held_counts
from leadsite.admin import LeadsiteChangeList, ModelAdmin

from . import services
from .forms import CampaignForm
from .models import OUTCOME_INTERVALS, Assistant, CallingRule, Campaign, Variable


class VariableInline(admin.TabularInline):
    model = Variable
    fields = ["position", "name", "default_value", "required", "description"]
    extra = 1


@admin.register(Assistant)
class AssistantAdmin(ModelAdmin):
    list_display = ["name", "timezone", "created_at"]
    search_fields = ["name"]
    inlines = [VariableInline]
    # Bulk delete is off for the site (leadsite.admin.configure_site); an assistant
    # without campaigns may go in bulk (one with campaigns is protected by the schema).
    actions = ["delete_selected"]


class CampaignChangeList(LeadsiteChangeList):
    """The campaigns of the page carry their progress, counted for the whole page at once."""

    def get_results(self, request):
        super().get_results(request)
        progress = campaign_progress(campaign.pk for campaign in self.result_list)
        for campaign in self.result_list:
            campaign.progress = progress[campaign.pk]


@admin.register(Campaign)
class CampaignAdmin(ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "assistant",
        "status",
        "leads_done",
        "goals",
        "max_calls_in_parallel",
        "secondary_strategy",
        "created_at",
    ]
    list_filter = ["status", "assistant"]
    search_fields = ["name"]
    readonly_fields = ["status", "status_reason", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "assistant", "status", "status_reason"]}),
        (
            "Calling hours",
            {
                "fields": ["allowed_hours_start", "allowed_hours_end", "allowed_days", "timezone", "default_country"],
                "description": "Calls start only inside these hours and days, in the callee's local time: the "
                "lead's time zone when it has one, else the zone of the number dialled (from its prefix; all of "
                "them when the prefix spans several), else this campaign's (else the assistant's). The calling "
                "rules of the number's region narrow them further (see “How calling rules work” below).",
            },
        ),
        (
            "Attempts",
            {
                "fields": [
                    "max_calls_in_parallel",
                    "max_retries",
                    "retry_interval",
                    "secondary_strategy",
                    "call_timeout",
                ],
                "description": "Each number gets 1 + max retries attempts. Changes apply from the next dial.",
            },
        ),
        (
            "Retry interval per outcome",
            {
                "fields": list(OUTCOME_INTERVALS),
                "description": "How long to wait before the same number is tried again, by how its last call "
                "ended, in minutes. Leave one blank to use the retry interval above. In a cascade, the wait "
                "after a round uses the interval of the round's last outcome. Lost calls (no outcome in time) "
                "wait as for no answer.",
            },
        ),
        (
            "What counts as success",
            {
                "fields": [
                    "retry_on_voicemail",
                    "retry_on_goal_incomplete",
                    "goal_completion_variable",
                    "mark_complete_when_no_leads",
                ]
            },
        ),
        (
            "Callbacks",
            {
                "fields": ["max_callbacks", "callback_horizon_days"],
                "description": "When the callee asks to be called back at a time, the lead is rescheduled to "
                "it, in the dialled number's local time (or to the calling hours' next opening after it), and "
                "that same number is called then. A callback is an appointment, not a retry: it does not use "
                "the number's retries. A callback over the limit or beyond the horizon is not honoured (the "
                "call's page says why) and the ordinary retry applies; a goal achieved or a request not to be "
                "called again wins over a callback.",
            },
        ),
        (
            "Consent",
            {
                "fields": ["requires_consent"],
                "description": "The consent a lead must have on record (the lead's Consent field, or the "
                "consent column of an import) to be dialled. Leads without it are never claimed, whatever their "
                "status; the dashboard counts them and the leads list finds them (filter “Lacks the consent its "
                "campaign requires”). Express written satisfies express; an existing business relationship "
                "satisfies neither. Collecting the consent and its evidence stays your job.",
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    change_form_template = "admin/campaigns/campaign/change_form.html"

    class Media:
        # The dashboard on the campaign page, the progress bars on the list.
        css = {"all": ["leadsite/admin.css"]}

    def get_changelist(self, request, **kwargs):
        return CampaignChangeList

    @admin.display(description="leads done")
    def leads_done(self, campaign: Campaign) -> str:
        """Completed, Max retries and Do not call, as parts of one bar, and their share."""
        progress: Progress = campaign.progress
        bar = format_html_join(
            "",
            '<span class="lead-status-{}" style="width: {}%"></span>',
            ((status, f"{share:.2f}") for status, _, _, share in progress.parts),
        )
        counted = timezone.localtime(progress.counted_at)
        return format_html(
            '<div class="campaign-progress" title="{}"><div class="status-bar" role="img" aria-label="{}">{}</div>'
            '<span data-progress="{}">{}%</span></div>',
            f"{progress.label}; counted at {counted:%H:%M:%S} {timezone.get_current_timezone_name()}",
            progress.label,
            bar,
            campaign.pk,
            progress.share,
        )

    @admin.display(description="goals achieved")
    def goals(self, campaign: Campaign) -> str:
        return f"{campaign.progress.goals:,}"

    def has_delete_permission(self, request, obj=None):
        # A campaign with leads is never deleted from here: that would take its leads
        # and their history with it. Move or export them first.
        if obj is not None and obj.leads.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<int:pk>/start/", self.admin_site.admin_view(self.start_view), name=f"{info}_start"),
            path("<int:pk>/pause/", self.admin_site.admin_view(self.pause_view), name=f"{info}_pause"),
            path("<int:pk>/dashboard/", self.admin_site.admin_view(self.dashboard_view), name=f"{info}_dashboard"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = Campaign.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if campaign is not None:
            extra_context = {**(extra_context or {}), "dashboard": campaign_dashboard(campaign)}
        return super().change_view(request, object_id, form_url, extra_context)

    def dashboard_view(self, request: HttpRequest, pk: int):
        """The dashboard alone, which the campaign page reloads every few seconds."""
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_view_or_change_permission(request, campaign):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/campaigns/campaign/dashboard.html",
            {"dashboard": campaign_dashboard(campaign), "original": campaign},
        )

    def _status_view(self, request: HttpRequest, pk: int, service, done: str):
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        try:
            service(campaign=campaign)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done.format(name=campaign.name), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[pk]))

    @method_decorator(require_http_methods(["GET", "POST"]))
    def start_view(self, request: HttpRequest, pk: int):
        """Start asks first: who cannot be called now and why (GET), then starts (POST)."""
        if request.method == "POST":
            return self._status_view(request, pk, services.campaign_start, "“{name}” is running.")
        campaign = get_object_or_404(Campaign, pk=pk)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": campaign,
            "title": f"{'Resume' if campaign.status == Campaign.Status.PAUSED else 'Start'} “{campaign.name}”?",
            "held": held_counts(campaign, now=timezone.now()),
            "has_leads": campaign.leads.exists(),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/start_confirmation.html", context)

    @method_decorator(require_POST)
    def pause_view(self, request, pk):
        return self._status_view(
            request, pk, services.campaign_pause, "“{name}” is paused: calls in progress finish, no new ones start."
        )


@admin.register(CallingRule)
class CallingRuleAdmin(ModelAdmin):
    """The calling rules by region (results-and-compliance.md §4): every enabled rule
    that matches a number narrows its campaign's window and caps its calls."""

    list_display = ["name", "country_code", "region", "window", "days_shown", "caps", "enabled"]
    list_filter = ["enabled", "country_code"]
    search_fields = ["name", "region"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "enabled", "country_code", "region", "notes"],
                "description": "A rule applies to every number of its country calling code (and, when it names "
                "one, of its US state or Canadian province, read from the area code), in every campaign. Every "
                "enabled rule that matches a number applies: calls start only inside the campaign's hours and "
                "every rule's, in the callee's local time (the lead's zone, else the number's, else the "
                "campaign's), and the tightest cap wins. A lead that may not be called now waits, and its page "
                "says why and until when.",
            },
        ),
        ("When", {"fields": ["earliest", "latest", "days", "holidays"]}),
        ("How often", {"fields": ["max_calls_24h", "max_calls_7d"]}),
    ]

    @admin.display(description="window")
    def window(self, rule: CallingRule) -> str:
        start = f"{rule.earliest:%H:%M}" if rule.earliest else "any time"
        end = f"{rule.latest:%H:%M}" if rule.latest else "any time"
        return f"{start}–{end}" if rule.earliest or rule.latest else "all day"

    @admin.display(description="days")
    def days_shown(self, rule: CallingRule) -> str:
        days = ", ".join(day[:3].capitalize() for day in rule.days) if rule.days else "every day"
        return days + (f"; {len(rule.holidays)} holiday(s)" if rule.holidays else "")

    @admin.display(description="caps")
    def caps(self, rule: CallingRule) -> str:
        parts = [
            f"{rule.max_calls_24h} / 24 h" if rule.max_calls_24h else "",
            f"{rule.max_calls_7d} / 7 days" if rule.max_calls_7d else "",
        ]
        return ", ".join(part for part in parts if part) or "none"
