from django.db import models


class ApplicationConfiguration(models.Model):
    app_title = models.CharField(max_length=48, null=True, blank=True)
