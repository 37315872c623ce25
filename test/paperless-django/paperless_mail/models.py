from django.db import models


class MailAccount(models.Model):
    name = models.CharField(max_length=256)


class MailRule(models.Model):
    name = models.CharField(max_length=256)


class ProcessedMail(models.Model):
    uid = models.CharField(max_length=256)
