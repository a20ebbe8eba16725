"""The import wizard and the list of imports, in the admin.

1. the file (django-import-export's Import page, from the Import button of the leads
   list or a campaign): campaign, file and format, number format, duplicate policy;
2. mapping: one choice per column, pre-filled, savable for the campaign;
3. the import's page: validation progress, then counts and the first refused rows;
4. confirm: the import runs, with progress;
5. the same page: result, error report, Undo.

Files above LEADS_IMPORT_BACKGROUND_ABOVE bytes (a workbook's unzipped) are validated and written by the task
worker; the page polls progress.json. No request waits on work that grows with the file.
"""

from __future__ import annotations

import csv
import io
import itertools

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportMixin
from import_export.formats.base_formats import CSV, XLS, XLSX

from campaigns.models import Campaign
from leads import tasks
from leads.models import ImportRecord
from leads.transitions import Actor
from leadsite.admin import ModelAdmin, progress_response

from . import services
from .columns import MappingProblem, phone_alias_list
from .forms import LeadImportForm, MappingForm
from .resources import LeadImportResource
from .services import ImportProblem

REFUSED_PER_PAGE = 50


def _campaign_query(request: HttpRequest) -> str:
    """ "?campaign=N" for the campaign a page was opened for, to open the Import page
    with it chosen ("" for none, or for anything that is not an id)."""
    campaign = request.GET.get("campaign", "")
    return f"?campaign={campaign}" if campaign.isdigit() else ""


def _undo_message(result: services.UndoResult, record: ImportRecord) -> str:
    """ "Removed 1,234 leads this import created. Kept 5 already dialled or in a call."
    An undo that removed nothing says so, and why when it can tell."""
    if result.removed:
        text = f"Removed {result.removed:,} lead{'' if result.removed == 1 else 's'} this import created."
    else:
        text = "Nothing to remove."
    # An undo that stopped half-way, then this one: the earlier part counts too.
    earlier = record.leads_removed - result.removed
    if earlier > 0:
        text += f" An earlier undo of this import removed {earlier:,}."
    text += "".join(f" Kept {count:,} {reason}." for reason, count in result.kept.items())
    if not result.removed and not earlier and not result.kept:
        text = "Nothing to remove: this import created no leads (leads it updated are not changed back)."
    return text


def _in_background(record: ImportRecord) -> bool:
    return services.import_in_background(record=record)


class ImportRecordAdmin(ModelAdmin):
    list_display = [
        "created_at",
        "file_name",
        "campaign",
        "status",
        "rows_new",
        "rows_updated",
        "rows_skipped",
        "rows_rejected",
        "created_by",
        "link",
    ]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign", "created_by"]
    search_fields = ["file_name"]
    list_per_page = 50

    def has_change_permission(self, request, obj=None):
        return False  # an import is a record: it changes only by running or undoing

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever may import sees the imports: the wizard's steps are their pages.
        return super().has_view_permission(request, obj) or self.has_add_permission(request)

    @admin.display(description="")
    def link(self, record: ImportRecord) -> str:
        return format_html('<a href="{}">Open</a>', reverse("admin:leads_importrecord_detail", args=[record.pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/mapping/", view(self.mapping_view), name="leads_importrecord_mapping"),
            path("<int:pk>/progress.json", view(self.progress_view), name="leads_importrecord_progress"),
            path("<int:pk>/confirm/", view(self.confirm_view), name="leads_importrecord_confirm"),
            path("<int:pk>/undo/", view(self.undo_view), name="leads_importrecord_undo"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="leads_importrecord_cancel"),
            path("<int:pk>/validate/", view(self.validate_again_view), name="leads_importrecord_validate"),
            path("<int:pk>/errors.csv", view(self.errors_view), name="leads_importrecord_errors"),
            path("sample/<int:campaign_id>.<str:fmt>", view(self.sample_view), name="leads_importrecord_sample"),
            path("<int:pk>/", view(self.detail_view), name="leads_importrecord_detail"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra) -> dict:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.opts, **extra}

    def _record(self, request: HttpRequest, pk: int) -> ImportRecord:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(ImportRecord.objects.select_related("campaign__assistant", "created_by"), pk=pk)

    def _require_add(self, request: HttpRequest) -> None:
        if not self.has_add_permission(request):
            raise PermissionDenied

    def add_view(self, request, form_url="", extra_context=None):
        # "Add import" is the Import page of the leads list.
        self._require_add(request)
        return redirect(reverse("admin:leads_lead_import") + _campaign_query(request))

    # 2. mapping -----------------------------------------------------------------

    def mapping_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_add(request)
        record = self._record(request, pk)
        if not record.can_map:
            return redirect("admin:leads_importrecord_detail", record.pk)
        form = MappingForm(request.POST or None, record=record)
        if request.method == "POST" and form.is_valid():
            try:
                services.mapping_save(record=record, targets=form.targets(), remember=form.cleaned_data["remember"])
            except (MappingProblem, ImportProblem) as problem:
                form.add_error(None, str(problem))
            else:
                self._validate(record)
                return redirect("admin:leads_importrecord_detail", record.pk)
        samples = services.file_head(record=record).samples
        columns = [
            (form[f"column_{i}"], [cells[i] if i < len(cells) else "" for cells in samples])
            for i in range(len(record.header))
        ]
        return TemplateResponse(
            request,
            "admin/leads/importrecord/mapping.html",
            self._context(
                request, f"Import {record.file_name}: match the columns", record=record, form=form, columns=columns
            ),
        )

    def _validate(self, record: ImportRecord) -> None:
        # The run mapping_save or import_validate_again started: a later start fences it off.
        if _in_background(record):
            tasks.validate_import.enqueue(record.pk, record.run)
        else:
            services.import_validate(record=record, run=record.run)

    @method_decorator(require_POST)
    def validate_again_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_add(request)
        record = self._record(request, pk)
        try:
            services.import_validate_again(record=record)
        except ImportProblem as problem:
            self.message_user(request, str(problem), messages.ERROR)
        else:
            self._validate(record)
        return redirect("admin:leads_importrecord_detail", record.pk)

    @method_decorator(require_POST)
    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_add(request)
        record = self._record(request, pk)
        try:
            services.import_cancel(record=record, user=request.user)
        except ImportProblem as problem:
            self.message_user(request, str(problem), messages.ERROR)
        else:
            self.message_user(request, "The import is cancelled; it wrote nothing.", messages.SUCCESS)
        return redirect("admin:leads_importrecord_detail", record.pk)

    # 3 and 5. the import's page ---------------------------------------------------

    def detail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = self._record(request, pk)
        refused = self._refused_page(record, request.GET.get("page"))
        return TemplateResponse(
            request,
            "admin/leads/importrecord/detail.html",
            self._context(
                request,
                f"Import of {record.file_name}",
                record=record,
                refused=refused,
                can_act=self.has_add_permission(request),
            ),
        )

    def _refused_page(self, record: ImportRecord, page: str | None):
        if not record.error_report or record.status == ImportRecord.Status.FAILED:
            return None
        page_obj = Paginator(range(record.rows_rejected), REFUSED_PER_PAGE).get_page(page)
        start = (page_obj.number - 1) * REFUSED_PER_PAGE
        with record.error_report.open("rb") as handle:
            # Only the rows up to the page shown are read from the report.
            reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8-sig"))
            next(reader, None)  # the header
            rows = list(itertools.islice(reader, start, start + REFUSED_PER_PAGE))
        # The report's last two columns are the row number and the reasons.
        shown = [(row[-2], row[-1]) for row in rows if len(row) >= 2]
        return {"rows": shown, "page": page_obj}

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        record = self._record(request, pk)
        if record.status in (ImportRecord.Status.MAPPING, ImportRecord.Status.VALIDATING):
            done, total = record.rows_validated, record.rows_expected
        elif record.status == ImportRecord.Status.UNDOING:
            done, total = record.leads_removed, record.rows_written
        else:
            done, total = record.rows_written, record.rows_new + record.rows_updated
        return progress_response(record, done=done, total=total, working=record.working)

    # 4. confirm -----------------------------------------------------------------

    @method_decorator(require_POST)
    def confirm_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_add(request)
        record = self._record(request, pk)
        try:
            services.import_queue(record=record)
            if _in_background(record):
                tasks.run_import.enqueue(record.pk, record.run)
            else:
                services.import_run(record=record, actor=Actor(source="import", user=request.user), run=record.run)
        except ImportProblem as problem:
            self.message_user(request, str(problem), messages.ERROR)
        return redirect("admin:leads_importrecord_detail", record.pk)

    @method_decorator(require_POST)
    def undo_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_add(request)
        record = self._record(request, pk)
        try:
            result = services.import_undo(record=record)
        except ImportProblem as problem:
            self.message_user(request, str(problem), messages.ERROR)
        else:
            self.message_user(request, _undo_message(result, record), messages.SUCCESS)
        return redirect("admin:leads_importrecord_detail", record.pk)

    # downloads ------------------------------------------------------------------

    def errors_view(self, request: HttpRequest, pk: int) -> FileResponse:
        record = self._record(request, pk)
        if not record.error_report:
            raise Http404("This import has no error report.")
        name = f"{record.file_name.rsplit('.', 1)[0]}-errors.csv"
        return FileResponse(record.error_report.open("rb"), as_attachment=True, filename=name, content_type="text/csv")

    def sample_view(self, request: HttpRequest, campaign_id: int, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign.objects.select_related("assistant"), pk=campaign_id)
        rows = services.sample_rows(campaign)
        name = f"leads-sample-{campaign.pk}.{fmt}"
        if fmt == "csv":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")
        elif fmt == "xlsx":
            import openpyxl

            workbook = openpyxl.Workbook()
            for row in rows:
                workbook.active.append(row)
            buffer = io.BytesIO()
            workbook.save(buffer)
            response = HttpResponse(
                buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
        else:
            raise Http404("Sample files are CSV or XLSX.")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class LeadImportMixin(ImportMixin):
    """django-import-export's Import on the leads list: its button, its page and form
    (``LeadImportForm``), its formats, and ``LeadImportResource``'s fields listed.

    A valid form keeps the file as an import record and goes on to the mapping step.
    django-import-export's own next step (reading the whole file in the request, a dry
    run, then its confirm page) is not used: the wizard validates and imports in the
    background when the file is large, and keeps the record, error report and undo."""

    import_form_class = LeadImportForm
    import_template_name = "admin/leads/lead/import.html"
    import_formats = [CSV, XLSX, XLS]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"leads.add_{ImportRecord._meta.model_name}")

    def get_import_resource_classes(self, request: HttpRequest) -> list[type[LeadImportResource]]:
        return [LeadImportResource]

    def get_urls(self):
        # The confirm step belongs to the wizard (the import's own page).
        return [url for url in super().get_urls() if not url.name or not url.name.endswith("_process_import")]

    def _campaign(self, request: HttpRequest, form=None) -> Campaign | None:
        """The campaign chosen on the form, or the one the page was opened for."""
        chosen = form.data.get("campaign") if form is not None and form.is_bound else request.GET.get("campaign")
        if not str(chosen or "").isdigit():
            return None
        return Campaign.objects.select_related("assistant").filter(pk=chosen).first()

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # On a list filtered to one campaign, Import opens with that campaign chosen.
        return super().changelist_view(request, {**(extra_context or {}), "import_query": _campaign_query(request)})

    def get_import_form_initial(self, request: HttpRequest) -> dict:
        campaign = self._campaign(request)
        return {"campaign": campaign.pk} if campaign else {}

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs) -> dict:
        # The fields listed on the page are those of the chosen campaign's layout.
        return {"campaign": self._campaign(request, kwargs.get("form"))}

    def import_action(self, request: HttpRequest, **kwargs) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_import_form(request)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                record = services.import_create(
                    campaign=data["campaign"],
                    file=data["import_file"],
                    file_name=data["import_file"].name,
                    user=request.user,
                    number_format=data["number_format"],
                    country=data["country"],
                    on_duplicate=data["on_duplicate"],
                    dry_run=data["dry_run"],
                )
            except ImportProblem as problem:
                form.add_error("import_file", str(problem))
            else:
                return redirect("admin:leads_importrecord_mapping", record.pk)
        return self._import_page(request, form)

    def _import_page(self, request: HttpRequest, form) -> TemplateResponse:
        """django-import-export's Import page (its template, and the context its
        import_action gives it in 4.4.3) showing ``form``, with the errors the wizard
        added. Built here rather than by that import_action, which would build and
        validate a form of its own (reading the upload again) and, for a valid one,
        run its own dry-run import of the whole file in the request."""
        resources = [
            resource_class(**self.get_import_resource_kwargs(request, form=form))
            for resource_class in self.get_import_resource_classes(request)
        ]
        context = {
            **self.get_import_context_data(),
            **self.admin_site.each_context(request),
            "title": _("Import"),
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
            "fields_list": [
                (resource.get_display_name(), [field.column_name for field in resource.get_user_visible_fields()])
                for resource in resources
            ],
            "import_error_display": self.import_error_display,
            "phone_aliases": phone_alias_list(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)
