from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate

# The permissions only Paperless 3.x has (contract §8).
LINE_3_ONLY = [
    "add_sharelinkbundle",
    "change_sharelinkbundle",
    "delete_sharelinkbundle",
    "view_sharelinkbundle",
    "view_global_statistics",
    "view_system_monitoring",
]


def _drop_line_3_permissions(sender, **kwargs):
    from django.contrib.auth.models import Permission

    Permission.objects.filter(codename__in=LINE_3_ONLY).delete()


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self):
        # One set of models serves both lines; a 2.x database must not know 3.x's permissions.
        if settings.PAPERLESS_TEST_LINE == 2:
            post_migrate.connect(_drop_line_3_permissions, sender=self)
