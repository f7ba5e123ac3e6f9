"""A separation job per uploaded song, and the mixes rendered from its stems.

Primary keys are random UUIDs, so URLs cannot be guessed or counted, but what protects a
job is that every lookup filters by its owner (see ``views._own_job``).
"""

import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    """One song separated by one model, and its files in ``files.job_dir(job)``."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    title = models.CharField(max_length=200, help_text="the uploaded file's name, shown only (never a path)")
    input_ext = models.CharField(max_length=8)
    model_name = models.CharField(max_length=200, help_text="checkpoint file name in the models folder")
    shifts = models.PositiveSmallIntegerField(default=0)
    wiener = models.BooleanField(default=False, help_text="stems post-filtered by one EM iteration of the multichannel Wiener filter")
    high_band = models.BooleanField(default=False, help_text="the band above the model's Nyquist frequency shared out among the stems")
    duration = models.FloatField(help_text="seconds")
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    sources = models.JSONField(default=list)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker running it")
    task_id = models.CharField(max_length=64, blank=True)
    bytes_stored = models.BigIntegerField(default=0)

    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        indexes = [models.Index(fields=("owner", "-created")), models.Index(fields=("status", "heartbeat"))]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class Mix(models.Model):
    """The stems of a finished job summed with the listener's gains, rendered by a task."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="mixes")
    gains = models.JSONField(help_text="{source: linear gain}")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
