"""What every admin page of Leadsite shares."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect


class ModelAdmin(admin.ModelAdmin):
    def response_action(self, request, queryset):
        # Django's admin filters by the posted ids as they come and fails with a
        # server error on one its primary key cannot read; refuse the request instead.
        key = self.model._meta.pk
        try:
            for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                key.to_python(value)
        except ValidationError:
            self.message_user(request, "The selection was not understood; nothing was changed.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class AuditTrailAdmin(ModelAdmin):
    """Records of what happened (status changes, calls, exports): seen, never written
    from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
