from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from leads.dialer.webhooks import call_outcome

admin.site.site_header = "Leadsite"
admin.site.site_title = "Leadsite"
admin.site.index_title = "Campaigns, leads and calls"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("hooks/calls/<uuid:call_id>/", call_outcome, name="call_outcome"),
    # The same hook without its trailing slash: a platform may drop it, and
    # APPEND_SLASH cannot redirect a POST (a 500 with DEBUG on, a 301 the platform
    # follows as a GET otherwise), so the outcome would be lost.
    path("hooks/calls/<uuid:call_id>", call_outcome),
]
