"""The admin of leads, calls, imports and exports: the pages an operator works in.

Every model is registered here, in one list, rather than by decorators in modules that
must be imported for their side effect."""

from django.contrib import admin

from leads.imports.admin import ImportRecordAdmin
from leads.models import Call, DoNotCallNumber, ExportRecord, ImportRecord, Lead, StatusChange

from .calls import CallAdmin
from .exports import ExportRecordAdmin
from .leads import DoNotCallNumberAdmin, LeadAdmin, StatusChangeAdmin

admin.site.register(Lead, LeadAdmin)
admin.site.register(StatusChange, StatusChangeAdmin)
admin.site.register(DoNotCallNumber, DoNotCallNumberAdmin)
admin.site.register(Call, CallAdmin)
admin.site.register(ImportRecord, ImportRecordAdmin)
admin.site.register(ExportRecord, ExportRecordAdmin)
