from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from leads.webhooks import call_outcome

admin.site.site_header = "Leadsite"
admin.site.site_title = "Leadsite"
admin.site.index_title = "Campaigns, leads and calls"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("hooks/calls/<uuid:call_id>/", call_outcome, name="call_outcome"),
]
