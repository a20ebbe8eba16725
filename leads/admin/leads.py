"""The leads pages of the admin. Thin: every write goes to leads.services or
leads.transitions; this module turns requests into calls and results into messages."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from campaigns.models import Campaign
from leads import selectors, services, transitions
from leads.consent import CONSENT_FIELDS
from leads.forms import (
    BaseLeadForm,
    ConfirmForm,
    DoNotCallNumberForm,
    MoveToCampaignForm,
    RescheduleForm,
    SecondaryNumberForm,
    SecondaryNumberFormSet,
    lead_form_for,
)
from leads.imports.admin import LeadImportMixin
from leads.models import Call, Contact, DoNotCallNumber, Lead, StatusChange
from leads.selectors import search_by_lead, search_leads, with_lead_names
from leads.transitions import Actor, TransitionResult
from leads.variables import format_pairs, value_text
from leadsite.admin import AuditTrailAdmin, HistoryInline, ModelAdmin

from .calls import CallHistoryInline
from .changelist import EstimatingPaginator, HistoryPaginator, IndexFriendlyChangeList, LeadFilterSetListFilter
from .exports import LeadExportMixin
from .lead_page import RESULT_FIELDS, LeadPageMixin, number_now


def report(modeladmin: admin.ModelAdmin, request: HttpRequest, verb: str, result: TransitionResult) -> None:
    """ "Reset 120 leads. Skipped 5: 3 a call is in progress, 2 already created."""
    text = f"{verb} {result.moved} lead{'' if result.moved == 1 else 's'}."
    if result.skipped:
        reasons = ", ".join(f"{count} {reason}" for reason, count in result.skipped.items())
        text += f" Skipped {result.skipped_total}: {reasons}."
    level = messages.SUCCESS if result.moved or not result.skipped else messages.WARNING
    modeladmin.message_user(request, text, level)


# More ticked leads than this, or "select all", and even an action that needs no answer
# asks first, with the count and what it will skip: one slip should not move thousands.
ASK_ABOVE = 100

SkipRules = list[tuple[str, Q]]


def is_large(request: HttpRequest) -> bool:
    """Whether the action was posted over "select all" or more than ASK_ABOVE leads."""
    selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    return request.POST.get("select_across") == "1" or len(selected) > ASK_ABOVE


def _answer_of(request: HttpRequest, fields: tuple[str, ...]) -> str:
    return "&".join(f"{name}={value}" for name in fields for value in request.POST.getlist(name))


def _skips(skipped: dict[str, int]) -> dict:
    """What the page shows of a count: the reasons, most first, and their sum."""
    return {"skipped": sorted(skipped.items(), key=lambda item: -item[1]), "total": sum(skipped.values())}


def ask_first(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[forms.Form],
    title: str,
    explanation: str,
    skip_rules: Callable[[forms.Form | None], SkipRules],
    answer_fields: tuple[str, ...] = (),
) -> forms.Form | HttpResponse:
    """The valid form once the operator has answered; until then, the page that asks.

    Like the admin's delete confirmation, the page posts back to the same filtered
    list URL with the selection (or "select all") it came with, so the action runs
    over exactly what was chosen.

    The page says how many leads the selection holds and how many the action will
    skip, and why, by the action's own rules (``skip_rules(form)``, with the valid
    answer, or None before there is one). Counting the skips costs more than the
    count (Reschedule's and Move's rules read every lead's numbers): up to
    LEADS_ACTION_SKIPS_INLINE_MAX leads the page counts them itself; above, the page
    is as quick as its count and its script asks for the skips with the same post
    plus ``count_skips`` (answered in JSON, within LEADS_ACTION_SKIPS_SECONDS).

    Rules that depend on the answer (``answer_fields``: Move's campaign) are counted
    once it is given: on a large selection the page comes back with the skips of
    that answer, and the action runs when it is posted unchanged.
    """
    counting = "count_skips" in request.POST
    answered = "apply" in request.POST and not counting
    form = form_class(request.POST if answered or counting else None)
    previewed = ""
    if (answered or counting) and form.is_valid():
        answer = _answer_of(request, answer_fields)
        if answered and (not answer_fields or not is_large(request) or request.POST.get("previewed") == answer):
            return form
        if answered or request.POST.get("previewed") == answer:
            previewed = answer
    rules = skip_rules(form if previewed else None)
    if counting:
        counted = selectors.count_action_skips(queryset, rules, within_seconds=settings.LEADS_ACTION_SKIPS_SECONDS)
        return JsonResponse({"counted": False} if counted is None else {"counted": True, **_skips(counted[0])})
    # A few ticked leads are counted with their skips in one query; a large selection
    # is counted first, as the page always did, to know whether its skips can wait.
    count = queryset.count() if is_large(request) else None
    skips = None  # above the inline limit, the page's script asks for them
    if count is None or count <= settings.LEADS_ACTION_SKIPS_INLINE_MAX:
        skipped, count = selectors.count_action_skips(queryset, rules)
        skips = _skips(skipped)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "explanation": explanation,
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "count": count,
        "skips": skips,
        "moving": count - skips["total"] if skips else None,
        # Rules the answer decides that are not counted yet (Move before its campaign).
        "counted_later": bool(answer_fields) and not previewed,
        "large": is_large(request),
        "previewed": previewed,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/leads/action_form.html", context)


def move_when_confirmed(
    name: str,
    *,
    description: str,
    move: Callable[..., TransitionResult],
    skip_rules: Callable[[], SkipRules],
    verb: str,
    title: str,
    explanation: str,
) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], HttpResponse | None]:
    """The admin action ``name`` that needs no answer: ``move`` (a transition) over the
    selection at once, or, on a large selection, after its confirmation page."""

    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        # The page's own request for its skip counts is answered, never run as the action.
        if is_large(request) or "count_skips" in request.POST:
            answer = ask_first(
                modeladmin,
                request,
                queryset,
                form_class=ConfirmForm,
                title=title,
                explanation=explanation,
                skip_rules=lambda form: skip_rules(),
            )
            if isinstance(answer, HttpResponse):
                return answer
        report(modeladmin, request, verb, move(queryset, actor=Actor.admin(request.user)))
        return None

    action.__name__ = action.__qualname__ = name  # the admin's name for the action
    return action


reset_leads = move_when_confirmed(
    "reset_leads",
    description="Reset: back to Created with fresh attempts",
    move=transitions.reset,
    skip_rules=transitions.reset_skip_rules,
    verb="Reset",
    title="Reset leads",
    explanation="The leads go back to Created and every number not on the do-not-call list gets "
    "a fresh budget of attempts; their call history is kept.",
)
complete_leads = move_when_confirmed(
    "complete_leads",
    description="Complete",
    move=transitions.complete,
    skip_rules=transitions.complete_skip_rules,
    verb="Completed",
    title="Complete leads",
    explanation="The leads become Completed and are not dialled again; their numbers keep their state.",
)
stop_leads = move_when_confirmed(
    "stop_leads",
    description="Stop: give up (Max retries)",
    move=transitions.stop,
    skip_rules=transitions.stop_skip_rules,
    verb="Stopped",
    title="Stop leads",
    explanation="The leads become Max retries and are not dialled again; their numbers keep their state.",
)


@admin.action(description="Reschedule…", permissions=["change"])
def reschedule_leads(modeladmin, request, queryset):
    form = ask_first(
        modeladmin,
        request,
        queryset,
        form_class=RescheduleForm,
        title="Reschedule leads",
        explanation="Numbers that ran out of attempts or were completed get a fresh budget; "
        "numbers judged invalid and do-not-call numbers do not.",
        skip_rules=lambda form: transitions.reschedule_skip_rules(),
    )
    if isinstance(form, HttpResponse):
        return form
    # "interval": no time given, each campaign's retry interval from now.
    at = form.cleaned_data["at"] if form.cleaned_data["when"] == "at" else None
    report(modeladmin, request, "Rescheduled", transitions.reschedule(queryset, at=at, actor=Actor.admin(request.user)))


@admin.action(description="Do not call…", permissions=["change"])
def do_not_call(modeladmin, request, queryset):
    form = ask_first(
        modeladmin,
        request,
        queryset,
        form_class=ConfirmForm,
        title="Put on the do-not-call list",
        explanation="Every number of these leads goes on the do-not-call list and is never dialled "
        "again, in any campaign. Other leads with the same numbers are marked too. Taking a number "
        "off the list is done on the do-not-call list itself.",
        skip_rules=lambda form: services.do_not_call_leads_skip_rules(),
    )
    if isinstance(form, HttpResponse):
        return form
    result = services.do_not_call_leads(leads=queryset, actor=Actor.admin(request.user))
    report(modeladmin, request, "Marked do not call:", result.leads)
    modeladmin.message_user(request, f"{result.numbers_added} numbers added to the do-not-call list.")


@admin.action(description="Move to campaign…", permissions=["change"])
def move_to_campaign(modeladmin, request, queryset):
    form = ask_first(
        modeladmin,
        request,
        queryset,
        form_class=MoveToCampaignForm,
        title="Move leads to another campaign",
        explanation="The leads join the chosen campaign as Created with fresh attempts; "
        "their status and call history are kept.",
        skip_rules=lambda form: transitions.move_to_campaign_skip_rules(
            queryset, form.cleaned_data["campaign"] if form else None
        ),
        answer_fields=("campaign",),
    )
    if isinstance(form, HttpResponse):
        return form
    campaign = form.cleaned_data["campaign"]
    result = transitions.move_to_campaign(queryset, campaign=campaign, actor=Actor.admin(request.user))
    report(modeladmin, request, f"Moved to “{campaign.name}”:", result)


class SecondaryNumberInline(admin.TabularInline):
    model = Contact
    form = SecondaryNumberForm
    formset = SecondaryNumberFormSet
    fields = ["order", "phone", "own_variables", "state", "attempts_used", "outcome", "now"]
    readonly_fields = ["state", "attempts_used", "outcome", "now"]
    verbose_name = "secondary number"
    verbose_name_plural = "Secondary numbers (dialled in this order; change Order to reorder)"
    extra = 1
    max_num = 10

    # Read-only (a view-only user), the admin looks "order" and "own_variables" up
    # on the contact, which has no such attribute, and printed "None": these show them.
    @admin.display(description="Order")
    def order(self, contact: Contact) -> str:
        return str(contact.position)

    @admin.display(description="Own values")
    def own_variables(self, contact: Contact) -> str:
        return format_pairs(contact.variables) or EMPTY

    # A row not saved yet has no state: show nothing rather than defaults.
    @admin.display(description="Status")
    def state(self, contact: Contact) -> str:
        return contact.get_status_display() if contact.pk else ""

    @admin.display(description="Attempts")
    def attempts_used(self, contact: Contact) -> str:
        return str(contact.attempts) if contact.pk else ""

    @admin.display(description="Last outcome")
    def outcome(self, contact: Contact) -> str:
        return contact.last_outcome if contact.pk else ""

    def get_formset(self, request, obj=None, **kwargs):
        # The rows' contacts know their lead's id only; "now" reads the lead itself (its
        # zone, its numbers' do-not-call entries, fetched once). The admin makes this
        # inline anew for each request.
        self.lead = obj
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="Now")
    def now(self, contact: Contact) -> str:
        """Its local time, and its do-not-call entry if it has one."""
        return number_now(self.lead, contact) if contact.pk and self.lead is not None else ""


class StatusHistoryInline(HistoryInline):
    model = StatusChange
    fields = ["changed_at", "from_status", "to_status", "source", "actor", "reason"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    latest = 50
    verbose_name_plural = "Status history (the latest 50)"
    full_list = ("admin:leads_statuschange_changelist", "lead")


EMPTY = "—"
# How much of a lead's results the list shows, and its tooltip.
RESULTS_SHOWN = 40
RESULTS_TITLE = 300


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _form_values(lead: Lead) -> dict:
    """What the lead's form is filled in with (its number, each variable, the assistant's
    default where the lead has none), worked out once per lead and page."""
    if not hasattr(lead, "_form_values"):
        lead._form_values = lead_form_for(lead.campaign)(instance=lead).initial
    return lead._form_values


def _form_value(form: type[forms.Form], name: str):
    """A read-only display of the form field ``name``, labelled as the form labels it."""

    @admin.display(description=form.base_fields[name].label)
    def shown(lead: Lead) -> str:
        return _form_values(lead).get(name) or EMPTY

    shown.__name__ = name
    return shown


class LeadAdmin(LeadPageMixin, LeadImportMixin, LeadExportMixin, ModelAdmin):
    list_display = [
        "primary_number",
        "variables_summary",
        "campaign",
        "status_badge",
        "attempts",
        "last_outcome",
        "next_attempt_at",
        "created",
        # Last, so the sort links (?o=4, 7, 8) keep their columns.
        "results_summary",
    ]
    list_display_links = ["primary_number"]
    list_filter = [LeadFilterSetListFilter]
    list_select_related = ["campaign"]
    list_per_page = 100
    show_full_result_count = False
    # Facet counts would run one COUNT per filter choice on every page load.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator
    # get_search_results does the searching; the admin shows its box when this is set.
    search_fields = ["contacts__phone"]
    search_help_text = "A number (or part of it, with or without +), or a variable value such as a name."
    # Each sortable column has an index that ends in id. Sorting by anything else
    # would sort the whole table on every page: filter by it instead.
    sortable_by = ["status_badge", "next_attempt_at", "created"]
    actions = [reset_leads, complete_leads, reschedule_leads, stop_leads, do_not_call, move_to_campaign]
    inlines = [SecondaryNumberInline, CallHistoryInline, StatusHistoryInline]
    # django-import-export's Import and Export buttons, over the list's own template.
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"
    readonly_fields = [
        "campaign",
        "status_badge",
        "attempts",
        "last_outcome",
        "last_attempt_at",
        "next_attempt_at",
        "waiting_now",
        "created_at",
        "updated_at",
        "primary_number_now",
        *RESULT_FIELDS,
    ]

    class Media:
        css = {"all": ["leadsite/admin.css"]}

    # --- list -------------------------------------------------------------------

    def get_queryset(self, request):
        # Only the rows of the page are fetched; their primary numbers follow in one
        # more query of at most a page of contacts.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("contacts", queryset=Contact.objects.filter(position=0), to_attr="primary_contacts")
            )
        )

    def get_search_results(self, request, queryset, search_term):
        return search_leads(queryset, search_term), False

    def get_changelist(self, request, **kwargs):
        return IndexFriendlyChangeList

    @staticmethod
    def _primary(lead: Lead) -> Contact | None:
        contacts = getattr(lead, "primary_contacts", None)
        if contacts is None:
            contacts = list(lead.contacts.filter(position=0))
        return contacts[0] if contacts else None

    @admin.display(description="Number")
    def primary_number(self, lead: Lead) -> str:
        primary = self._primary(lead)
        return primary.phone if primary else "—"

    @admin.display(description="Variables")
    def variables_summary(self, lead: Lead) -> str:
        primary = self._primary(lead)
        values = list((primary.variables if primary else {}).items())[:3]
        if not values:
            return "—"
        # In a box of at most three lines (static/leadsite/admin.css), so a long value
        # does not make the row tall; each value's name is its tooltip.
        return format_html(
            '<div class="lead-values">{}</div>',
            format_html_join(" · ", '<span title="{}">{}</span>', ((name, str(value)[:40]) for name, value in values)),
        )

    @admin.display(description="Results")
    def results_summary(self, lead: Lead) -> str:
        """The goal, the disposition and the first results, short enough for the list
        to fit a 1440-pixel screen; the whole (up to a limit) in the tooltip."""
        goal = {True: "goal ✓", False: "goal ✗"}.get(lead.goal_achieved, "")
        # By name, as the export's columns: PostgreSQL keeps JSON keys in an order of its own.
        shown = sorted((lead.results or {}).items())[:3]
        results = ", ".join(f"{name}: {value_text(value)}" for name, value in shown)
        text = " · ".join(part for part in (goal, lead.disposition, results) if part)
        if not text:
            return EMPTY
        return format_html('<span title="{}">{}</span>', text[:RESULTS_TITLE], _shortened(text, RESULTS_SHOWN))

    @admin.display(description="Created", ordering="id")
    def created(self, lead: Lead):
        # Sorted by id, which grows with created_at and has the list's indexes.
        return lead.created_at

    @admin.display(description="Status", ordering="status")
    def status_badge(self, lead: Lead) -> str:
        return format_html('<span class="lead-status lead-status-{}">{}</span>', lead.status, lead.get_status_display())

    # --- lead page --------------------------------------------------------------

    def _campaign_for(self, request: HttpRequest, obj: Lead | None) -> Campaign | None:
        if obj is not None:
            return obj.campaign
        raw = request.POST.get("campaign") or request.GET.get("campaign")
        if raw and str(raw).isdigit():
            return Campaign.objects.select_related("assistant").filter(pk=raw).first()
        return None

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = lead_form_for(self._campaign_for(request, obj))
        return super().get_form(request, obj, change=change, **kwargs)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, SecondaryNumberInline):
            # Each row reads its number in the lead's campaign's country. On the add
            # page ``obj`` is the lead not saved yet: its campaign is the page's.
            kwargs["form_kwargs"] = {"campaign": self._campaign_for(request, obj if obj.pk else None)}
        return kwargs

    def get_fields(self, request, obj=None):
        # What ModelAdmin.get_fields asks for (the form with every field): the
        # variables' fields are the campaign's.
        form = self.get_form(request, obj, fields=None)
        variable_fields = [name for name in form.base_fields if name.startswith("var_")]
        head = ["campaign", "status_badge"] if obj else []
        tail = (
            ["attempts", "last_outcome", "last_attempt_at", "next_attempt_at", "waiting_now", "created_at"]
            if obj
            else []
        )
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only, the admin shows a field by looking its name up on the lead;
            # these are the form's own fields (the lead has no "primary_phone"), and it
            # printed "None" for each. Shown as the form would fill them in instead.
            variable_fields = [_form_value(form, name) for name in variable_fields]
        primary = ["primary_phone", "primary_number_now"] if obj else ["primary_phone"]
        return [*head, *primary, *variable_fields, "extra_variables", "timezone", *tail]

    def get_fieldsets(self, request, obj=None):
        # The consent on its own, after the lead's numbers and values (get_fields).
        main, *rest = super().get_fieldsets(request, obj)
        consent = {
            "fields": list(CONSENT_FIELDS),
            "classes": ["lead-consent"],
            "description": "What the person agreed to, and the evidence. A campaign that requires consent "
            "never dials a lead without it; the campaign page counts such leads.",
        }
        return [main, ("Consent", consent), *rest]

    @admin.display(description="Primary number")
    def primary_phone(self, lead: Lead) -> str:
        return _form_values(lead)["primary_phone"] or EMPTY

    @admin.display(description="Other variables")
    def extra_variables(self, lead: Lead) -> str:
        return _form_values(lead)["extra_variables"] or EMPTY

    @admin.display(description="Primary number now")
    def primary_number_now(self, lead: Lead) -> str:
        return number_now(lead, self._primary(lead))

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def add_view(self, request, form_url="", extra_context=None):
        if self._campaign_for(request, None) is None:
            return self._choose_campaign(request)
        extra_context = {**(extra_context or {}), "lead_campaign": self._campaign_for(request, None)}
        return super().add_view(request, form_url, extra_context)

    def _choose_campaign(self, request: HttpRequest) -> HttpResponse:
        campaigns = Campaign.objects.select_related("assistant").order_by("name")
        context = {
            **self.admin_site.each_context(request),
            "title": "Add lead: choose its campaign",
            "opts": self.model._meta,
            "campaigns": campaigns,
            "bad_choice": "campaign" in request.GET,
        }
        return TemplateResponse(request, "admin/leads/lead/choose_campaign.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["lead_campaign"] = self._campaign_for(request, obj)
        if add and context["lead_campaign"]:
            # Keep the campaign through the POST of the add form.
            form_url = f"?campaign={context['lead_campaign'].pk}"
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form: BaseLeadForm, change):
        actor = Actor.admin(request.user)
        phone = form.cleaned_data["primary_phone"]
        if change:
            services.lead_update(lead=obj, primary_phone=phone, variables=form.lead_variables(), actor=actor)
        else:
            obj.campaign = form.campaign_obj
            services.lead_create(lead=obj, primary_phone=phone, variables=form.lead_variables(), actor=actor)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, SecondaryNumberFormSet):
            return super().save_formset(request, form, formset, change)
        numbers = [
            services.Number(
                phone=f.cleaned_data["phone"],
                variables=f.cleaned_data.get("own_variables") or {},
                contact_id=f.instance.pk,
            )
            for f in formset.kept_in_order()
        ]
        services.lead_set_secondary_numbers(lead=form.instance, numbers=numbers, actor=Actor.admin(request.user))
        # What formset.save() would have recorded, for the admin's change message.
        formset.new_objects = [f.instance for f in formset.forms if f.instance.pk is None and f.has_changed()]
        formset.changed_objects = []
        formset.deleted_objects = list(formset.deleted_objects) if hasattr(formset, "deleted_objects") else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # A race the form could not see (the lead went into a call, the number was
            # taken meanwhile): the transaction rolled back, nothing was saved.
            self.message_user(request, "Not saved: " + " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class StatusChangeAdmin(AuditTrailAdmin):
    list_display = ["changed", "lead_link", "from_status", "to_status", "source", "actor", "reason"]
    list_filter = [("lead__campaign", admin.RelatedFieldListFilter), "source", "to_status", "from_status"]
    list_select_related = ["actor"]
    list_per_page = 100
    show_full_result_count = False
    # A facet count is one COUNT per filter choice over the whole trail.
    show_facets = admin.ShowFacets.NEVER
    paginator = HistoryPaginator
    # Newest first by id, the order rows are written in: no index has changed_at first
    # (one more index would be paid by every status change), so ordering by it sorted
    # the whole trail on every page (about a second at 1,500,000 rows; by id, 1 ms).
    ordering = ["-id"]
    sortable_by = ["changed"]
    search_fields = ["lead"]  # the search box; get_search_results reads it
    search_help_text = (
        "A number (or part of it, with or without + and spaces), or a lead's variable value such as a name."
    )

    def get_queryset(self, request):
        # Each row names its lead: their primary numbers come in one query per page.
        return with_lead_names(super().get_queryset(request))

    def get_changelist(self, request, **kwargs):
        return IndexFriendlyChangeList

    def get_search_results(self, request, queryset, search_term):
        return search_by_lead(queryset, search_term), False

    def lookup_allowed(self, lookup, value, request=None):
        # The lead page links to its history as ?lead=<id>.
        return lookup == "lead" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="Changed at", ordering="id")
    def changed(self, change: StatusChange):
        return change.changed_at

    @admin.display(description="Lead")
    def lead_link(self, change: StatusChange) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:leads_lead_change", args=[change.lead_id]), change.lead
        )


class DoNotCallNumberAdmin(ModelAdmin):
    form = DoNotCallNumberForm
    list_display = ["phone", "reason", "added_by", "created_at", "opted_out_on"]
    search_fields = ["phone"]
    readonly_fields = ["added_by", "created_at", "opted_out_on"]
    list_per_page = 100
    actions = ["remove_from_list"]

    def has_change_permission(self, request, obj=None):
        # An entry is added or removed, never edited into another number.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        result = services.do_not_call_add(phones=[obj.phone], reason=obj.reason, actor=Actor.admin(request.user))
        obj.pk = DoNotCallNumber.objects.get(phone=obj.phone).pk
        report(self, request, "Marked do not call:", result.leads)

    def delete_model(self, request, obj):
        services.do_not_call_remove(phones=[obj.phone], actor=Actor.admin(request.user))

    @admin.action(description="Take off the list (numbers can be dialled again)", permissions=["delete"])
    def remove_from_list(self, request, queryset):
        phones = list(queryset.values_list("phone", flat=True)[:10_000])
        result = services.do_not_call_remove(phones=phones, actor=Actor.admin(request.user))
        self.message_user(request, f"{len(phones)} numbers taken off the list; {result.moved} leads are Created again.")

    def get_queryset(self, request):
        # An entry a call added names that call's lead: the calls (only their lead) and
        # the leads' names come in one query each per page.
        entries = (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("call", queryset=Call.objects.only("id", "lead_id")))
        )
        return with_lead_names(entries, lead="call__lead")

    @admin.display(description="Opted out on a call to")
    def opted_out_on(self, entry: DoNotCallNumber) -> str:
        if entry.call_id is None or entry.call is None:
            return EMPTY
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:leads_call_change", args=[entry.call_id]), entry.call.lead
        )
