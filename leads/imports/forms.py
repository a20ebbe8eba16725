"""The wizard's forms: the file and its options, and one choice per column for the mapping."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from import_export.forms import ImportForm

from campaigns.models import Campaign
from campaigns.validators import validate_country
from leads.layout import PRIMARY, TIMEZONE, Target, key_of
from leads.models import ImportRecord

from .columns import variable_name
from .files import FileProblem, file_format
from .resources import layout_targets


class LeadImportForm(ImportForm):
    """django-import-export's import form (the file and its format), with what an
    import of leads needs: the campaign, the number format and the duplicate policy.
    The format is read from the file's name when it is left empty."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.select_related("assistant").order_by("name"))
    number_format = forms.ChoiceField(
        choices=ImportRecord.NumberFormat.choices,
        initial=ImportRecord.NumberFormat.INTERNATIONAL,
        widget=forms.RadioSelect,
    )
    country = forms.CharField(
        max_length=2,
        required=False,
        validators=[validate_country],
        help_text="For national numbers: the two-letter country (GB reads 07911 123456 as +447911123456).",
    )
    on_duplicate = forms.ChoiceField(
        choices=ImportRecord.OnDuplicate.choices,
        initial=ImportRecord.OnDuplicate.SKIP,
        widget=forms.RadioSelect,
        label="Leads the campaign already has",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: validate and count, write nothing")

    field_order = [
        "resource",
        "campaign",
        "import_file",
        "format",
        "number_format",
        "country",
        "on_duplicate",
        "dry_run",
    ]

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.fields[
            "import_file"
        ].help_text = "CSV (UTF-8 or Windows-1252; , ; tab or | between columns), XLSX or XLS; header row first."
        self.fields["format"].required = False
        self.fields["format"].help_text = "Read from the file's name when left empty."

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            file_format(upload.name)
        except FileProblem as problem:
            raise forms.ValidationError(str(problem)) from None
        limit = settings.LEADS_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is larger than the limit of {limit // (1024 * 1024)} MB; split it.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("number_format") == ImportRecord.NumberFormat.NATIONAL and not cleaned.get("country"):
            self.add_error("country", "National numbers need the country they are from.")
        if cleaned.get("country"):
            cleaned["country"] = cleaned["country"].upper()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload and chosen:
            named = file_format(upload.name)
            picked = self.formats[int(chosen)]().get_extension()
            if named != picked:
                self.add_error(
                    "format",
                    f"The file's name says {named.upper()}, not {picked.upper()}: choose "
                    f"{named.upper()}, or leave the format empty.",
                )
        return cleaned


def common_targets(record: ImportRecord) -> list[Target | None]:
    """The places any column of this file can go (None: nowhere): as many whatever the
    file's width (a column may also go to the extra variable its own header names)."""
    declared = [v.name for v in record.campaign.assistant.variables.all()]
    layout = layout_targets(declared)
    # The time zone is offered first, after the primary number.
    return [None, PRIMARY, Target.timezone(), *[t for t in layout if t != PRIMARY and t.kind != TIMEZONE]]


def _options(targets: list[Target | None]) -> str:
    return "".join(
        format_html('<option value="{}">{}</option>', key_of(t), t.describe() if t else "— ignore —") for t in targets
    )


def _saved(key: str) -> Target | None:
    """Where a record's mapping sends a column (nowhere, if the key is not one)."""
    try:
        return Target.from_key(key)
    except ValueError:
        return None


class ColumnSelect(forms.Widget):
    """A column's select: the common options, written once for the whole page, then the
    column's own. Each column lists only its own extras, so the page grows with the
    number of columns, not with its square, and Django's per-option template (a
    fraction of a millisecond each) is not used for thousands of options."""

    def __init__(self, *, common: str, own: str):
        super().__init__()
        self.common, self.own = common, own

    def render(self, name, value, attrs=None, renderer=None):
        options = self.common + self.own
        if value:  # "" (ignore) is the first option: chosen when none is marked
            plain = format_html('<option value="{}">', value)
            options = options.replace(plain, plain[:-1] + " selected>", 1)
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), mark_safe(options)
        )


class TargetField(forms.Field):
    """Where one column goes: one of the page's common targets or the column's own."""

    default_error_messages = forms.ChoiceField.default_error_messages

    def __init__(self, *, common: frozenset[str], own: list[Target], common_html: str, **kwargs):
        self.allowed = common
        self.own = {target.key for target in own}
        super().__init__(widget=ColumnSelect(common=common_html, own=_options(own)), **kwargs)

    def validate(self, value):
        super().validate(value)
        if value and value not in self.allowed and value not in self.own:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )


class MappingForm(forms.Form):
    remember = forms.BooleanField(
        required=False, initial=True, label="Offer this mapping again for files with the same columns"
    )

    def __init__(self, *args, record: ImportRecord, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        targets = common_targets(record)
        common, common_html = frozenset(map(key_of, targets)), _options(targets)
        for index, header in enumerate(record.header):
            current = record.mapping[index] if index < len(record.mapping) else ""
            # Its own extra variable, and where a saved mapping sends it.
            extra = variable_name(header)
            own = [
                t
                for t in dict.fromkeys([Target.variable(extra) if extra else None, _saved(current)])
                if t is not None and t.key not in common
            ]
            self.fields[f"column_{index}"] = TargetField(
                label=header or f"column {index + 1}",
                required=False,
                initial=current,
                common=common,
                own=own,
                common_html=common_html,
            )

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}", "") for i in range(len(self.record.header))]
