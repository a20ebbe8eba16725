from django import forms

from .models import Campaign
from .validators import DAYS


class CampaignForm(forms.ModelForm):
    allowed_days = forms.MultipleChoiceField(
        choices=[(day, day.capitalize()) for day in DAYS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Days of the week, in the lead's local time, on which calls may start.",
    )

    class Meta:
        model = Campaign
        fields = "__all__"  # noqa: DJ007 (the whole campaign is its settings page)

    def clean_allowed_days(self) -> list[str]:
        chosen = set(self.cleaned_data["allowed_days"])
        return [day for day in DAYS if day in chosen]
