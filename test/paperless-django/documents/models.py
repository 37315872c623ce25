"""
The document models, reduced to what the tests need. Their names are Paperless's, so
Django creates Paperless's permission codenames (view_document, add_uisettings, ...).
"""

from django.contrib.auth.models import User
from django.db import models


class Document(models.Model):
    title = models.CharField(max_length=128, blank=True)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    size = models.BigIntegerField(default=0)


class Tag(models.Model):
    name = models.CharField(max_length=128)


class Correspondent(models.Model):
    name = models.CharField(max_length=128)


class DocumentType(models.Model):
    name = models.CharField(max_length=128)


class StoragePath(models.Model):
    name = models.CharField(max_length=128)


class SavedView(models.Model):
    name = models.CharField(max_length=128)


class PaperlessTask(models.Model):
    task_id = models.CharField(max_length=255)


class UiSettings(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="ui_settings")
    settings = models.JSONField(null=True)


class Note(models.Model):
    note = models.TextField(blank=True)


class ShareLink(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    expiration = models.DateTimeField(null=True, blank=True)
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE)


class CustomField(models.Model):
    name = models.CharField(max_length=128)


class Workflow(models.Model):
    name = models.CharField(max_length=256)


class ShareLinkBundle(models.Model):
    """Paperless 3.x's share-link bundles; on 2.x its permissions are removed after migrating (documents/apps.py)."""

    slug = models.SlugField(max_length=50, unique=True)

    class Meta:
        # Paperless 3.x declares these two elsewhere; only their codenames matter here.
        permissions = [
            ("view_global_statistics", "View global statistics"),
            ("view_system_monitoring", "View system monitoring"),
        ]
