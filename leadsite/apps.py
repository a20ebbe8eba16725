from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class LeadsiteAdminConfig(AdminConfig):
    """Django's admin, with Leadsite's site-wide settings applied once every app's admin
    module has registered its pages (``ready`` runs after autodiscovery), so they hold
    for the pages of other apps too, whatever order the modules load in."""

    def ready(self):
        super().ready()
        from .admin import configure_site

        configure_site(admin.site)
