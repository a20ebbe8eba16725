"""The leads list's Export, on django-import-export's: its Export button, its page
(format, and the columns to include, from ``leads.exports.resources.LeadResource``), its
formats. Exactly the rows the list shows, with its filters, search and order.

Which path writes the file depends on its size: CSV is always streamed (on
PostgreSQL by the database itself), whatever the selection; XLSX up to
LEADS_EXPORT_IN_MEMORY_MAX leads goes through django-import-export's own in-memory
export, and beyond that the task worker writes it, with a progress bar, up to
Excel's row limit. The in-memory path is never reached by a large selection.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import slugify
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import SelectableFieldsExportForm
from import_export.signals import post_export

from campaigns.models import Campaign
from leads import tasks
from leads.exports import services as exports
from leads.exports import writing
from leads.exports.resources import lead_resource
from leads.exports.writing import csv_export, export_choices, export_header
from leads.filters import LeadFilter
from leads.models import ExportRecord, Lead
from leads.selectors import lead_list
from leadsite.admin import AuditTrailAdmin, progress_response


class LeadExportForm(SelectableFieldsExportForm):
    """django-import-export's export form, with the choice of a CSV for Excel, and CSV
    chosen to begin with: it takes any size and is streamed at once, where an XLSX is
    capped and a large one waits for the worker."""

    bom = forms.BooleanField(label="CSV for Excel (UTF-8 with BOM)", required=False)

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        field = self.fields["format"]
        # django-import-export puts a blank "---" first when there are several formats,
        # so the page opened with no format and an error for whoever did not pick one.
        field.choices = [(value, label) for value, label in field.choices if value != ""]
        csv = next((str(index) for index, fmt in enumerate(formats) if fmt is CSV), None)
        if csv is not None:
            self.initial.setdefault("format", csv)


class LeadExportMixin(ExportMixin):
    """django-import-export's Export on the leads list, routed by size (see the module)."""

    export_formats = [CSV, XLSX]
    export_form_class = LeadExportForm
    export_template_name = "admin/leads/lead/export.html"

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.export_lead")

    def get_export_queryset(self, request: HttpRequest) -> QuerySet[Lead]:
        """The rows the list shows for this request (what django-import-export's own
        paths ask for; the export page reads the list once and passes it along)."""
        return lead_list(**self.get_changelist_instance(request).lead_list_query())

    def get_export_resource_classes(self, request: HttpRequest):
        # Only the list's campaigns matter for the columns offered: the filters and the
        # search, read straight from the address (no list built, no rows counted).
        filters = {name: values for name, values in request.GET.lists() if name in LeadFilter.base_filters}
        return [lead_resource(export_choices(lead_list(filters=filters, search=request.GET.get(SEARCH_VAR, ""))))]

    def choose_export_resource_class(self, form, request: HttpRequest):
        # The form holds the resource export_action built for this request: not built
        # a second time.
        return form.get_selected_resource()

    def init_request_context_data(self, request: HttpRequest, form):
        # django-import-export 4.4.3 lists each resource's fields from
        # get_export_resource_classes(request), which reads the list's campaigns
        # again; the form holds the resources this request already built.
        context = self.get_export_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(title="Export", form=form, opts=self.model._meta)
        context["fields_list"] = [
            (
                resource.get_display_name(),
                [
                    field.column_name
                    for field in resource(**self.get_export_resource_kwargs(request)).get_user_visible_fields()
                ],
            )
            for resource in form.resources
        ]
        return context

    def export_action(self, request: HttpRequest) -> HttpResponse:
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # What the list itself does with filters it cannot apply.
            return HttpResponseRedirect(reverse("admin:leads_lead_changelist") + "?e=1")
        if any(getattr(spec, "refused", False) for spec in changelist.filter_specs):
            # A filter the list cannot apply: back to the list, which says which.
            return HttpResponseRedirect(reverse("admin:leads_lead_changelist") + "?" + request.GET.urlencode())
        query = changelist.lead_list_query()
        leads = lead_list(**query)
        formats = self.get_export_formats()
        form = self.get_export_form_class()(formats, [lead_resource(export_choices(leads))], data=request.POST or None)
        if form.is_valid():
            file_format = formats[int(form.cleaned_data["format"])]()
            picked = form.get_selected_resource_export_fields()
            header = [name for name in form.get_selected_resource()().get_export_order() if name in picked]
            response = self._export(
                request,
                leads,
                file_format,
                header,
                form,
                count=changelist.result_count,
                ordering=query["ordering"],
                file_name=self._file_name(changelist, file_format.get_extension()),
            )
            if response is not None:
                return response
        context = self.init_request_context_data(request, form)
        context.update(
            count=changelist.result_count, filters=request.GET.urlencode(), export_url=request.get_full_path()
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.export_template_name], context)

    def _export(
        self, request, leads, file_format, header: list[str], form, *, count: int, ordering: list[str], file_name: str
    ) -> HttpResponse | None:
        """The file, or where to follow it; None (with a message) to show the form again."""
        fmt = file_format.get_extension()
        if fmt == "xlsx" and count > writing.XLSX_MAX_ROWS:
            self.message_user(
                request,
                f"{count:,} leads are more than the {writing.XLSX_MAX_ROWS:,} rows an XLSX "
                "sheet holds: choose CSV (any size), or filter the list further.",
                messages.ERROR,
            )
            return None
        if fmt == "csv" or count <= settings.LEADS_EXPORT_IN_MEMORY_MAX:
            # The picked groups become the selection's own columns (it reads the whole
            # selection's numbers: part of this request's download); the worker does
            # that for the XLSX it writes.
            header = export_header(leads, header)
        record = exports.export_create(
            user=request.user,
            file_format=fmt,
            filters=request.GET.urlencode(),
            ordering=ordering,
            columns=header,
            file_name=file_name,
            rows_expected=count,
        )
        if fmt == "xlsx" and count <= settings.LEADS_EXPORT_IN_MEMORY_MAX:
            try:
                content = self.get_export_data(file_format, request, leads, export_form=form)
            except Exception as error:
                exports.export_failed(record=record, message=f"The export stopped: {error}")
                raise
            exports.export_done(record=record, rows=count)
            post_export.send(sender=None, model=self.model)
            response = HttpResponse(content, content_type=file_format.get_content_type())
            response["Content-Disposition"] = f'attachment; filename="{record.file_name}"'
            return response
        if fmt == "xlsx":
            # Too large to build in a request: the task worker writes it, and its page
            # follows the progress and then offers the download.
            return queue_xlsx(record)

        bom = form.cleaned_data["bom"]
        content = exports.Recorded(lambda on_done: csv_export(leads, header, bom=bom, on_done=on_done), record=record)
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{record.file_name}"'
        return response

    @staticmethod
    def _file_name(changelist, fmt: str) -> str:
        """leads-<campaign|all>[-<statuses>][-search|-filtered]-<time>.<fmt>"""
        params = changelist.filter_params  # every value of a name (changelist.params keeps the last)
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


def queue_xlsx(record: ExportRecord) -> HttpResponseRedirect:
    """Hand an XLSX export to the task worker and follow it on its page."""
    try:
        tasks.export_xlsx.enqueue(record.pk)
    except Exception as error:
        exports.export_failed(record=record, message=f"The export could not be handed to the task worker: {error}")
        raise
    return HttpResponseRedirect(reverse("admin:leads_exportrecord_change", args=[record.pk]))


def _first(value):
    return value[-1] if isinstance(value, list) else value


class ExportRecordAdmin(AuditTrailAdmin):
    """Every download of leads. An XLSX export's page follows the worker writing it
    and then offers the file."""

    list_display = ["created_at", "created_by", "file_format", "status", "rows", "filters"]
    list_filter = ["file_format", "status"]
    list_select_related = ["created_by"]
    fields = ["created_at", "created_by", "file_format", "status", "rows", "filters", "columns", "message"]
    readonly_fields = fields
    change_form_template = "admin/leads/exportrecord/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="leads_exportrecord_download"
            ),
            path(
                "<int:pk>/progress.json",
                self.admin_site.admin_view(self.progress_view),
                name="leads_exportrecord_progress",
            ),
            path("<int:pk>/again/", self.admin_site.admin_view(self.again_view), name="leads_exportrecord_again"),
            path("<int:pk>/give-up/", self.admin_site.admin_view(self.give_up_view), name="leads_exportrecord_give_up"),
            *super().get_urls(),
        ]

    def _record(self, request: HttpRequest, pk: int) -> ExportRecord:
        record = get_object_or_404(ExportRecord, pk=pk)
        if not self.has_view_permission(request, record):
            raise PermissionDenied
        return record

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = self._record(request, pk)
        if not request.user.has_perm("leads.export_lead"):
            raise PermissionDenied
        if record.status != ExportRecord.Status.DONE or not record.file:
            self.message_user(request, "This export has no file to download (yet).", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:leads_exportrecord_change", args=[pk]))
        return FileResponse(
            record.file.open("rb"),
            as_attachment=True,
            filename=record.file_name,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    def _stopped(self, request: HttpRequest, pk: int) -> ExportRecord:
        """A record someone acts on from its page: POST, by someone who may export."""
        record = self._record(request, pk)
        if request.method != "POST" or not request.user.has_perm("leads.export_lead"):
            raise PermissionDenied
        return record

    def again_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Write a failed, stopped or stalled XLSX export again (a new record; the old
        one, if its writer comes back, writes nothing more)."""
        record = self._stopped(request, pk)
        if not record.can_retry:
            self.message_user(request, "This export is not stopped: nothing to write again.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:leads_exportrecord_change", args=[pk]))
        return queue_xlsx(exports.export_again(record=record, user=request.user))

    def give_up_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = self._stopped(request, pk)
        if record.stalled:
            exports.export_give_up(record=record, user=request.user)
        else:
            self.message_user(
                request,
                "This export is still being written: it can be given up once it has made no progress for a while.",
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:leads_exportrecord_change", args=[pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["can_act"] = request.user.has_perm("leads.export_lead")
            context["export_again_url"] = reverse("admin:leads_lead_export") + (
                f"?{obj.filters}" if obj.filters else ""
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        record = self._record(request, pk)
        return progress_response(
            record,
            done=record.rows_written,
            total=record.rows_expected,
            working=record.status == ExportRecord.Status.WRITING,
        )
