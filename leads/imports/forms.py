"""The wizard's forms: the file and its options, and one choice per column for the mapping."""

from __future__ import annotations

from django import forms
from django.conf import settings
from import_export.forms import ImportForm

from campaigns.models import Campaign
from campaigns.validators import validate_country
from leads.models import MAX_SECONDARY_NUMBERS, ImportRecord

from .columns import describe, variable_name
from .files import FileProblem, file_format


class LeadImportForm(ImportForm):
    """django-import-export's import form (the file and its format), with what an
    import of leads needs: the campaign, the number format and the duplicate policy.
    The format is read from the file's name when it is left empty."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.select_related("assistant").order_by("name"))
    number_format = forms.ChoiceField(choices=ImportRecord.NumberFormat.choices, initial=ImportRecord.NumberFormat.INTERNATIONAL,
                                      widget=forms.RadioSelect)
    country = forms.CharField(max_length=2, required=False, validators=[validate_country],
                              help_text="For national numbers: the two-letter country (GB reads 07911 123456 as +447911123456).")
    on_duplicate = forms.ChoiceField(choices=ImportRecord.OnDuplicate.choices, initial=ImportRecord.OnDuplicate.SKIP,
                                     widget=forms.RadioSelect, label="Leads the campaign already has")
    dry_run = forms.BooleanField(required=False, label="Dry run: validate and count, write nothing")

    field_order = ["resource", "campaign", "import_file", "format", "number_format", "country", "on_duplicate", "dry_run"]

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats
        self.fields["import_file"].help_text = (
            "CSV (UTF-8 or Windows-1252; , ; tab or | between columns), XLSX or XLS; header row first."
        )
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
                self.add_error("format", f"The file's name says {named.upper()}, not {picked.upper()}: choose "
                                         f"{named.upper()}, or leave the format empty.")
        return cleaned


def target_choices(record: ImportRecord) -> list[tuple[str, str]]:
    """Every place a column of this file can go."""
    declared = [v.name for v in record.campaign.assistant.variables.all()]
    extra = sorted({variable_name(h) for h in record.header if variable_name(h)} - set(declared))
    targets = ["", "phone", "timezone", *[f"var:{n}" for n in declared], *[f"var:{n}" for n in extra]]
    for n in range(1, MAX_SECONDARY_NUMBERS + 1):
        targets.append(f"secondary:{n}")
        targets.extend(f"secondary:{n}:{name}" for name in dict.fromkeys(["contact_name", *declared]))
    seen, choices = set(), []
    for target in targets + [t for t in record.mapping if t]:
        if target not in seen:
            seen.add(target)
            choices.append((target, "— ignore —" if not target else describe(target)))
    return choices


class MappingForm(forms.Form):
    remember = forms.BooleanField(required=False, initial=True, label="Offer this mapping again for files with the same columns")

    def __init__(self, *args, record: ImportRecord, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        choices = target_choices(record)
        for index, header in enumerate(record.header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or f"column {index + 1}", choices=choices, required=False,
                initial=record.mapping[index] if index < len(record.mapping) else "",
            )

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}", "") for i in range(len(self.record.header))]
