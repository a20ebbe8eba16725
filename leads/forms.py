"""Forms of the lead pages and of the actions that need an answer first."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape

from campaigns.models import Campaign, Consent
from campaigns.validators import validate_country

from . import consent as consent_rules
from .models import Contact, DoNotCallNumber, Lead
from .phones import InvalidPhoneNumber, normalize_phone
from .variables import MAX_VALUE_LENGTH, format_pairs, parse_pairs

VARIABLE_PREFIX = "var_"


def clean_phone(value: str, campaign: Campaign | None, *, region: str | None = None) -> str:
    """``value`` in E.164; a number without + is read in the campaign's country (or
    ``region`` when there is no campaign)."""
    try:
        return normalize_phone(value, region=campaign.default_country if campaign else region)
    except InvalidPhoneNumber as error:
        raise ValidationError(str(error)) from None


class BaseLeadForm(forms.ModelForm):
    """The lead, its primary number and the lead's variables on one form.

    ``lead_form_for`` adds one field per variable of the campaign's assistant. Values
    equal to the assistant's default are not stored: the lead inherits the default,
    so changing a default later reaches every lead that did not override it.
    """

    campaign_obj: Campaign

    primary_phone = forms.CharField(
        label="Primary number",
        max_length=40,
        help_text="E.164 (+14155551234); spaces, dashes and brackets are fine, and numbers "
        "without + are read in the campaign's country.",
    )
    extra_variables = forms.CharField(
        label="Other variables",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "name=value, one per line"}),
        help_text="Values the assistant does not declare, one name=value per line.",
    )

    # The consent fields (leads.consent's rules, the import's too): the texts as long
    # as the import takes them, so that a lead saved here exports and imports back.
    # Not required: a post without it (a form from before) keeps the lead's level.
    consent = forms.ChoiceField(
        label="Consent",
        choices=Consent.choices,
        required=False,
        initial=Consent.NONE,
        help_text=consent_rules.LEVELS_HELP,
    )
    consent_source = forms.CharField(
        label="Consent source",
        max_length=consent_rules.MAX_CONSENT_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Where the consent was given: the form's page, a call, a contract (text or a URL).",
    )
    consent_certificate = consent_rules.certificate_field(
        label="Consent certificate",
        help_text="The address (http or https) of a certificate of the consent, e.g. TrustedForm's.",
    )

    class Meta:
        model = Lead
        fields = ["timezone", *consent_rules.CONSENT_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "consent_at" in self.fields:
            self.fields[
                "consent_at"
            ].help_text = "When the person gave it, in this page's time zone; not in the future, not before 1970."
        if self.instance.pk:
            primary = self.instance.contacts.filter(position=0).first()
            values = dict(primary.variables) if primary else {}
            self.initial.setdefault("primary_phone", primary.phone if primary else "")
            for variable in self.assistant_variables:
                self.initial.setdefault(
                    VARIABLE_PREFIX + variable.name, values.pop(variable.name, variable.default_value)
                )
            self.initial.setdefault("extra_variables", format_pairs(values))

    @property
    def assistant_variables(self):
        return list(self.campaign_obj.assistant.variables.all())

    def clean_primary_phone(self) -> str:
        return clean_phone(self.cleaned_data["primary_phone"], self.campaign_obj)

    def clean_consent(self) -> str:
        # Empty (not posted): the lead's own level, a new lead's default.
        return self.cleaned_data.get("consent") or self.instance.consent or Consent.NONE

    def clean_consent_at(self) -> datetime.datetime | None:
        moment = self.cleaned_data.get("consent_at")
        if moment is not None:
            try:
                consent_rules.check_consent_at(moment)
            except ValueError as problem:
                raise ValidationError(f"This date {problem}.") from None
        return moment

    def clean_consent_certificate(self) -> str:
        return consent_rules.clean_certificate(self.cleaned_data.get("consent_certificate") or "")

    def clean_extra_variables(self) -> dict[str, str]:
        extra = parse_pairs(self.cleaned_data.get("extra_variables") or "")
        declared = {v.name for v in self.assistant_variables}
        clashes = sorted(declared & extra.keys())
        if clashes:
            raise ValidationError(f"Use the fields above for {', '.join(clashes)}.")
        return extra

    def clean(self):
        cleaned = super().clean()
        phone = cleaned.get("primary_phone")
        if phone:
            taken = Contact.objects.filter(campaign=self.campaign_obj, position=0, phone=phone)
            if self.instance.pk:
                taken = taken.exclude(lead=self.instance)
            if taken.exists():
                self.add_error("primary_phone", f"Another lead of this campaign already has the number {phone}.")
            # The secondary numbers' formset is validated after this form and checks
            # them against the primary number it finds here.
            self.instance._primary_phone_input = phone
        return cleaned

    def lead_variables(self) -> dict[str, str]:
        values = {}
        for variable in self.assistant_variables:
            value = self.cleaned_data.get(VARIABLE_PREFIX + variable.name, "")
            if value != "" and value != variable.default_value:
                values[variable.name] = value
        values.update(self.cleaned_data.get("extra_variables") or {})
        return values


def lead_form_for(campaign: Campaign) -> type[BaseLeadForm]:
    """The lead form of ``campaign``: one input per assistant variable, pre-filled
    with its default; required ones without a default must be filled."""
    fields: dict[str, forms.Field] = {}
    for variable in campaign.assistant.variables.all():
        fields[VARIABLE_PREFIX + variable.name] = forms.CharField(
            label=variable.name,
            max_length=MAX_VALUE_LENGTH,
            required=variable.required and not variable.default_value,
            initial=variable.default_value,
            # Django prints help text as HTML (the admin's fieldset marks it safe);
            # a description is whatever an operator typed, so it is shown as text.
            help_text=escape(variable.description),
        )
    fields["campaign_obj"] = campaign  # a class attribute, not a field
    return type("LeadForm", (BaseLeadForm,), fields)


class SecondaryNumberForm(forms.ModelForm):
    """One secondary number of a lead: its place, its digits and its own values."""

    order = forms.IntegerField(
        label="Order",
        required=False,
        min_value=1,
        max_value=100,
        widget=forms.NumberInput(attrs={"style": "width: 4em"}),
        help_text="Dialled in this order; empty goes last.",
    )
    phone = forms.CharField(label="Number", max_length=40)
    own_variables = forms.CharField(
        label="Own values",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40, "placeholder": "contact_name=Maria"}),
        help_text="name=value lines; what this number does not set, it takes from the lead.",
    )

    class Meta:
        model = Contact
        fields = ["phone"]

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The lead's campaign, whose country reads a number without +: the lead admin
        # passes it to every row through the formset's form_kwargs.
        self.campaign = campaign
        if self.instance.pk:
            self.initial.setdefault("own_variables", format_pairs(self.instance.variables))
            self.initial.setdefault("order", self.instance.position)

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"], self.campaign)

    def clean_own_variables(self) -> dict[str, str]:
        return parse_pairs(self.cleaned_data.get("own_variables") or "")

    def validate_unique(self):
        # Uniqueness is the formset's and the service's job: a reorder would trip
        # per-row checks against positions that are about to change.
        pass


class SecondaryNumberFormSet(forms.BaseInlineFormSet):
    def get_queryset(self):
        # Kept, as Django keeps its own: a new queryset per call made every row's form
        # fetch the numbers again (five queries a number on the lead's page).
        if not hasattr(self, "_secondaries"):
            self._secondaries = super().get_queryset().filter(position__gt=0).order_by("position")
        return self._secondaries

    def validate_unique(self):
        # clean() below checks duplicates, against the primary number too, with a
        # message on the row; positions are renumbered by the service.
        pass

    def kept_in_order(self) -> list[SecondaryNumberForm]:
        """The rows that stay, by their Order (rows without one last, as listed)."""
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and (form.instance.pk or form.has_changed())
        ]
        return sorted(
            kept, key=lambda form: (form.cleaned_data.get("order") is None, form.cleaned_data.get("order") or 0)
        )

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = self.kept_in_order()
        if len(kept) > 10:
            raise ValidationError("A lead has at most 10 secondary numbers.")
        primary = getattr(self.instance, "_primary_phone_input", None)
        seen: dict[str, int] = {}
        for form in kept:
            phone = form.cleaned_data["phone"]
            if phone == primary:
                form.add_error("phone", "This is the primary number.")
            elif phone in seen:
                form.add_error("phone", "This number is listed twice.")
            seen[phone] = 1


class RescheduleForm(forms.Form):
    """When to call again. The time is read in the current time zone (the site's,
    unless a request activated another), which the field names."""

    # Rescheduling further ahead is much more likely a typo (2062) than a plan, and a
    # time near year 9999 would not survive the conversion to UTC.
    FURTHEST = datetime.timedelta(days=366)

    when = forms.ChoiceField(
        label="When",
        choices=[("interval", "After each campaign's retry interval"), ("at", "At this time")],
        initial="interval",
        widget=forms.RadioSelect,
    )
    # The browser's own date and time inputs: a picker, typing, and always an ISO date
    # and a 24-hour time posted back, whatever the browser's language.
    at = forms.SplitDateTimeField(
        label="Time",
        required=False,
        input_date_formats=["%Y-%m-%d"],
        input_time_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.SplitDateTimeWidget(
            date_attrs={"type": "date"},
            time_attrs={"type": "time"},
            date_format="%Y-%m-%d",
            time_format="%H:%M",
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Named per request: the current zone is known only now.
        zone = timezone.get_current_timezone_name()
        now = timezone.localtime()
        self.fields["at"].label = f"Time ({zone})"
        self.fields[
            "at"
        ].help_text = (
            f"Date and time in {zone}, the time zone this page works in (it is {now:%Y-%m-%d %H:%M} there now)."
        )
        date, time = self.fields["at"].widget.widgets
        # A split field's label points at neither input: each names itself, with the zone.
        date.attrs.update({"min": now.date().isoformat(), "aria-label": f"Date ({zone})"})
        time.attrs["aria-label"] = f"Time of day ({zone})"

    def clean(self):
        cleaned = super().clean()
        at = cleaned.get("at")
        if cleaned.get("when") == "at":
            now = timezone.now()
            if at is None:
                if "at" not in self.errors:
                    self.add_error("at", "Choose the date and time of the next attempt.")
            elif at < now - datetime.timedelta(minutes=1):
                self.add_error("at", "Choose a time that has not passed.")
            elif at > now + self.FURTHEST:
                self.add_error("at", "Choose a time within a year from now.")
        elif cleaned.get("when") == "interval" and at is not None:
            # A time typed in, yet "after the retry interval" still ticked: which was meant
            # cannot be told, so neither is guessed.
            self.add_error("when", "You gave a time: choose “At this time”, or clear the time.")
        return cleaned


class MoveToCampaignForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.order_by("name"), label="Move to campaign")


class ConfirmForm(forms.Form):
    """An action that asks only "are you sure?"."""


class DoNotCallNumberForm(forms.ModelForm):
    # Wider than the stored E.164: people type spaces, dashes and brackets.
    phone = forms.CharField(label="Number", max_length=40)
    country = forms.CharField(
        label="Country",
        max_length=2,
        required=False,
        help_text="Two-letter country (e.g. US, GB, DE) of a number typed without +. "
        "Empty: the number must be international.",
        widget=forms.TextInput(attrs={"size": 3}),
    )

    class Meta:
        model = DoNotCallNumber
        fields = ["phone", "country", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the form is made, not imported: the setting is the site's default.
        self.fields["country"].initial = settings.LEADS_DEFAULT_COUNTRY

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        validate_country(country)
        return country

    def clean(self):
        cleaned = super().clean()
        # The number is read once its country is known (fields are cleaned in order).
        if "country" in self.errors:
            # Not read: the raw text must not reach the model's own checks either
            # (which would name the E.164 constraint).
            self.add_error("phone", "Not read: give a valid country, or type the number with +.")
        elif "phone" in cleaned:
            try:
                cleaned["phone"] = clean_phone(cleaned["phone"], None, region=cleaned.get("country") or None)
            except ValidationError as error:
                self.add_error("phone", error)
        return cleaned
