"""The leads list's Export: exactly the rows the list shows, with its filters, search
and order, in the columns the operator picks.

The export page's address is the list's address under export/; its own fields start
with x_ so they never reach the list's filters.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.test import RequestFactory
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify

from campaigns.models import Campaign

from . import exports, tasks
from .exports import STATE_COLUMNS, Columns, csv_export, default_columns
from .models import MAX_SECONDARY_NUMBERS, ExportRecord, Lead

PREFIX = "x_"


class ExportForm(forms.Form):
    x_format = forms.ChoiceField(label="Format", choices=[("csv", "CSV (any size)"), ("xlsx", "XLSX (Excel)")],
                                 initial="csv", widget=forms.RadioSelect)
    x_bom = forms.BooleanField(label="CSV for Excel (UTF-8 with BOM)", required=False)
    x_variables = forms.MultipleChoiceField(label="Variables", required=False, widget=forms.CheckboxSelectMultiple)
    x_secondaries = forms.IntegerField(label="Secondary numbers", min_value=0, max_value=MAX_SECONDARY_NUMBERS)
    x_secondary_variables = forms.MultipleChoiceField(label="Their own values", required=False,
                                                      widget=forms.CheckboxSelectMultiple)
    x_timezone = forms.BooleanField(label="Time zone", required=False)
    x_state = forms.MultipleChoiceField(label="Status and history", required=False, widget=forms.CheckboxSelectMultiple,
                                        choices=[(c, c) for c in STATE_COLUMNS])
    x_download = forms.CharField(widget=forms.HiddenInput, initial="1")

    def __init__(self, *args, defaults: Columns, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["x_variables"].choices = [(v, v) for v in defaults.variables]
        self.fields["x_secondary_variables"].choices = [(v, v) for v in defaults.secondary_variables]
        self.initial.update({
            "x_variables": defaults.variables, "x_secondaries": defaults.secondaries,
            "x_secondary_variables": defaults.secondary_variables, "x_timezone": True, "x_state": STATE_COLUMNS,
        })

    def columns(self) -> Columns:
        data = self.cleaned_data
        return Columns(variables=data["x_variables"], secondaries=data["x_secondaries"],
                       secondary_variables=data["x_secondary_variables"], timezone=data["x_timezone"],
                       state=[c for c in STATE_COLUMNS if c in data["x_state"]])


class LeadExportMixin:
    """Adds export/ to the leads admin."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="%s_%s_export" % info),
            *super().get_urls(),
        ]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_lead")

    def _list_request(self, request: HttpRequest) -> HttpRequest:
        """The request as the list would see it: without the export page's own fields."""
        list_request = copy.copy(request)
        query = request.GET.copy()
        for key in [k for k in query if k.startswith(PREFIX)]:
            del query[key]
        list_request.GET = query
        return list_request

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_export_permission(request):
            raise PermissionDenied
        list_request = self._list_request(request)
        try:
            changelist = self.get_changelist_instance(list_request)
        except IncorrectLookupParameters:
            # What the list itself does with filters it cannot apply.
            return HttpResponseRedirect(reverse("admin:leads_lead_changelist") + "?e=1")
        # Exactly what the list shows, in its order: its own queryset.
        leads = changelist.queryset
        form = ExportForm(request.GET if "x_download" in request.GET else None, defaults=default_columns(leads))
        if form.is_bound and form.is_valid():
            return self._download(request, leads, form, list_request.GET.urlencode(), changelist)
        context = {
            **self.admin_site.each_context(request), "title": "Export leads", "opts": self.opts, "form": form,
            "count": changelist.result_count, "filters": list_request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/leads/lead/export.html", context)

    def _download(self, request, leads, form, filters: str, changelist) -> HttpResponse:
        columns = form.columns()
        fmt = form.cleaned_data["x_format"]
        limit = exports.XLSX_MAX_ROWS
        if fmt == "xlsx" and changelist.result_count > limit:
            self.message_user(
                request,
                f"{changelist.result_count:,} leads are more than the {limit:,} rows an XLSX sheet holds: "
                "choose CSV (any size), or filter the list further.",
                messages.ERROR,
            )
            query = request.GET.copy()
            query.pop("x_download", None)  # back to the picker, choices kept
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        name = self._file_name(changelist, fmt)
        record = ExportRecord.objects.create(created_by=request.user, file_format=fmt, filters=filters,
                                             columns=columns.header(), file_name=name,
                                             rows_expected=changelist.result_count, options=asdict(columns))
        if fmt == "xlsx":
            # An XLSX file is written whole before it can be sent: the task worker
            # writes it, and its page follows the progress and offers the download.
            tasks.export_xlsx.enqueue(record.pk)
            return HttpResponseRedirect(reverse("admin:leads_exportrecord_change", args=[record.pk]))

        def finished(rows: int) -> None:
            ExportRecord.objects.filter(pk=record.pk).update(rows=rows, rows_written=rows,
                                                             status=ExportRecord.Status.DONE)

        content = csv_export(leads, columns, bom=form.cleaned_data["x_bom"], on_done=finished)
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @staticmethod
    def _file_name(changelist, fmt: str) -> str:
        """leads-<campaign|all>[-<statuses>][-search|-filtered]-<time>.<fmt>"""
        params = changelist.params
        parts = ["leads"]
        campaign_id = _first(params.get("campaign"))
        campaign = Campaign.objects.filter(pk=campaign_id).first() if str(campaign_id or "").isdigit() else None
        parts.append(slugify(campaign.name) if campaign else "all")
        statuses = params.get("status") or []
        parts.extend(slugify(s) for s in (statuses if isinstance(statuses, list) else [statuses])[:3])
        if changelist.query:
            parts.append("search")
        elif {k for k, v in params.items() if v} - {"campaign", "status", "o", "p"}:
            parts.append("filtered")
        parts.append(timezone.localtime().strftime("%Y%m%d-%H%M"))
        return re.sub(r"-+", "-", "-".join(parts))[:150] + f".{fmt}"


def _first(value):
    return value[-1] if isinstance(value, list) else value


def list_queryset(*, user, query: str) -> QuerySet[Lead]:
    """The leads list's rows, in its order, for ``query`` (the list's address) as
    ``user`` sees it: for work done after the request, by the task worker."""
    if user is None:
        raise PermissionDenied("The person who asked for this export no longer exists.")
    request = RequestFactory().get(reverse("admin:leads_lead_changelist"), QueryDict(query))
    request.user = user
    model_admin = admin.site.get_model_admin(Lead)
    if not model_admin.has_export_permission(request):
        raise PermissionDenied("The person who asked for this export may no longer export leads.")
    return model_admin.get_changelist_instance(request).queryset
